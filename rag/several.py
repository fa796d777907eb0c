"""Questions about several articles: recognised, and their pointing words set apart.

"Do the two articles agree that ...", "across both pieces", "the first article ...
and the second": the question points at the articles themselves.  Such a question gets
passages from each article and an instruction for a sentence from each
(``rag.prompting.by_article``, the ``answer_multi`` prompts); its pointing words ask
nothing of a passage (``without_articles``).  An answer points at them too ("Both
articles say that ...", "... in the first passage"): ``without_references`` leaves
what such a sentence states, the part its passages can back.
"""

from __future__ import annotations

import re

from rag.verdicts import drop_verdict

# "the two articles", "the first piece": the question pointing at the articles themselves,
# not a number, an order or a name the evidence must hold.
_ABOUT_ARTICLES = re.compile(
    r"\b(?:(?:across|between|in|from) )?(?:the |these |both |all )?(?:two|three|first|second|third|last|other|each|both|"
    r"these|the) (?:articles?|pieces?|reports?|stories|story|sources?|outlets?)"
    # "what does the second article say ...": its verb asks nothing of a passage either
    r"(?: (?:say|says|said|report|reports|state|states|mention|mentions|describe|describes|"
    r"suggest|suggests|note|notes|claim|claims))?\b",
    re.IGNORECASE,
)


# "... named in the first article, and which analyst is quoted in the second?": the noun
# left out after an ordinal that ends its clause is the article named before it.
_ELIDED = re.compile(
    r"\b(?:(?:in|from|by|of) )?the (?:first|second|third|other|latter|former|last)"
    r"(?=\s*(?:[?.,;:!)]|$|\b(?:and|or|but|does|did|is|was|says?|said|quotes?|quoted|"
    r"mentions?|reports?|states?|notes?|describes?|claims?|argues?|adds?)\b))",
    re.IGNORECASE,
)


def without_articles(question: str) -> str:
    """``question`` without the words that point at the articles themselves."""
    bare = _ABOUT_ARTICLES.sub(" ", question)
    return _ELIDED.sub(" ", bare) if is_multi_article(question) else bare


def is_multi_article(question: str) -> bool:
    """Whether ``question`` asks about several articles, or how they compare."""
    q = question.lower()
    several = re.search(
        r"\b(?:both|two|each|across|all|these|the various|different) (?:the )?"
        r"(?:articles?|pieces?|reports?|stories|story|sources?|outlets?)\b",
        q,
    )
    sources = re.search(r"\b(?:articles|pieces|reports|stories|sources|outlets|they)\b", q)
    compares = re.search(
        r"\b(?:agree|disagree|differ|differs|difference|differences|contrast|compare[sd]?|"
        r"comparison|in common)\b",
        q,
    )
    # "what does the first article say, and the second": articles told apart by order
    # ("the second article" alone points at one article)
    ordinal = (
        re.search(
            r"\b(?:first|second|third|other|latter|former) (?:article|piece|report|story|source)\b",
            q,
        )
        and len(set(re.findall(r"\b(?:first|second|third|latter|former)\b", q))) > 1
    )
    return bool(several or ordinal or (compares and sources))


_DOCS = r"(?:articles?|passages?|pieces?|reports?|stories|story|sources?|texts?)"
_WHICH = r"(?:(?:the|both|all|these|each|two|the two|both the) )?(?:(?:first|second|third|other|two|latter|former) )?"
_SAYS = (
    r"(?:agree|agrees|say|says|state|states|mention|mentions|note|notes|report|reports|"
    r"suggest|suggests|indicate|indicates|describe|describes|explain|explains|show|shows)"
)
# Opening frames (after a "Yes,"): "Both articles agree that", "The first passage says", "According to
# the two articles,".  Inline: "in the first passage", "in both articles", "from passage 2".
_FRAMES = [
    re.compile(rf"^\s*{_WHICH}{_DOCS} {_SAYS}(?: that)?[,:]?\s+", re.IGNORECASE),
    re.compile(rf"^\s*according to {_WHICH}{_DOCS}(?: \d+)?,?\s+", re.IGNORECASE),
]
_ORDINAL = r"(?:first|second|third|other|latter|former)"
_PLURAL = r"(?:articles|passages|pieces|reports|stories|sources|texts)"
_INLINE = re.compile(
    r",?\s+(?:in|from|according to|across) (?:"
    rf"(?:(?:the|both|each) )?(?:first|second|third|other|latter|former) {_DOCS}"  # the first passage
    rf"|(?:both )?(?:the )?{_ORDINAL} and (?:the )?{_ORDINAL} {_DOCS}"  # the first and second articles
    rf"|(?:both|all|these|the two|both the|the|all the) {_PLURAL}"  # in both articles
    rf"|(?:the )?(?:first|last) (?:two|three) {_PLURAL}"  # in the first two articles
    r"|(?:the )?passages?(?: \d+(?: and \d+)*)?"  # "passage" is the prompt's word, not the news'
    rf"|{_DOCS} \d+(?: and \d+)*(?! of\b)"  # in article 2, in articles 1 and 2 (not "Article 5 of")
    r")\b",
    re.IGNORECASE,
)


def without_references(claim: str) -> str:
    """What ``claim`` states, without its words pointing at the articles or passages
    ("Yes, both articles agree that X" -> "X"; "X in the first passage" -> "X"): the
    part a passage can back.  The claim itself is returned when nothing else is left."""
    text = drop_verdict(claim)  # "Yes," states nothing a passage holds
    for frame in _FRAMES:
        text = frame.sub("", text, count=1)
    text = _INLINE.sub("", text).strip()
    if len(text.split()) < 2:
        return claim
    return text[:1].upper() + text[1:]
