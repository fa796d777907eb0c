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

import time
from collections.abc import Generator, Iterator, Sequence
from typing import TYPE_CHECKING

from rag.answer_policy import decide_text, off_quote, quoted_lead_ins, vet_text
from rag.chunking import sentence_spans
from rag.citations import (
    CheckedText,
    check,
)
from rag.conversation import prompt
from rag.extractive import other_sides
from rag.llm import LLM, LLMUnavailable
from rag.prompting import passage_blocks, several_dates, without_example
from rag.refusals import REFUSAL
from rag.retrieval import Passage
from rag.text import content_words
from rag.timeline import in_time_order
from rag.verdicts import contradicts, drop_verdict, leading_verdict

if TYPE_CHECKING:
    from rag.answering import Done, Event, _Run

STOP = ["<passage", "</passage>", "\nQuestion:"]


def build_messages(
    question: str,
    passages: Sequence[Passage],
    excerpts: Sequence[str],
    multi: bool = False,
    timeline: bool = False,
    figures: bool = False,
    latest: bool = False,
    yes_no: bool = False,
) -> list[dict[str, str]]:
    """The chat messages asking the model to answer ``question`` in sentences with [n];
    a question about several articles (``multi``) is asked for a sentence from each, one
    about a development (``timeline``) for dated sentences, oldest first, and one asking
    for a figure (``figures``) from articles of several dates for the newest first, one
    asking for the latest (``latest``) to answer from the newest article, and one answered
    yes or no (``yes_no``) to open with its verdict, shown by example that a passage
    saying something has not happened answers it ("No, ...")."""
    blocks = passage_blocks(passages, excerpts)
    for name, wanted in (
        ("answer_multi", multi),
        ("answer_timeline", timeline),
        ("answer_dated", figures and several_dates(passages)),
        ("answer_latest", latest),
        ("answer_yes_no", yes_no),
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
    reason: str | None = None,
) -> Done:
    """The Answer for ``text``, its citations checked against the passages (``checked``:
    already done).  An answer whose supported sentences miss what the question pins down
    (``rag.answer_policy.vet_text``) is refused, saying why, the passages kept as related;
    so is a quote whose sentences, a quoted list item read with its lead-in, are about
    something else (``off_quote``), and any answer to a reply of the model whose quoted
    sentences the model, asked apart, says do not state the answer (``_Run.judged``).
    A ``reason`` given with ``checked`` refuses too, unless ``refused`` says it is done."""
    from rag.answering import Answer, Done

    if checked is None:
        t = time.perf_counter()
        checked = check(text, run.passages, run.verifier, attach=not refused, question=run.query)
        run.timings["verify"] = time.perf_counter() - t
        if not refused:  # text quoted from the passages: vetted here
            reason = vet_text(run.shape, checked.sentences, checked.citations, run.passages)
            if not reason:
                said = [s.text for s in checked.sentences]
                said += quoted_lead_ins([(c.n, c.quoted) for c in checked.citations], run.passages)
                reason = off_quote(run.shape, said)
    if not refused and not reason and raw:
        reason = run.judged(checked.rested, fallback is not None)
    if not refused and reason:
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
            reason=reason or None,
            timeframe=run.timeframe,
            window=run.window,
        )
    )


def quote(
    run: _Run, reason: str, raw: str | None, chosen: str = "", hint: str | None = None
) -> Iterator[Event]:
    """The fallback: the best passage sentences (or ``chosen``, a cited passage sentence
    the rules picked), cited, with a notice saying why.  Quoted sentences that miss the
    question are vetted out like the model's (``finish``): then the answer is a refusal,
    not a quoted answer, so it carries no fallback and no "quoting instead" notice (only
    why the LLM could not answer, when it failed: ``raw`` is None)."""
    note = run.quoting(reason)
    hint = raw if hint is None else hint  # the reply's words and markers point at evidence
    text = chosen or run.extracted(hint)
    done = finish(run, text, note, raw) if text else None
    if done is not None and not done.answer.refused:
        yield run.notice(note)
        yield done
        return
    if raw is None:
        yield run.notice(run.failing(reason))
    why = done.answer.reason if done is not None else None
    yield finish(run, REFUSAL, None, raw, refused=True, reason=why or _NO_SENTENCE)


_NO_SENTENCE = "No passage sentence answers the question."
_ECHO = "The model repeated the example from its instructions instead of answering."


def stream(run: _Run, llm: LLM) -> Iterator[Event]:
    """Ask the model for a free-text answer, stream it, then check and decide."""
    from rag.answering import Checking

    excerpts = run.excerpts()
    messages = build_messages(
        run.query,
        run.passages,
        excerpts,
        run.shape.multi,
        run.shape.timeline,
        run.shape.expects == "number",
        run.latest,
        run.shape.yes_no,
    )
    t = time.perf_counter()
    raw, error = yield from _generate(run, llm, messages)
    run.timings["generation"] = time.perf_counter() - t
    if error:
        run.llm_down = error  # not asked again, e.g. by the judge
    if error and not raw:
        yield from quote(run, error, None)
        return
    if error:
        yield run.notice(f"The LLM stopped mid-answer ({error}); the answer is cut short.")
    yield Checking()
    yield from _conclude(run, raw)


def _generate(
    run: _Run, llm: LLM, messages: list[dict[str, str]]
) -> Generator[Event, None, tuple[str, str | None]]:
    """Stream one reply as Tokens; returns its text and, if the LLM failed, why."""
    from rag.answering import Token

    pieces: list[str] = []
    try:
        for piece in llm.stream(messages, max_tokens=run.settings.llm_max_tokens, stop=STOP):
            if "first_token" not in run.timings:
                run.timings["first_token"] = time.perf_counter() - run.t0
            pieces.append(piece)
            yield Token(piece)
    except LLMUnavailable as e:
        return "".join(pieces).strip(), str(e)
    return "".join(pieces).strip(), None


def _conclude(run: _Run, raw: str) -> Iterator[Event]:
    """Check the reply's citations, then answer, refuse or quote (``decide_text``).  A
    yes/no verdict that its evidence contradicts is dropped or turned round
    (``reverdict``, by the polarity rules of ``rag.verdicts``)."""
    checked = None
    text = without_example(raw, run.passages) if raw else raw
    if raw and not text:
        yield from quote(run, _ECHO, raw, hint="")  # the example's words point nowhere
        return
    # A timeline oldest first, a figure across dates newest first, whatever order the
    # model wrote them in.
    text = in_time_order(text, run.shape, run.passages) if text else text
    if text:
        t = time.perf_counter()
        checked = check(text, run.passages, run.verifier, question=run.query)
        if run.shape.yes_no and (amended := reverdict(run.query, text, checked, run.passages)):
            text = amended
            checked = check(text, run.passages, run.verifier, question=run.query)
        run.timings["verify"] = time.perf_counter() - t
    decision = decide_text(run.shape, text, checked, run.passages)
    if decision.kind == "quote":
        yield from quote(run, decision.reason, raw or None, decision.text)
        return
    if decision.refused:
        if decision.notice:
            yield run.notice(decision.reason)
        yield finish(run, decision.text, None, raw, True, reason=decision.reason)
        return
    if run.shape.multi and checked is not None:
        text, checked = every_side(run, text, checked)
    yield finish(run, text, None, raw, checked=checked)


def every_side(run: _Run, text: str, checked: CheckedText) -> tuple[str, CheckedText]:
    """A question about several articles answered from one of them: the nearest sentence
    of each other article retrieved is added (a small model often writes "Yes, the two
    articles agree that ..." citing one), and an opening yes/no, which spoke for articles
    it did not cite, is dropped."""
    cited = [n for s in checked.sentences if s.supported for n in s.citations]
    more = other_sides(run.query, cited, run.passages, run.verifier)
    if not more:
        return text, checked
    joined = f"{drop_verdict(text).rstrip()}\n{more}"
    return joined, check(joined, run.passages, run.verifier, question=run.query)


def reverdict(
    question: str, raw: str, checked: CheckedText, passages: Sequence[Passage]
) -> str | None:
    """What to show instead of a yes/no reply whose verdict its evidence contradicts,
    or None to keep it.  The evidence is what its first sentence cites (or, when that
    one, "Yes.", cites nothing, the whole answer's supported citations):

    - its quoted sentences say the opposite (``rag.verdicts.contradicts``): the reply
      without its verdict (the cited facts stay);
    - its quotes say nothing either way, but the cited passage's sentence that holds the
      question's own word the quotes lack does ("Has it been confirmed?" quoting "Trump
      described Putin as ...", in a passage that goes on "The White House has not
      officially confirmed these remarks."): then the reply's sentence states the opposite
      of that one too, so the answer is the verdict that sentence gives, and it, cited.
    """
    verdict = leading_verdict(raw)
    if verdict is None or not checked.sentences:
        return None
    numbers = set(checked.sentences[0].citations) or {
        n for s in checked.sentences if s.supported for n in s.citations
    }
    quotes = [c.quoted for c in checked.citations if c.n in numbers]
    if contradicts(question, verdict, quotes):
        return drop_verdict(raw)
    for n, sentence in deciding(question, quotes, numbers, passages):
        if contradicts(question, verdict, [sentence]):
            other = "No" if verdict == "yes" else "Yes"
            return f"{other}. {sentence.rstrip().rstrip('.')} [{n}]."
    return None


def deciding(
    question: str, quotes: Sequence[str], numbers: set[int], passages: Sequence[Passage]
) -> list[tuple[int, str]]:
    """The sentences of the passages ``numbers`` that hold a content word of
    ``question`` none of ``quotes`` holds (the word the verdict turns on), by passage."""
    quoted = set().union(*(content_words(q) for q in quotes)) if quotes else set()
    wanted = content_words(question) - quoted
    if not wanted:
        return []
    found = []
    for n in sorted(numbers):
        if not 1 <= n <= len(passages):
            continue
        text = passages[n - 1].text
        for a, b in sentence_spans(text):
            sentence = " ".join(text[a:b].split())
            if content_words(sentence) & wanted:
                found.append((n, sentence))
    return found
