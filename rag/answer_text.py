"""The free-text answer path (``RAG_ANSWER_MODE=text``, the default for now).

The model writes sentences with [n] markers; ``rag.citations.check`` then verifies each
sentence against the passage it cites, re-cites or flags it.  A reply that says it
cannot find the answer is a refusal; one naming facts no passage holds (outside
knowledge) is refused with a notice; one that states nothing checkable is replaced by
the passage sentences nearest the question.

It answers more answerable questions than the checked path (``rag.answering``), and
refuses fewer near misses: docs/eval.md has both measured.  It stays the default until
the checked path beats it on both.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from rag.answer_policy import vet_text
from rag.citations import (
    CheckedText,
    check,
    is_claim,
    split_answer,
    strip_markers,
    unsourced,
)
from rag.conversation import prompt
from rag.extractive import extractive
from rag.llm import LLM, LLMUnavailable
from rag.prompting import passage_blocks, select_context, several_dates
from rag.retrieval import Passage

if TYPE_CHECKING:
    from rag.answering import Done, Event, _Run

REFUSAL = "I cannot find the answer in the articles."
STOP = ["<passage", "</passage>", "\nQuestion:"]

# A refusal says it cannot find/answer, or that the sources do not say.
_CANNOT = re.compile(
    r"\b(?:cannot|can ?not|can't|could ?not|couldn't|unable to|not able to)\b[^.]{0,60}?"
    r"\b(?:find|locate|determine|answer|tell|say|provide|identify|confirm|know)\b",
    re.IGNORECASE,
)
_NOT_SAID = re.compile(
    r"\b(?:(?:do|does|did)(?: not|n't)|(?:is|are|was|were)(?: not|n't)|neither|nor)\b[^.]{0,60}?"
    r"\b(?:mention\w*|contain\w*|say|state\w*|provide\w*|include\w*|specif\w*|give|given|"
    r"answer\w*|discuss\w*|name\w*|identif\w*|indicate\w*|report\w*|address\w*|cover\w*)\b"
    r"|\bno (?:information|mention|details?|answer|data|indication|reference)\b"
    r"|\bthere is no\b",
    re.IGNORECASE,
)
_SOURCES = re.compile(
    r"\b(?:articles?|passages?|texts?|sources?|documents?|context|information|provided|"
    r"given)\b",
    re.IGNORECASE,
)


def is_refusal_sentence(sentence: str) -> bool:
    """Whether a sentence says the articles do not hold the answer."""
    text = " ".join(strip_markers(sentence).split()).replace("’", "'")
    if text.lower().rstrip(".") == REFUSAL.lower().rstrip("."):
        return True
    if _CANNOT.search(text) and (re.match(r"\s*(?:I|I'm|Sorry)\b", text) or _SOURCES.search(text)):
        return True
    return bool(_NOT_SAID.search(text) and _SOURCES.search(text))


def is_refusal(answer: str, supported_sentences: int = 0) -> bool:
    """Whether ``answer`` declines: it says so and states nothing the passages support."""
    if supported_sentences:
        return False
    return any(is_refusal_sentence(p.claim) for p in split_answer(answer))


def build_messages(
    question: str,
    passages: Sequence[Passage],
    excerpts: Sequence[str],
    multi: bool = False,
    timeline: bool = False,
    figures: bool = False,
) -> list[dict[str, str]]:
    """The chat messages asking the model to answer ``question`` in sentences with [n];
    a question about several articles (``multi``) is asked for a sentence from each, one
    about a development (``timeline``) for dated sentences, oldest first, and one asking
    for a figure (``figures``) from articles of several dates for the newest first."""
    blocks = passage_blocks(passages, excerpts)
    for name, wanted in (
        ("answer_multi", multi),
        ("answer_timeline", timeline),
        ("answer_dated", figures and several_dates(passages)),
    ):
        if wanted:
            blocks += "\n\n" + prompt(name).strip()
    user = prompt("answer_user").format(passages=blocks, question=question.strip())
    return [
        {"role": "system", "content": prompt("answer_system").strip()},
        {"role": "user", "content": user.strip()},
    ]


def finish(
    run: _Run,
    text: str,
    fallback: str | None,
    raw: str | None,
    refused: bool = False,
    checked: CheckedText | None = None,
) -> Done:
    """The Answer for ``text``, its citations checked against the passages (``checked``:
    already done).  An answer whose supported sentences miss what the question pins down
    (``rag.answer_policy.vet_text``) is refused, saying why, the passages kept as related."""
    from rag.answering import Answer, Done

    reason = None
    if checked is None:
        t = time.perf_counter()
        checked = check(text, run.passages, run.verifier, attach=not refused, question=run.query)
        run.timings["verify"] = time.perf_counter() - t
    if not refused:
        reason = vet_text(run.shape, checked.sentences, checked.citations, run.passages) or None
        if reason:
            refused, checked = True, CheckedText(answer=REFUSAL, citations=[], sentences=[])
    run.timings["total"] = time.perf_counter() - run.t0
    return Done(
        Answer(
            question=run.question,
            query=run.query,
            answer=checked.answer,
            refused=refused,
            fallback=fallback,
            citations=checked.citations if not refused else [],
            passages=list(run.passages),
            sentences=checked.sentences,
            timings=run.timings,
            notices=run.notices,
            llm_answer=raw,
            reason=reason,
            timeframe=run.timeframe,
        )
    )


def quote(run: _Run, reason: str, raw: str | None) -> Iterator[Event]:
    """The fallback: the best passage sentences, cited, with a notice saying why."""
    note = reason.rstrip()
    if "extractive" not in note and "directly" not in note:
        note += " Answering extractively from the best passages."
    yield run.notice(note)
    text = extractive(run.query, run.passages, run.verifier, hint=raw)
    if not text:
        yield finish(run, REFUSAL, note, raw, refused=True)
        return
    yield finish(run, text, note, raw)


def stream(run: _Run, llm: LLM) -> Iterator[Event]:
    """Ask the model for a free-text answer, stream it, then check and decide."""
    from rag.answering import Token

    excerpts = select_context(
        run.query, run.passages, run.settings.answer_context_chars, run.verifier
    )
    messages = build_messages(
        run.query,
        run.passages,
        excerpts,
        run.shape.multi,
        run.shape.timeline,
        run.shape.expects == "number",
    )
    pieces: list[str] = []
    t = time.perf_counter()
    try:
        for piece in llm.stream(messages, max_tokens=run.settings.llm_max_tokens, stop=STOP):
            if not pieces:
                run.timings["first_token"] = time.perf_counter() - run.t0
            pieces.append(piece)
            yield Token(piece)
    except LLMUnavailable as e:
        if not pieces:
            yield from quote(run, str(e), None)
            return
        yield run.notice(f"The LLM stopped mid-answer ({e}); the answer is cut short.")
    run.timings["generation"] = time.perf_counter() - t
    raw = "".join(pieces).strip()
    if not raw:
        yield from quote(run, "The LLM returned an empty answer.", raw)
        return
    t = time.perf_counter()
    checked = check(raw, run.passages, run.verifier, question=run.query)
    run.timings["verify"] = time.perf_counter() - t
    supported = sum(1 for s in checked.sentences if s.supported)
    if is_refusal(raw, supported):
        refusal_only = all(is_refusal_sentence(p.claim) for p in split_answer(raw))
        yield finish(run, strip_markers(raw) if refusal_only else REFUSAL, None, raw, True)
        return
    if not checked.citable:
        read = [f"{p.title} {p.text}" for p in run.passages]
        if any(is_claim(s.text) and unsourced(s.text, read) for s in checked.sentences):
            # It named people, places or numbers that no passage holds: outside knowledge,
            # or a guess at a question the articles do not answer.
            yield run.notice(
                "The model's answer names facts that are not in the passages, so it is "
                "not shown; the passages it read are listed as sources."
            )
            yield finish(run, REFUSAL, None, raw, refused=True)
            return
        reason = (
            "The model's answer could not be checked against the passages, "
            "so the answer is taken from them directly."
        )
        yield from quote(run, reason, raw)
        return
    yield finish(run, raw, None, raw, checked=checked)
