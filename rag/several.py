"""Questions about several articles: recognised, and their pointing words set apart.

"Do the two articles agree that ...", "across both pieces", "the first article ...
and the second": the question points at the articles themselves.  Such a question gets
passages from each article and an instruction for a sentence from each
(``rag.prompting.by_article``, the ``answer_multi`` prompts); its pointing words ask
nothing of a passage (``without_articles``).
"""

from __future__ import annotations

import re

# "the two articles", "the first piece": the question pointing at the articles themselves,
# not a number, an order or a name the evidence must hold.
_ABOUT_ARTICLES = re.compile(
    r"\b(?:(?:across|between|in|from) )?(?:the |these |both |all )?(?:two|three|first|second|third|last|other|each|both|"
    r"these|the) (?:articles?|pieces?|reports?|stories|story|sources?|outlets?)\b",
    re.IGNORECASE,
)


def without_articles(question: str) -> str:
    """``question`` without the words that point at the articles themselves."""
    return _ABOUT_ARTICLES.sub(" ", question)


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
