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
  in the evidence: SQuAD 2.0's adversarial questions are built by swapping one;
- the role a "who is the ... ?" question asks about is named in the cited passages: an
  analyst quoted near the word "Kremlin" is not the Kremlin's spokesman;
- the year the question pins ("in 1917") is not contradicted by the quoted sentences: a
  passage saying "director in 1914. Three years later, in 1917, he was appointed ..." holds
  1917, but the sentence the answer rests on dates it to another year.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from rag.questions import Question, holds_type
from rag.quotes import locate, sentence_with
from rag.retrieval import Passage
from rag.text import (
    all_words,
    content_words,
    held_name,
    names,
    near_name,
    numbers,
    roman_numbers,
)
from rag.verifier import Verifier

# The verifier's support score a claim needs once its quote is found in its passage. Lower
# than the verifier's own threshold for a sentence against a whole passage: the quote has
# already pinned the evidence. Chosen on the SQuAD 2.0 tune half
# (eval/answerability_calibration.py), never on eval/seeds.jsonl.
CLAIM_SUPPORT = 0.6
# ... or this share of the words the claim adds to the question found in its quote's
# sentence (same tune half).
RESTATED = 0.8


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
    restated: bool = False  # the claim shown is its quote's sentence, not the model's words

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
    unsaid: str = ""  # the role the question asks about ("spokesman"), when they never say it


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
        [(p.text, p.about) for p in passages],
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
            span = sentence_with(numbers(text), p.text, span)
        held = p.text[span[0] : span[1]] if span else ""
        quote_numbers = numbers(f"{held} {p.about}")
        passage_words = all_words(f"{p.text} {p.about}")
        # Names the question gives are restated, not asserted: whether the evidence holds
        # them is the question's check (``evidence``), over the article's passages.
        missing = tuple(sorted(x for x in numbers(text) if x not in quote_numbers)) + tuple(
            sorted(
                x
                for x in names(f"x {text}")
                if not held_name(x, passage_words) and x not in question.names
            )
        )
        support = row[n - 1]
        # A claim that adds to the question only words its quote's sentence holds says what
        # the quote says, whatever the embedding thinks of its rewording.
        added = content_words(text) - question.words
        restated = bool(added) and len(added & content_words(f"{held} {p.title}")) >= (
            RESTATED * len(added)
        )
        # A claim sharing no word with its quote's sentence beyond the question's own was
        # written from somewhere else than the evidence the model chose (a small model
        # copies one sentence and words its claim from another).
        anchored = not added or bool(added & content_words(f"{held} {p.title}"))
        checked.append(
            ClaimCheck(
                n=n,
                text=text,
                quote=quote,
                span=span,
                exact=exact,
                missing=missing,
                supported=not verifier.rule.hard_fail(support)
                and anchored
                and (support.score >= CLAIM_SUPPORT or (span is not None and restated)),
                score=support.score,
                typed=bool(span) and holds_type(held, question.expects, question),
                held=held,
            )
        )
    return checked


def quoted(check: ClaimCheck) -> ClaimCheck | None:
    """The claim restated as its quote's sentence, when the quote is in the passage but the
    claim's own wording is not backed by it; None when the quote is not there either.

    A small model copies the right sentence far more often than it paraphrases it
    faithfully (on the SQuAD 2.0 tune half, most claims lost to the checks had a quote
    that was in its passage); the sentence it chose is then the answer, in the article's
    own words, and still has to pass the question's checks.
    """
    if check.valid or check.span is None or not check.held.strip():
        return None
    return replace(
        check, text=" ".join(check.held.split()), missing=(), supported=True, restated=True
    )


def usable(check: ClaimCheck) -> ClaimCheck | None:
    """The claim as it can be shown: itself when its quote backs it; its quote's sentence
    when the quote was copied verbatim but the claim's wording is not backed (a quote
    only matched to a sentence is weaker evidence that the model chose that sentence);
    else None. Chosen on the SQuAD 2.0 tune half (eval/answerability_calibration.py):
    more answers state the gold answer, at a small cost in near misses refused."""
    if check.valid:
        return check
    return quoted(check) if check.exact else None


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
    # The outlet and author count: "what did Reuters say" is answered by Reuters' article.
    pool = " ".join(f"{p.about} {p.text}" for p in [*cited, *around])
    held_numbers, held_words = numbers(pool) | roman_numbers(pool), all_words(pool)
    missing = tuple(sorted(n for n in question.numbers if n not in held_numbers)) + tuple(
        sorted(n for n in question.names if not near_name(n, held_words))
    )
    said = " ".join(f"{p.title} {p.text}" for p in cited)
    unasked, coverage = unasked_in(question, said)
    unsaid = "" if says_role(question.role, said, question.role_of) else question.role
    return Evidence(missing=missing, coverage=coverage, unasked=unasked, unsaid=unsaid)


def unasked_in(question: Question, text: str) -> tuple[tuple[str, ...], float]:
    """The question's content words ``text`` does not hold, sorted, and the share of
    them it does hold (1.0 for a question without content words)."""
    held = content_words(text)
    words = question.words
    unasked = tuple(sorted(w for w in words if w not in held))
    return unasked, 1.0 - len(unasked) / len(words) if words else 1.0


def says_role(role: str, text: str, owner: str = "") -> bool:
    """Whether ``text`` names ``role``, or a form of it sharing its first six letters
    ("spokesperson" for "spokesman", "presidency" for "president"); with an ``owner``,
    within four words of a form of the owner's name ("Ukrainian President", "president
    of Ukraine")."""
    if not role:
        return True
    words = [w.lower() for w in re.findall(r"[^\W_]+", text)]
    stem = role[:6]
    for i, w in enumerate(words):
        if not w.startswith(stem):
            continue
        if not owner:
            return True
        around = set(words[max(0, i - 4) : i + 5])
        if all(
            held_name(part, around) or any(x.startswith(part[:5]) for x in around)
            for part in owner.split()
        ):
            return True
    return False


# A year (1000-2099), a decade ("1990s"), or a span of years ("1994-1999", "from 1991 until
# 2000", "between 1975 and 1990"; "2014-15").
_YEAR = re.compile(r"\b(1\d{3}|20\d{2})(s?)\b")
_YEARS = re.compile(
    r"\b(1\d{3}|20\d{2})\s*(?:[-–—]|to|until|till|through|and)\s*(1\d{3}|20\d{2}|\d{2})\b"
)


def _spans(text: str) -> list[tuple[int, int]]:
    """The years ``text`` states, each as the span it covers (a decade: ten years)."""
    found = [(int(y), int(y) + (9 if s else 0)) for y, s in _YEAR.findall(text)]
    for a, b in _YEARS.findall(text):
        end = int(a[:2] + b) if len(b) == 2 else int(b)
        if int(a) < end:
            found.append((int(a), end))
    return found


def other_year(
    question: Question, held: Sequence[str], cited: Sequence[Passage]
) -> tuple[str, str] | None:
    """(the question's year, the year the quoted evidence gives instead), or None: when
    the question pins a year ("in 1917") and every sentence the answer rests on (``held``)
    states a year, but none overlaps the question's, the evidence is about another time
    (SQuAD 2.0's adversarial questions swap exactly this).  A sentence without a year
    says nothing against it (the year is often given a sentence earlier), and the cited
    articles' own publication years count as stated ("in 2025" of an article of 2025)."""
    years = [y for y in sorted(question.numbers) if _YEAR.fullmatch(y)]
    asked = [s for y in years for s in _spans(f"{y}s" if f"{y}s" in question.text else y)]
    if not asked or not held:
        return None
    dated = [(int(p.published[:4]),) * 2 for p in cited if (p.published or "")[:4].isdigit()]
    other = ""
    for sentence in held:
        spans = _spans(sentence)
        if not spans or any(a <= d and c <= b for a, b in spans + dated for c, d in asked):
            return None
        other = other or str(spans[0][0])
    return ", ".join(years), other
