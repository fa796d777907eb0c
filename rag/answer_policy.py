"""The rules that decide: answer, or refuse and show the passages as related.

One pure function, :func:`decide`, over what the model replied and what the checks in
``rag.answerability`` found; tests drive it with scripted replies.  The rules, in order:

1. a reply that could not be read (even after one retry) is never shown: refuse;
2. only claims backed by their quote count (the quote is in the passage, the claim's
   numbers are in the quote and its names in the passage, the verifier supports it); a
   claim whose verbatim quote does not back its wording is shown as the quote's sentence
   instead (the article's own words); none left: refuse;
3. a question asking for a date, a number or a name is answered only when a kept
   claim's quote holds one the question does not already state; one asking for
   someone "besides" a name is not answered by that name alone;
4. a question turning on a negation, an order or a comparison ("not", "before",
   "largest") is answered only by quotes that say one too;
5. a claim quoting an item of a list must quote the item that fits the question: when
   another item of that list holds more of the question's words ("cyber"), the quote
   picked the wrong one (``rag.lists.better_item``);
6. the passages the kept claims cite must hold the question's own numbers and names,
   and most of its content words: a passage about the subject that lacks what the
   question pins down ("in 1977", "the Franks") is a near miss, not an answer; so is
   one that never names the role a "who is the ...?" question asks about ("spokesman"),
   and one whose quoted sentences date the answer to another year than the question's;
7. the model's own "answerable: false" with nothing that passes 2-6 is a refusal; its
   "true" alone never makes an answer.

A refusal keeps the closest passages to show as "related, but not an answer".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from rag.answerability import ClaimCheck, Evidence, evidence, other_year, unasked_in, usable
from rag.citations import CheckedText, Citation, Sentence, is_claim
from rag.lists import better_item, lead_ins
from rag.markers import split_answer, strip_markers
from rag.questions import (
    Question,
    besides_phrase,
    holds_type,
    names_only_besides,
    office_phrase,
    said_qualifiers,
)
from rag.refusals import REFUSAL, is_refusal, is_refusal_sentence
from rag.retrieval import Passage
from rag.several import without_references
from rag.structured import Reply
from rag.text import unsourced
from rag.verdicts import contradicts

# The share of the question's content words the cited passages must hold. Chosen on the
# SQuAD 2.0 tune half (eval/answerability_calibration.py), never on eval/seeds.jsonl.
MIN_COVERAGE = 0.4
# The share of them the passage sentences quoted as an answer must hold themselves (a
# quote is the product's own guess at the answer, not the model's: nothing else vouches
# that it is about the question). Chosen on the SQuAD 2.0 tune half, as above.
QUOTE_COVERAGE = 1 / 3

Kind = Literal["answer", "refuse"]


@dataclass(frozen=True)
class Decision:
    kind: Kind
    claims: list[ClaimCheck] = field(default_factory=list)  # the claims to show, in order
    reason: str = ""  # why it refused (for the notice), or "" when it answers
    verdict: str | None = None  # yes / no / partly, for a yes/no question
    evidence: Evidence | None = None

    @property
    def refused(self) -> bool:
        return self.kind == "refuse"


_KIND_NAMES = {"date": "a date", "number": "a number", "name": "a name"}


def decide(
    question: Question,
    reply: Reply | None,
    checks: Sequence[ClaimCheck],
    passages: Sequence[Passage],
    min_coverage: float = MIN_COVERAGE,
) -> Decision:
    """Answer with the claims that hold, or refuse saying why (see the module docstring)."""
    if reply is None:
        return Decision("refuse", reason="The model's reply could not be read as an answer.")
    valid = _unique([u for c in checks if (u := usable(c))])
    if not valid:
        if not checks:
            why = "The model found no passage that answers the question."
        else:
            why = "No claim of the model's answer is backed by the passage it quotes."
        return Decision("refuse", reason=why)
    if question.expects and not any(c.typed for c in valid):
        kind = _KIND_NAMES.get(question.expects, question.expects)
        return Decision(
            "refuse", reason=f"The question asks for {kind}, and no cited passage states one."
        )
    if names_only_besides(question, [c.text for c in valid]):
        return Decision("refuse", reason=_only_besides(question))
    cited = [passages[n - 1] for n in sorted({c.n for c in valid})]
    why, found = near_miss(question, [c.held for c in valid], cited, passages, min_coverage)
    if why:
        return Decision("refuse", reason=why, evidence=found)
    if question.expects:
        # Lead with the claims that state what was asked; keep the others as context.
        valid = [c for c in valid if c.typed] + [c for c in valid if not c.typed]
    verdict = reply.verdict if question.yes_no else None
    if contradicts(question.text, verdict, [c.held for c in valid[:1]]):
        verdict = None  # the first claim's own quote says the opposite (rag.verdicts)
    return Decision("answer", claims=valid, verdict=verdict, evidence=found)


def _only_besides(question: Question) -> str:
    return (
        f"The question asks beyond what it sets aside ('{besides_phrase(question.text)}'), "
        "and the answer names nothing else."
    )


def _unique(checks: Sequence[ClaimCheck]) -> list[ClaimCheck]:
    seen: set[str] = set()
    out = []
    for c in checks:
        key = " ".join(c.text.lower().split())
        if key not in seen:
            seen.add(key)
            out.append(c)
    return out


def near_miss(
    question: Question,
    held: Sequence[str],
    cited: Sequence[Passage],
    passages: Sequence[Passage],
    min_coverage: float = MIN_COVERAGE,
) -> tuple[str, Evidence | None]:
    """Why evidence that backs an answer still misses *this* question (rules 4 to 6), or
    "" when it does not; ``held`` is the text the answer was checked against, ``cited``
    the passages it cites."""
    turned = said_qualifiers(" ".join(held))
    lost = sorted(w for w in question.qualifiers if w not in turned)
    if lost:
        listed = ", ".join(f"'{w}'" for w in lost)
        return f"The question turns on {listed}, and the quoted evidence does not.", None
    for p in cited:
        if other := better_item(question.words, held, p.text):
            return f"Another item of the quoted list fits the question better: '{other}'.", None
    found = evidence(question, cited, passages)
    if found.missing:
        listed = ", ".join(found.missing)
        return f"The passages do not mention {listed}, which the question asks about.", found
    if found.unsaid:
        asked = office_phrase(question.text) or f"the {found.unsaid}"
        return (
            f"The question asks about {asked}, and the passages the answer cites never name one.",
            found,
        )
    if years := other_year(question, held, cited):
        asked, given = years
        return f"The question asks about {asked}, and the quoted evidence about {given}.", found
    if found.coverage < min_coverage:
        return "The passages the answer cites are about something other than the question.", found
    return "", found


def vet_text(
    question: Question,
    sentences: Sequence[Sentence],
    citations: Sequence[Citation],
    passages: Sequence[Passage],
    min_coverage: float = MIN_COVERAGE,
) -> str:
    """Why a free-text answer whose citations were checked (``rag.citations.check``) does
    not answer *this* question, or "" when it does: rules 3-6 over its supported
    sentences and the sentences of the passages they cite (the quoted evidence, where
    the question's qualifiers must be).  An answer with no supported
    sentence is left to the caller (it is refused or quoted from the passages)."""
    backed = [s for s in sentences if s.supported and s.citations]
    if not backed:
        return ""
    # A date or a number only: "where"/"who" is often answered by a common noun ("in the
    # university", "the imperial powers"), and on the SQuAD 2.0 tune half the name check
    # refused an answerable question and no unanswerable one (eval/answerability_calibration.py).
    typed = question.expects in ("date", "number")
    if typed and not any(holds_type(s.text, question.expects, question) for s in backed):
        kind = _KIND_NAMES.get(question.expects, question.expects)
        return f"The question asks for {kind}, and no supported sentence of the answer states one."
    if names_only_besides(question, [s.text for s in backed]):
        return _only_besides(question)
    numbers, quotes = _quoted_evidence(backed, citations)
    cited = [passages[n - 1] for n in numbers if 1 <= n <= len(passages)]
    # The qualifiers are looked for in the quoted evidence alone: a small model repeats the
    # question's "not" in its answer whether or not the article says one.
    why, _ = near_miss(question, quotes, cited, passages, min_coverage)
    return why


def off_quote(question: Question, quoted: Sequence[str], share: float = QUOTE_COVERAGE) -> str:
    """Why passage sentences quoted as the answer (no model wrote it) miss the question,
    or "": together they hold under ``share`` of its content words.  The passage they come
    from may be about the subject ("Who headed the Russian delegation at the Istanbul
    talks?") while the sentence nearest the question is about something else ("Trump has
    until now been cautious about criticising Putin ...")."""
    _, coverage = unasked_in(question, " ".join(quoted))
    if coverage < share:
        return "The passage sentences nearest the question are about something other than it asks."
    return ""


JUDGED_NO = (
    "The model's answer is withheld: asked separately whether the passages it cited state "
    "the answer to exactly this question, the model said no. They are listed as related, "
    "not as an answer."
)
JUDGED_NO_QUOTE = (
    "The passage sentences nearest the question are not given as an answer: asked "
    "separately whether they state the answer to exactly this question, the model said "
    "no. They are listed as related, not as an answer."
)


def judge_decides(question: Question) -> bool:
    """Whether the model's "no", asked apart (``rag.judge``), can refuse an answer to
    ``question``.  Not for a question about several articles (whether two articles agree,
    or what each says, is answered from both even where neither states "the answer" by
    itself), nor for a yes/no question: a passage answers "Does Russia's strategy favour
    quick concessions?" by stating the strategy, which is "the answer" only by inference;
    nor for a question about how something developed, answered by dated sentences from
    several articles, none of which is "the answer" alone."""
    return not (question.multi or question.yes_no or question.timeline)


def overruled(question: Question, stated: bool | None, quote: bool = False) -> str:
    """Why an answer the checks let through is refused after all, or "": the model, asked
    apart whether the sentences the answer rests on state the answer (``rag.judge``),
    says no, and its no decides for this question (``judge_decides``).  Its "yes", or no
    verdict, changes nothing.  ``quote``: the answer is passage sentences quoted in place
    of the model's reply, said so in the reason."""
    if stated is False and judge_decides(question):
        return JUDGED_NO_QUOTE if quote else JUDGED_NO
    return ""


def quoted_lead_ins(cited: Sequence[tuple[int, str]], passages: Sequence[Passage]) -> list[str]:
    """The lead-ins of the lists that the ``cited`` (passage number, quoted sentence) pairs
    quote an item of: a quoted item ("Increasing investment in cyber defense ...") is read
    with the sentence saying what it is an item of ("Countermeasures that Western
    governments could consider include:"), as ``off_quote`` needs."""
    return [
        lead
        for n, quoted in cited
        if 1 <= n <= len(passages)
        for lead in lead_ins([quoted], passages[n - 1].text)
    ]


def fitting_item(question: Question, checked: CheckedText, passages: Sequence[Passage]) -> str:
    """The list item that fits the question better than the one the answer quotes, as a
    cited sentence ("Increasing investment in cyber defense ... [3]."), or ""."""
    numbers, quotes = _quoted_evidence(checked.sentences, checked.citations)
    for n in numbers:
        if 1 <= n <= len(passages) and (
            item := better_item(question.words, quotes, passages[n - 1].text)
        ):
            return f"{item.rstrip(' .;,')} [{n}]."
    return ""


def _quoted_evidence(
    sentences: Sequence[Sentence], citations: Sequence[Citation]
) -> tuple[list[int], list[str]]:
    """The passage numbers the supported sentences cite, in order, and the sentences of
    those citations that were checked (their quotes)."""
    numbers = sorted({n for s in sentences if s.supported for n in s.citations})
    return numbers, [c.quoted for c in citations if c.n in numbers]


# --- the free-text path (RAG_ANSWER_MODE=text) ------------------------------------------

TextKind = Literal["answer", "refuse", "quote"]


@dataclass(frozen=True)
class TextDecision:
    """What to do with a free-text reply: show it, refuse, or quote the passages instead."""

    kind: TextKind
    reason: str = ""  # refuse: why; quote: why the answer is taken from the passages
    # refuse: the sentence to show (the model's own refusal, or REFUSAL); quote: the
    # passage text to quote, cited, when the rules found it ("" to let the caller choose)
    text: str = ""
    notice: bool = False  # whether ``reason`` is also said as a notice

    @property
    def refused(self) -> bool:
        return self.kind == "refuse"


def decide_text(
    question: Question,
    raw: str,
    checked: CheckedText | None,
    passages: Sequence[Passage],
    min_coverage: float = MIN_COVERAGE,
) -> TextDecision:
    """Answer, refuse or quote, for a free-text reply whose citations were checked
    (``rag.citations.check``; None when the reply is empty).  In order:

    1. an empty reply: quote the passages;
    2. a reply that declines and states nothing supported: refuse, in its own words
       when every sentence of it declines;
    3. a reply with no supported sentence that names facts no passage holds (outside
       knowledge, or a guess; the question's own names do not count): refuse, said in a
       notice; one that is only unchecked: quote the passages;
    4. a supported reply quoting the wrong item of a list (rule 5 of ``decide``): quote
       the item that fits, cited to its passage;
    5. a supported reply that misses what the question pins down (``vet_text``): refuse,
       unless the question is about several articles: then quote each article's nearest
       sentence instead (a small model's one answer often speaks for one article, or
       restates the question); the quote is vetted the same way, so a miss still refuses;
    6. otherwise: answer.
    """
    if not raw.strip() or checked is None:
        return TextDecision("quote", reason="The LLM returned an empty answer.")
    supported = sum(1 for s in checked.sentences if s.supported)
    if is_refusal(raw, supported):
        own = all(is_refusal_sentence(p.claim) for p in split_answer(raw))
        return TextDecision(
            "refuse",
            reason="The model found no passage that answers the question.",
            text=strip_markers(raw) if own else REFUSAL,
        )
    if not checked.citable:
        read = [f"{p.about} {p.text}" for p in passages]
        # The question's own names and numbers are restated, not facts from elsewhere
        # ("the US expansion Westward" in the question, "U.S." and "westward" in the text).
        asked = question.names | question.numbers
        if any(
            is_claim(s.text) and set(unsourced(without_references(s.text), read)) - asked
            for s in checked.sentences
        ):
            return TextDecision(
                "refuse",
                reason=(
                    "The model's answer names facts that are not in the passages, so it is "
                    "not shown; the passages it read are listed as sources."
                ),
                text=REFUSAL,
                notice=True,
            )
        return TextDecision(
            "quote",
            reason=(
                "The model's answer could not be checked against the passages, "
                "so the answer is taken from them directly."
            ),
        )
    why = vet_text(question, checked.sentences, checked.citations, passages, min_coverage)
    if why and (item := fitting_item(question, checked, passages)):
        return TextDecision(
            "quote",
            reason=(
                "The model quoted another item of the list than the one the question asks "
                "about; that item is quoted directly."
            ),
            text=item,
        )
    if why and question.multi:
        return TextDecision("quote", reason=why)
    if why:
        return TextDecision("refuse", reason=why, text=REFUSAL)
    return TextDecision("answer")
