"""Does a passage answer *this* question? The checks code can make, without trusting the model.

A small model's own "answerable" flag is near chance (it answered "When did the
talks take place?" from a passage with no date, quoting a real, unrelated sentence).
So the decision rests on what can be checked in the text:

- the quote is really in the passage it names (verbatim, whitespace and quote marks
  normalised; a quote the model shortened or re-punctuated is matched to the passage
  sentence that holds nearly all its words, and that sentence is what is shown);
- the claim says what its quote says: every number in the claim is in the quote, every
  name in the passage or its title, and the verifier scores the claim as supported;
- the quote holds the kind of thing the question asks for, beyond what the question
  already says: a "when" question needs a date, "how many" a number, "who"/"where" a
  name;
- the question's own constraints (its numbers and names, "in 1977", "the Franks") are
  in the evidence: SQuAD 2.0's adversarial questions are built by swapping one.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from rag.chunking import sentence_spans
from rag.citations import (
    Verifier,
    all_words,
    content_words,
    names,
    numbers,
)
from rag.retrieval import Passage

# The verifier's support score a claim needs once its quote is found in its passage. Lower
# than the verifier's own threshold for a sentence against a whole passage: the quote has
# already pinned the evidence. Chosen on the SQuAD 2.0 tune half
# (eval/answerability_calibration.py), never on eval/seeds.jsonl.
CLAIM_SUPPORT = 0.6
# How much of a quote's words one passage sentence must hold for the quote to count as
# taken from it (a small model drops or re-punctuates words when copying).
QUOTE_MATCH = 0.85

_MONTHS = (
    "january february march april may june july august september october november december "
    "jan feb mar apr jun jul aug sep sept oct nov dec"
)
_DAYS = "monday tuesday wednesday thursday friday saturday sunday"
_TIME_WORDS = (
    "yesterday today tomorrow tonight ago century centuries decade decades year years "
    "spring summer autumn fall winter week weekend morning evening night bc ad bce ce "
    "earlier later recently since during until"
)
_DATE_WORDS = frozenset(f"{_MONTHS} {_DAYS} {_TIME_WORDS}".split())
_QUANTITY_WORDS = frozenset(
    [
        "dozen",
        "dozens",
        "hundreds",
        "thousands",
        "millions",
        "billions",
        "half",
        "quarter",
        "third",
        "several",
        "few",
        "many",
        "most",
        "all",
        "none",
        "percent",
    ]
)
_WORD = re.compile(r"[A-Za-z0-9À-ÖØ-öø-ÿ]+(?:['’][A-Za-z]+)?")
_WH_OPENERS = frozenset(
    [
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "when",
        "where",
        "why",
        "how",
        "did",
        "do",
        "does",
        "is",
        "are",
        "was",
        "were",
        "can",
        "could",
        "will",
        "would",
        "should",
        "has",
        "have",
        "had",
        "in",
        "on",
        "at",
        "for",
        "from",
        "by",
        "according",
        "to",
        "name",
        "list",
    ]
)
_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "to",
        "in",
        "on",
        "at",
        "for",
        "from",
        "by",
        "with",
        "and",
        "or",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "there",
        "their",
        "they",
        "them",
        "he",
        "she",
        "his",
        "her",
        "we",
        "our",
        "you",
        "your",
        "i",
        "not",
        "no",
        "do",
        "does",
        "did",
        "has",
        "have",
        "had",
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "when",
        "where",
        "why",
        "how",
    ]
)

Expect = str  # "date" | "number" | "name" | ""

# Words that turn a question into another question while barely changing its wording:
# negations, order in time, comparison.  When the question has one, the evidence must
# too ("Who announced she would NOT step down?" is not answered by "She would step down").
_NEGATIONS = frozenset(["not", "no", "never", "neither", "nor", "without", "none", "nobody", "nothing"])
_QUALIFIERS = frozenset(
    ["before", "after", "first", "last", "earliest", "latest", "only", "more", "less", "most", "least", "fewer", "larger", "smaller", "higher", "lower", "older", "newer", "longest", "shortest", "largest", "smallest", "highest", "lowest"]
)


@dataclass(frozen=True)
class Question:
    """What a question asks for and what it pins down."""

    text: str
    expects: Expect  # the kind of thing the answer must hold, "" when any
    numbers: frozenset[str]  # numbers the question states ("in 1977")
    names: frozenset[str]  # names the question states, stemmed
    words: frozenset[str]  # its content words, stemmed
    qualifiers: frozenset[str]  # negation, order and comparison words it turns on
    multi: bool  # about several articles: "do the two articles agree", "across both pieces"
    yes_no: bool  # asks yes or no ("Do ...", "Is ...")


@dataclass(frozen=True)
class ClaimCheck:
    """One claim of the model's reply, checked against its passage."""

    n: int  # passage number (1-based)
    text: str
    quote: str  # what the model wrote as its quote
    span: tuple[int, int] | None  # where the quote is in the passage's text; None: not there
    exact: bool  # the quote is verbatim (normalised); else matched to the sentence holding it
    missing: tuple[str, ...]  # numbers of the claim not in its quote, names not in its passage
    supported: bool  # the verifier calls the claim supported by the passage
    score: float
    typed: bool  # the quote holds what the question asks for (a date, a number, a name)
    held: str = ""  # the passage text the claim was checked against (its quote's sentence)

    @property
    def valid(self) -> bool:
        """Backed by its quote: the quote is in the passage and holds what the claim says."""
        return self.span is not None and not self.missing and self.supported


@dataclass(frozen=True)
class Evidence:
    """How well the passages a reply cites cover the question's own constraints."""

    missing: tuple[str, ...] = ()  # the question's numbers and names absent from them
    coverage: float = 1.0  # share of the question's content words they hold
    unasked: tuple[str, ...] = field(default_factory=tuple)


# --- the question ------------------------------------------------------------------------


def analyse(question: str) -> Question:
    """The answer type and constraints of ``question``."""
    text = " ".join(question.split())
    return Question(
        text=text,
        expects=expects(text),
        numbers=frozenset(numbers(text)),
        names=frozenset(_question_names(text)),
        words=frozenset(content_words(text)),
        qualifiers=frozenset(qualifiers(text)),
        multi=is_multi_article(text),
        yes_no=is_yes_no(text),
    )


def expects(question: str) -> Expect:
    """The kind of thing an answer to ``question`` must state, or "" when it is open."""
    q = question.lower()
    if re.search(r"\bhow (?:many|much|long|old|far|large|big|tall|high|often|fast|deep|wide)\b", q):
        return "number"
    if re.search(r"\bwhat (?:percentage|percent|proportion|share|number|amount|fraction)\b", q):
        return "number"
    if re.search(r"\bwhen\b", q) or re.search(
        r"\b(?:what|which|in what|in which|on what|on which) "
        r"(?:year|years|date|dates|day|month|century|decade|era|period|time)\b",
        q,
    ):
        return "date"
    if re.match(r"\s*(?:who|whom|whose)\b", q) or re.search(r"\b(?:by|to|of|for) whom\b", q):
        return "name"
    if re.match(r"\s*where\b", q) or re.search(
        r"\b(?:in|at|from|to) (?:what|which) (?:country|city|town|region|place|state|province)\b",
        q,
    ):
        return "name"
    return ""


def qualifiers(text: str) -> set[str]:
    """The negation, order and comparison words of ``text`` ("n't" counts as "not")."""
    found: set[str] = set()
    for w in _WORD.findall(text.replace("’", "'")):
        w = w.lower()
        if w.endswith("n't") or w in _NEGATIONS:
            found.add("not")
        elif w in _QUALIFIERS:
            found.add(w)
    return found


def is_multi_article(question: str) -> bool:
    """Whether ``question`` asks about several articles, or how they compare."""
    q = question.lower()
    return bool(
        re.search(r"\b(?:agree|disagree|differ|differs|difference|differences|contrast)\b", q)
        or re.search(r"\bcompare[sd]?\b|\bcomparison\b|\bin common\b", q)
        or re.search(
            r"\b(?:both|two|each|across|all|these|the various|different) (?:the )?"
            r"(?:articles?|pieces?|reports?|stories|story|sources?|outlets?)\b",
            q,
        )
    )


def is_yes_no(question: str) -> bool:
    """Whether ``question`` is answered by yes or no ("Do the articles agree ...?")."""
    return bool(
        re.match(
            r"\s*(?:do|does|did|is|are|was|were|can|could|has|have|had|will|would|should)\b",
            question,
            re.IGNORECASE,
        )
    )


def _question_names(text: str) -> set[str]:
    found: set[str] = set()
    for start, end in sentence_spans(text) or [(0, len(text))]:
        words = _WORD.findall(text[start:end])
        for i, w in enumerate(words):
            if not w[0].isupper() or w.isdigit() or w.lower() in _STOP:
                continue
            if i == 0 and w.lower() in _WH_OPENERS:
                continue
            found |= {n for n in names(f"x {w}")}
    return found


# --- the quote -----------------------------------------------------------------------------


def _norm_char(c: str) -> str:
    if c in "‘’‛′`´":
        return "'"
    if c in "“”„″":
        return '"'
    if c in "‐‑‒–—―−":
        return "-"
    folded = unicodedata.normalize("NFKD", c)
    return "".join(x for x in folded if not unicodedata.combining(x)).lower() or c.lower()


def _normalised(text: str) -> tuple[str, list[int]]:
    """``text`` lower-cased, quote marks and dashes unified, whitespace runs as one space;
    with the offset in ``text`` of each character kept."""
    out: list[str] = []
    where: list[int] = []
    space = False
    for i, c in enumerate(text):
        if c.isspace():
            if out and not space:
                out.append(" ")
                where.append(i)
            space = True
            continue
        space = False
        for x in _norm_char(c):
            out.append(x)
            where.append(i)
    return "".join(out), where


def locate(quote: str, passage: str) -> tuple[tuple[int, int] | None, bool]:
    """Where ``quote`` is in ``passage``: (span, exact). Exact means verbatim once spacing,
    case, quote marks and dashes are normalised (the span is then the whole sentence the
    quote is in); otherwise the passage sentence (or two) holding at least QUOTE_MATCH of
    the quote's words, or None."""
    q = _normalised(quote)[0].strip().strip("\"'.… ").strip()
    if len(q) < 3:
        return None, False
    hay, where = _normalised(passage)
    i = hay.find(q)
    if i >= 0:
        return _sentences_around(passage, where[i], where[i + len(q) - 1] + 1), True
    q_words = [w.lower() for w in _WORD.findall(q) if w.lower() not in _STOP] or [
        w.lower() for w in _WORD.findall(q)
    ]
    if not q_words:
        return None, False
    spans = sentence_spans(passage) or [(0, len(passage))]
    units = spans + [(spans[j][0], spans[j + 1][1]) for j in range(len(spans) - 1)]
    best: tuple[float, int, tuple[int, int]] | None = None
    for a, b in units:
        words = {w.lower() for w in _WORD.findall(_normalised(passage[a:b])[0])}
        share = sum(w in words for w in q_words) / len(q_words)
        key = (share, -(b - a), (a, b))  # the shorter unit wins a tie
        if best is None or key > best:
            best = key
    if best and best[0] >= QUOTE_MATCH:
        return best[2], False
    return None, False


def _sentences_around(passage: str, start: int, end: int) -> tuple[int, int]:
    """The span of the passage sentences that ``start:end`` touches: a short quote is
    checked, and shown, with the sentence it comes from."""
    spans = sentence_spans(passage) or [(0, len(passage))]
    touched = [(a, b) for a, b in spans if a < end and b > start]
    if not touched:
        return start, end
    return min(start, touched[0][0]), max(end, touched[-1][1])


# --- checks --------------------------------------------------------------------------------


def holds_type(text: str, kind: Expect, question: Question) -> bool:
    """Whether ``text`` states a ``kind`` (date, number, name) the question does not already."""
    if not kind:
        return True
    words = [w for w in _WORD.findall(text)]
    lower = [w.lower() for w in words]
    new_numbers = numbers(text) - question.numbers
    if kind == "number":
        return bool(new_numbers) or any(w in _QUANTITY_WORDS for w in lower)
    if kind == "date":
        years = {n for n in new_numbers if re.fullmatch(r"\d{3,4}s?", n)}
        return bool(years or new_numbers) or any(
            w in _DATE_WORDS and w not in question.text.lower() for w in lower
        )
    # a name: a capitalised word that is not a stopword and not one the question names
    return any(
        w[0].isupper()
        and not w.isdigit()
        and w.lower() not in _STOP
        and not (names(f"x {w}") & question.names)
        for w in words
    )


def check_claims(
    question: Question,
    claims: Sequence[tuple[int, str, str]],
    passages: Sequence[Passage],
    verifier: Verifier,
) -> list[ClaimCheck]:
    """Each (passage number, quote, text) claim checked against its passage."""
    if not claims:
        return []
    rows = verifier.support_many(
        [text for _, _, text in claims],
        [(p.text, p.title) for p in passages],
        question.text,
    )
    checked = []
    for (named, quote, text), row in zip(claims, rows, strict=True):
        n, (span, exact) = named, locate(quote, passages[named - 1].text)
        if span is None:  # a small model often copies the quote right and numbers it wrong
            for m, other in enumerate(passages, 1):
                found = locate(quote, other.text) if m != named else (None, False)
                if found[0] is not None:
                    n, (span, exact) = m, found
                    break
        p = passages[n - 1]
        if span is not None:
            span = _sentence_with(numbers(text), p.text, span)
        held = p.text[span[0] : span[1]] if span else ""
        quote_numbers = numbers(f"{held} {p.title}")
        passage_words = all_words(f"{p.text} {p.title}")
        # Names the question gives are restated, not asserted: whether the evidence holds
        # them is the question's check (``evidence``), over the article's passages.
        missing = tuple(sorted(x for x in numbers(text) if x not in quote_numbers)) + tuple(
            sorted(
                x for x in names(f"x {text}") if x not in passage_words and x not in question.names
            )
        )
        support = row[n - 1]
        checked.append(
            ClaimCheck(
                n=n,
                text=text,
                quote=quote,
                span=span,
                exact=exact,
                missing=missing,
                supported=not verifier.rule.hard_fail(support) and support.score >= CLAIM_SUPPORT,
                score=support.score,
                typed=bool(span) and holds_type(held, question.expects, question),
                held=held,
            )
        )
    return checked


def _sentence_with(wanted: set[str], passage: str, span: tuple[int, int]) -> tuple[int, int]:
    """``span``, or the passage sentence that holds all the claim's numbers when the quoted
    one does not (the model quoted the sentence next to its evidence)."""
    if not wanted or wanted <= numbers(passage[span[0] : span[1]]):
        return span
    for a, b in sentence_spans(passage):
        if wanted <= numbers(passage[a:b]):
            return a, b
    return span


def evidence(
    question: Question, cited: Sequence[Passage], context: Sequence[Passage] = ()
) -> Evidence:
    """How the cited passages cover the question's numbers, names and content words.

    Numbers and names may also be in ``context`` (the other retrieved passages of the
    cited articles, and titles): "in 1977" is often said a sentence before the answer.
    The share of content words is over the cited passages alone.
    """
    if not cited:
        return Evidence(missing=tuple(sorted(question.numbers | question.names)), coverage=0.0)
    sources = {p.source for p in cited}
    around = [p for p in context if p.source in sources]
    pool = " ".join(f"{p.title} {p.text}" for p in [*cited, *around])
    held_numbers, held_words = numbers(pool), all_words(pool)
    missing = tuple(sorted(n for n in question.numbers if n not in held_numbers)) + tuple(
        sorted(n for n in question.names if n not in held_words)
    )
    held_content = content_words(" ".join(f"{p.title} {p.text}" for p in cited))
    words = question.words
    unasked = tuple(sorted(w for w in words if w not in held_content))
    coverage = 1.0 - len(unasked) / len(words) if words else 1.0
    return Evidence(missing=missing, coverage=coverage, unasked=unasked)
