"""The checked answer path (``RAG_ANSWER_MODE=checked``): a structured reply, every
claim checked against its quote, one rule deciding.

The model answers as JSON (``rag.structured``): claims, each with the passage it comes
from and a quote copied from it.  Each claim is checked against its quote and the
question (``rag.answerability``) and streamed as soon as it passes; one pure function
then answers or refuses (``rag.answer_policy.decide``).  Without an LLM the passage
sentences nearest the question are quoted, under the same checks.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from rag import structured
from rag.answer_policy import MIN_COVERAGE, Decision, decide, off_quote, quoted_lead_ins
from rag.answerability import ClaimCheck, check_claims, evidence, usable
from rag.citations import Citation, Sentence
from rag.llm import LLM, LLMUnavailable
from rag.markers import defuse_markers, strip_markers
from rag.prompting import build_messages
from rag.questions import said_qualifiers
from rag.refusals import REFUSAL
from rag.retrieval import Passage
from rag.timeline import answer_order

if TYPE_CHECKING:
    from rag.answering import Done, Event, _Run


def _sentence(text: str) -> str:
    text = strip_markers(defuse_markers(text)).strip()
    return text if re.search(r"[.!?…][\"'”’)]*$", text) else text + "."


def _cited(sentence: str, n: int) -> str:
    """``sentence`` with its marker before the final punctuation: "It closed [2]."."""
    end = re.search(r"[.!?…][\"'”’)]*$", sentence)
    cut = end.start() if end else len(sentence)
    return f"{sentence[:cut]} [{n}]{sentence[cut:]}"


def compose(
    decision: Decision, passages: Sequence[Passage]
) -> tuple[str, list[Sentence], list[Citation]]:
    """The answer text with [n] markers, its sentences and its citations, from the kept
    claims; each citation points at the quote the claim was checked against."""
    sentences: list[Sentence] = []
    parts: list[str] = []
    quotes: dict[int, ClaimCheck] = {}
    for i, c in enumerate(decision.claims):
        text = _sentence(c.text)
        if i == 0 and decision.verdict:
            text = f"{decision.verdict.capitalize()}: {text}"
        sentences.append(Sentence(text=text, citations=[c.n], supported=True))
        parts.append(_cited(text, c.n))
        quotes.setdefault(c.n, c)
    citations = []
    for n in sorted(quotes):
        p, c = passages[n - 1], quotes[n]
        span = c.span or (0, len(p.text))
        citations.append(
            Citation.of(
                n,
                p,
                supported=True,
                score=min(x.score for x in decision.claims if x.n == n),
                quote=span,
            )
        )
    return " ".join(parts), sentences, citations


def finish(run: _Run, decision: Decision, fallback: str | None = None) -> Done:
    """The Answer for ``decision``: its kept claims composed, or the refusal (also when
    the model, asked apart, says the sentences the claims rest on do not state the
    answer: ``_Run.judged``)."""
    from rag.answering import Answer, Done

    if (
        not decision.refused
        and run.raw
        and (why := run.judged([(c.n, c.held) for c in decision.claims], fallback is not None))
    ):
        decision = Decision("refuse", reason=why, evidence=decision.evidence)
    run.timings["total"] = time.perf_counter() - run.t0
    if decision.refused:
        text, sentences, citations = REFUSAL, [], []
    else:
        # A timeline oldest first, a figure across dates newest first.
        order = answer_order(run.shape, run.passages, [[c.n] for c in decision.claims])
        decision = replace(decision, claims=[decision.claims[i] for i in order])
        text, sentences, citations = compose(decision, run.passages)
    return Done(
        Answer(
            question=run.question,
            query=run.query,
            answer=text,
            refused=decision.refused,
            fallback=fallback,
            citations=citations,
            passages=list(run.passages),
            sentences=sentences,
            timings=run.timings,
            notices=run.notices,
            llm_answer=run.raw,
            reason=decision.reason or None,
            verdict=decision.verdict,
            timeframe=run.timeframe,
            window=run.window,
        )
    )


def check(run: _Run, claims: Sequence[tuple[int, str, str]]) -> list[ClaimCheck]:
    """Each (passage, quote, text) claim checked against its quote and the question."""
    t = time.perf_counter()
    checks = check_claims(run.shape, claims, run.passages, run.verifier)
    run.timings["verify"] = run.timings.get("verify", 0.0) + time.perf_counter() - t
    return checks


def shown_early(run: _Run, c: ClaimCheck) -> bool:
    """Whether a claim can be streamed before the whole reply is in: it passes every
    check that does not need the other claims."""
    if not c.valid or (run.shape.expects and not c.typed):
        return False
    if not run.shape.qualifiers <= said_qualifiers(c.held):
        return False
    found = evidence(run.shape, [run.passages[c.n - 1]], run.passages)
    return not found.missing and found.coverage >= MIN_COVERAGE


def stream(run: _Run, llm: LLM) -> Iterator[Event]:
    """Ask the model for a structured reply, stream its claims as they pass, decide."""
    from rag.answering import Checking, Writing

    excerpts = run.excerpts()
    messages = build_messages(
        run.query,
        run.passages,
        excerpts,
        run.shape.multi,
        run.shape.yes_no,
        run.shape.timeline,
        run.shape.expects == "number",
        run.latest,
    )
    spec = structured.schema(len(run.passages), run.shape.yes_no)
    reply: structured.Reply | None = None
    problem = ""
    t = time.perf_counter()
    max_tokens = run.settings.llm_max_tokens
    written = 0  # characters of reply so far, over both attempts
    for attempt in (1, 2):
        if attempt == 2:
            # Asked again only when the reply was cut off (at temperature 0 the same
            # request gives the same reply): with twice as many tokens.
            max_tokens *= 2
        pieces: list[str] = []
        claims = structured.ClaimStream()
        try:
            for piece in llm.stream_json(messages, spec, max_tokens=max_tokens):
                if "first_token" not in run.timings:
                    run.timings["first_token"] = time.perf_counter() - run.t0
                pieces.append(piece)
                written += len(piece)
                yield Writing(written)
                for raw in claims.feed(piece):
                    yield from _early(run, raw)
        except LLMUnavailable as e:
            run.llm_down = str(e)  # not asked again, e.g. by the judge
            if not pieces and not run.early:
                yield from quote(run, str(e), None)
                return
            yield run.notice(f"The LLM stopped mid-answer ({e}); the answer is cut short.")
            stopped = True
        else:
            stopped = False
        run.raw = "".join(pieces).strip()
        try:
            reply = structured.parse(run.raw, len(run.passages), run.shape.yes_no)
            break
        except structured.ReplyError as e:
            problem = str(e)
            if stopped or not e.cut_off or run.early:
                break
    run.timings["generation"] = time.perf_counter() - t
    yield Checking()
    if reply is None and run.early:
        # The reply broke off after claims that were checked and shown: they stand.
        reply = structured.Reply(answerable=True)
        checks = list(run.early)
    elif reply is None:
        yield run.notice(f"The model's reply could not be read ({problem}); it is not shown.")
        yield finish(run, Decision("refuse", reason="The model's reply could not be read."))
        return
    else:
        checks = check(run, [(c.passage, c.quote, c.text) for c in reply.claims])
    yield finish(run, decide(run.shape, reply, checks, run.passages))


def _early(run: _Run, raw: dict[str, Any]) -> Iterator[Event]:
    from rag.answering import Token

    try:
        claim = structured.validate(
            {"answerable": True, "claims": [raw]}, len(run.passages)
        ).claims[0]
    except structured.ReplyError:
        return
    if len(run.early) >= structured.MAX_CLAIMS:
        return  # the reply keeps no more claims than this
    checked = usable(check(run, [(claim.passage, claim.quote, claim.text)])[0])
    if checked is None:
        return
    shown = _cited(_sentence(checked.text), checked.n)
    if shown not in run.streamed and shown_early(run, checked):
        run.streamed.add(shown)
        run.early.append(checked)
        yield Token(shown + " ")


def quote(run: _Run, reason: str, raw: str | None) -> Iterator[Event]:
    """No LLM: the passage sentences nearest the question, under the same checks."""
    note = run.quoting(reason)
    text = run.extracted(raw)
    claims = []
    for m in re.finditer(r"(.+?) \[(\d+)\](?:\s|$)", text):
        sentence, n = m.group(1).strip(), int(m.group(2))
        claims.append((n, sentence, sentence))
    checks = check(run, claims)
    reply = structured.Reply(answerable=bool(claims), claims=[])
    decision = decide(run.shape, reply, checks, run.passages)
    said = [c.text for c in decision.claims]
    said += quoted_lead_ins([(c.n, c.held or c.quote) for c in decision.claims], run.passages)
    if not decision.refused and (why := off_quote(run.shape, said)):
        decision = Decision("refuse", reason=why, evidence=decision.evidence)
    if decision.refused:  # no passage sentence answers it either: a refusal, not a quote
        if raw is None:
            yield run.notice(run.failing(reason))
        yield finish(run, decision)
        return
    yield run.notice(note)
    yield finish(run, decision, fallback=note)
