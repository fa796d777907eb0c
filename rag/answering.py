"""Question -> Answer: condense, retrieve, ask for a structured reply, check it, decide.

``Answerer.stream`` yields, in order: ``Retrieved`` as soon as the passages are
known (a page shows its sources within a second), ``Writing`` while the model
writes, a ``Token`` for each claim of the
answer as soon as the model has written it and it has passed its checks, any
``Notice`` (the LLM is unreachable, stopped mid-answer ...), and ``Done`` with the
checked ``Answer``.  Nothing the user can cause ends in a traceback.

The model answers as JSON (``rag.structured``): claims, each with the passage it
comes from and a quote copied from it.  Code then checks every claim against its
quote and the question (``rag.answerability``), and one pure function decides to
answer or refuse (``rag.answer_policy``).  A refusal shows the closest passages as
related, never as support.  When the LLM cannot be reached at all, the answer is
quoted from the best passages (``Answer.fallback`` says why), under the same checks.

The prompt is built for a small local model (1.5B parameters, ~86 prompt tokens/s
on 2 cores): a fixed system prompt first (llama.cpp reuses its evaluated prefix
across requests), then the passages grouped by article and trimmed to the sentences
nearest the question within ``settings.answer_context_chars``, each wrapped in
delimiters and marked as data, then the question.
"""

from __future__ import annotations

import re
import time
from collections.abc import Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

from rag import answer_text, structured
from rag.answer_policy import MIN_COVERAGE, Decision, decide
from rag.answerability import ClaimCheck, check_claims, evidence, usable
from rag.citations import Citation, Sentence
from rag.config import Settings
from rag.conversation import condense
from rag.errors import RagError
from rag.extractive import extractive
from rag.instructions import set_aside
from rag.llm import LLM, LLMUnavailable
from rag.markers import defuse_markers, strip_markers
from rag.prompting import build_messages, by_article, oldest_first, select_context
from rag.questions import Question, analyse, qualifiers
from rag.retrieval import Filters, Passage, RetrievalError, Retriever
from rag.timeframe import TimeFrame, resolve
from rag.verifier import Verifier

REFUSAL = answer_text.REFUSAL  # one refusal sentence for both answer paths
MULTI_POOL = 2  # a question about several articles retrieves this many times k, to find every side


class AnswerError(RagError, ValueError):
    """The question cannot be answered as asked; the message names the fix."""


@dataclass(frozen=True)
class Answer:
    question: str
    query: str  # the standalone (condensed) query used for retrieval
    answer: str  # final text with [n] markers, n = position in ``passages``
    refused: bool
    fallback: str | None  # None, or why the answer was quoted from the passages
    citations: list[Citation]
    passages: list[Passage]  # as numbered in the prompt; on a refusal, the related ones
    sentences: list[Sentence]
    timings: dict[str, float]  # seconds: retrieval, first_token, total, ...
    notices: list[str] = field(default_factory=list)
    llm_answer: str | None = None  # the model's raw reply, before checking (None: no LLM)
    reason: str | None = None  # why it refused, in one sentence
    verdict: str | None = None  # yes / no / partly, for a question comparing articles
    timeframe: TimeFrame | None = None  # the date window read from the question, if used

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Answer:
        """The Answer that :meth:`to_dict` gave ``data`` (a saved run, a saved chat). Keys
        this version does not know are ignored, so an answer saved by a newer version
        still loads; derived keys (``as_of``) are computed again."""

        def build(kind: type, values: Mapping[str, Any]) -> Any:
            names = {f.name for f in fields(kind)}
            return kind(**{k: v for k, v in values.items() if k in names})

        values = dict(data)
        values["citations"] = [build(Citation, c) for c in data.get("citations", [])]
        values["passages"] = [
            build(Passage, {k: tuple(v) if isinstance(v, list) else v for k, v in p.items()})
            for p in data.get("passages", [])
        ]  # JSON keeps tuples (page breaks, wire copies) as lists
        values["sentences"] = [build(Sentence, x) for x in data.get("sentences", [])]
        values.setdefault("timings", {})
        frame = data.get("date_filter")
        values["timeframe"] = build(TimeFrame, frame) if frame else None
        return build(cls, values)

    @property
    def as_of(self) -> str | None:
        """The newest publication date among the cited articles, for an answer that
        depends on time: a question about time ("the latest", "last week") or one asking
        for a figure (counts and amounts change from one report to the next)."""
        if self.refused or (self.timeframe is None and analyse(self.query).expects != "number"):
            return None
        by_chunk = {p.chunk_id: p.published for p in self.passages}
        dates = [d for c in self.citations if (d := by_chunk.get(c.chunk_id))]
        return max(dates, default=None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "query": self.query,
            "answer": self.answer,
            "refused": self.refused,
            "fallback": self.fallback,
            "citations": [c.to_dict() for c in self.citations],
            "passages": [p.to_dict() for p in self.passages],
            "sentences": [s.to_dict() for s in self.sentences],
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
            "notices": self.notices,
            "llm_answer": self.llm_answer,
            "reason": self.reason,
            "verdict": self.verdict,
            "date_filter": _frame_dict(self.timeframe),
            "as_of": self.as_of,
        }


def _frame_dict(frame: TimeFrame | None) -> dict[str, Any] | None:
    if frame is None:
        return None
    return {
        "after": frame.after,
        "before": frame.before,
        "latest": frame.latest,
        "phrase": frame.phrase,
        "label": frame.label,
    }


@dataclass(frozen=True)
class Retrieved:
    passages: list[Passage]
    query: str
    timeframe: TimeFrame | None = None  # the question's date window, when it was applied


@dataclass(frozen=True)
class Token:
    text: str


@dataclass(frozen=True)
class Writing:
    """The model is writing: ``chars`` of its reply so far (claims show once complete)."""

    chars: int


@dataclass(frozen=True)
class Notice:
    message: str


@dataclass(frozen=True)
class Done:
    answer: Answer


Event = Retrieved | Writing | Token | Notice | Done


# --- from claims to the answer shown -------------------------------------------------------


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


# --- the answerer -----------------------------------------------------------------------


class Answerer:
    """Answers questions from the indexed articles; reuse one for many questions."""

    def __init__(
        self,
        settings: Settings,
        retriever: Retriever | None = None,
        llm: LLM | None = None,
        verifier: Verifier | None = None,
    ) -> None:
        self.settings = settings
        self.retriever = retriever or Retriever(settings)
        self._llm = llm
        self._llm_error: str | None = None
        self.verifier = verifier or Verifier(self.retriever.embedder)

    @property
    def llm(self) -> LLM | None:
        """The configured LLM, or None (with the reason kept) when it cannot be set up."""
        if self._llm is None and self._llm_error is None:
            try:
                self._llm = LLM.from_settings(self.settings)
            except LLMUnavailable as e:
                self._llm_error = str(e)
        return self._llm

    def ask(
        self,
        question: str,
        history: Sequence[Mapping[str, Any]] | None = None,
        k: int | None = None,
        filters: Filters | None = None,
        dates: bool = True,
    ) -> Answer:
        """The whole answer at once (``stream`` without the events)."""
        for event in self.stream(question, history, k, filters, dates):
            if isinstance(event, Done):
                return event.answer
        raise AssertionError("stream ended without an answer")

    def stream(
        self,
        question: str,
        history: Sequence[Mapping[str, Any]] | None = None,
        k: int | None = None,
        filters: Filters | None = None,
        dates: bool = True,
    ) -> Iterator[Event]:
        """Retrieved, then Token..., Notice..., then Done (see the module docstring).

        With ``dates`` (the default), time words in the question ("last week", "since
        May", "the latest") narrow the search to the articles published then
        (``rag.timeframe``), unless ``filters`` already give dates.
        """
        run = _Run(self, question, history)
        yield from run.retrieve(k, filters, dates)
        if not run.passages:
            yield run.finish(Decision("refuse", reason="No passage matches the question."))
            return
        llm = self.llm
        down = run.llm_down or self._llm_error or (None if llm else "no LLM is configured")
        if llm is None or down:
            reason = down or "no LLM is configured"
            if run.checked:
                yield from run.quote_passages(reason, None)
            else:
                yield from answer_text.quote(run, reason, None)
            return
        yield from run.ask_model(llm) if run.checked else answer_text.stream(run, llm)


class _Run:
    """One question on its way to an answer: what is known so far, and the steps."""

    def __init__(
        self, answerer: Answerer, question: str, history: Sequence[Mapping[str, Any]] | None
    ) -> None:
        self.t0 = time.perf_counter()
        self.question = " ".join(question.split())
        if not self.question:
            raise AnswerError("The question is empty; type a question.")
        self.answerer = answerer
        self.settings = answerer.settings
        self.verifier = answerer.verifier
        self.history = history
        self.timings: dict[str, float] = {}
        self.notices: list[str] = []
        self.llm_down: str | None = None
        self.query = self.question
        self.shape: Question = analyse(self.question)
        self.passages: list[Passage] = []
        self.raw: str | None = None
        self.streamed: set[str] = set()  # claims already shown while the model wrote
        self.early: list[ClaimCheck] = []  # their checks
        self.timeframe: TimeFrame | None = None  # the question's date window, once applied

    @property
    def checked(self) -> bool:
        """Whether this answer takes the checked path (``RAG_ANSWER_MODE=checked``)."""
        return self.settings.answer_mode == "checked"

    def notice(self, message: str) -> Notice:
        self.notices.append(message)
        return Notice(message)

    def retrieve(self, k: int | None, filters: Filters | None, dates: bool) -> Iterator[Event]:
        condensed = condense(self.history, self.question, self.answerer.llm)
        if condensed.method != "none":
            self.timings["condense"] = time.perf_counter() - self.t0
        if condensed.error:
            self.llm_down = condensed.error
            yield self.notice(
                "The follow-up question was joined to the previous one instead of rewritten."
            )
        asked = set_aside(condensed.query)
        if asked.set_aside:
            yield self.notice(
                "The question's instructions to the assistant were set aside "
                f"({' '.join(asked.set_aside)}); it answers only from the articles."
            )
        self.query = asked.question
        self.shape = analyse(self.query)
        k = k or self.settings.top_k
        spread = self.shape.multi or self.shape.timeline  # evidence from several articles
        pool = k * MULTI_POOL if spread else k
        t = time.perf_counter()
        found = yield from self._search(pool, filters, dates)
        if self.timeframe:
            # The window chose the articles: its words ("since May", "the latest") are not
            # words the evidence must also hold.
            self.shape = replace(analyse(self.timeframe.outside(self.query)), text=self.query)
        if self.timeframe and self.timeframe.latest:
            # "The latest": the newest relevant articles lead (undated ones last).
            found = sorted(found, key=lambda p: p.published or "", reverse=True)
        if self.checked or spread:
            self.passages = by_article(found, k, spread)
        else:
            self.passages = list(found[:k])
        if self.shape.timeline:
            # "How did it develop": the articles oldest first (undated last), so the
            # answer can go in time order.
            self.passages = oldest_first(self.passages)
        self.timings["retrieval"] = time.perf_counter() - t
        yield Retrieved(passages=list(self.passages), query=self.query, timeframe=self.timeframe)

    def _search(
        self, k: int, filters: Filters | None, dates: bool
    ) -> Generator[Event, None, list[Passage]]:
        """The passages for the query, within the question's date window when it names
        one the user's own filters do not; a window no article falls in is dropped, said
        in a notice (a wrong window must not hide the evidence)."""
        search = self.answerer.retriever.search
        frame = resolve(self.query, self.settings.current_date) if dates else None
        given = filters is not None and bool(filters.after or filters.before)
        if frame is None or given:
            return search(self.query, k=k, filters=filters)
        if not (frame.after or frame.before):  # "the latest" alone: no window, newest first
            self.timeframe = frame
            return search(self.query, k=k, filters=filters)
        window = replace(filters or Filters(), after=frame.after, before=frame.before)
        try:
            found = search(self.query, k=k, filters=window)
        except RetrievalError:
            found = []
        if found:
            self.timeframe = frame
            return found
        yield self.notice(
            f"No article published {frame.label} matches the question; "
            "every date was searched instead."
        )
        return search(self.query, k=k, filters=filters)

    def finish(self, decision: Decision, fallback: str | None = None) -> Done:
        self.timings["total"] = time.perf_counter() - self.t0
        if decision.refused:
            text, sentences, citations = REFUSAL, [], []
        else:
            text, sentences, citations = compose(decision, self.passages)
        return Done(
            Answer(
                question=self.question,
                query=self.query,
                answer=text,
                refused=decision.refused,
                fallback=fallback,
                citations=citations,
                passages=list(self.passages),
                sentences=sentences,
                timings=self.timings,
                notices=self.notices,
                llm_answer=self.raw,
                reason=decision.reason or None,
                verdict=decision.verdict,
                timeframe=self.timeframe,
            )
        )

    def check(self, claims: Sequence[tuple[int, str, str]]) -> list[ClaimCheck]:
        t = time.perf_counter()
        checks = check_claims(self.shape, claims, self.passages, self.verifier)
        self.timings["verify"] = self.timings.get("verify", 0.0) + time.perf_counter() - t
        return checks

    def shown_early(self, c: ClaimCheck) -> bool:
        """Whether a claim can be streamed before the whole reply is in: it passes every
        check that does not need the other claims."""
        if not c.valid or (self.shape.expects and not c.typed):
            return False
        if not self.shape.qualifiers <= qualifiers(c.held):
            return False
        found = evidence(self.shape, [self.passages[c.n - 1]], self.passages)
        return not found.missing and found.coverage >= MIN_COVERAGE

    def ask_model(self, llm: LLM) -> Iterator[Event]:
        excerpts = select_context(
            self.query, self.passages, self.settings.answer_context_chars, self.verifier
        )
        messages = build_messages(
            self.query,
            self.passages,
            excerpts,
            self.shape.multi,
            self.shape.yes_no,
            self.shape.timeline,
            self.shape.expects == "number",
            bool(self.timeframe and self.timeframe.latest),
        )
        spec = structured.schema(len(self.passages), self.shape.yes_no)
        reply: structured.Reply | None = None
        problem = ""
        t = time.perf_counter()
        max_tokens = self.settings.llm_max_tokens
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
                    if "first_token" not in self.timings:
                        self.timings["first_token"] = time.perf_counter() - self.t0
                    pieces.append(piece)
                    written += len(piece)
                    yield Writing(written)
                    for raw in claims.feed(piece):
                        yield from self._early(raw)
            except LLMUnavailable as e:
                if not pieces and not self.early:
                    yield from self.quote_passages(str(e), None)
                    return
                yield self.notice(f"The LLM stopped mid-answer ({e}); the answer is cut short.")
                stopped = True
            else:
                stopped = False
            self.raw = "".join(pieces).strip()
            try:
                reply = structured.parse(self.raw, len(self.passages), self.shape.yes_no)
                break
            except structured.ReplyError as e:
                problem = str(e)
                if stopped or not e.cut_off or self.early:
                    break
        self.timings["generation"] = time.perf_counter() - t
        if reply is None and self.early:
            # The reply broke off after claims that were checked and shown: they stand.
            reply = structured.Reply(answerable=True)
            checks = list(self.early)
        elif reply is None:
            yield self.notice(f"The model's reply could not be read ({problem}); it is not shown.")
            yield self.finish(Decision("refuse", reason="The model's reply could not be read."))
            return
        else:
            checks = self.check([(c.passage, c.quote, c.text) for c in reply.claims])
        yield self.finish(decide(self.shape, reply, checks, self.passages))

    def _early(self, raw: dict[str, Any]) -> Iterator[Event]:
        try:
            claim = structured.validate(
                {"answerable": True, "claims": [raw]}, len(self.passages)
            ).claims[0]
        except structured.ReplyError:
            return
        if len(self.early) >= structured.MAX_CLAIMS:
            return  # the reply keeps no more claims than this
        checked = usable(self.check([(claim.passage, claim.quote, claim.text)])[0])
        if checked is None:
            return
        shown = _cited(_sentence(checked.text), checked.n)
        if shown not in self.streamed and self.shown_early(checked):
            self.streamed.add(shown)
            self.early.append(checked)
            yield Token(shown + " ")

    def quote_passages(self, reason: str, raw: str | None) -> Iterator[Event]:
        """No LLM: the passage sentences nearest the question, under the same checks."""
        note = reason.rstrip()
        if "extractive" not in note and "directly" not in note:
            note += " Answering extractively from the best passages."
        yield self.notice(note)
        text = extractive(self.query, self.passages, self.verifier, hint=raw)
        claims = []
        for m in re.finditer(r"(.+?) \[(\d+)\](?:\s|$)", text):
            sentence, n = m.group(1).strip(), int(m.group(2))
            claims.append((n, sentence, sentence))
        checks = self.check(claims)
        reply = structured.Reply(answerable=bool(claims), claims=[])
        yield self.finish(decide(self.shape, reply, checks, self.passages), fallback=note)
