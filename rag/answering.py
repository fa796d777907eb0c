"""Question -> Answer: condense, set aside instructions, retrieve, then one answer path.

``Answerer.stream`` yields, in order: ``Retrieved`` as soon as the passages are
known (a page shows its sources within a second), ``Writing`` while the model
writes, a ``Token`` for each piece of the answer as soon as it can be shown, any
``Notice`` (the LLM is unreachable, stopped mid-answer ...), and ``Done`` with the
checked ``Answer``.  Nothing the user can cause ends in a traceback.

This module holds the answer's types and the steps every answer shares (condensing a
follow-up, setting aside instructions written into the question, the search within
the question's date window, the passages by article); the model is asked by one of two
paths: ``rag.answer_text`` (free text with [n] markers, checked and vetted: the
default) or ``rag.answer_checked`` (a structured reply, every claim checked against
its quote: ``RAG_ANSWER_MODE=checked``).  A refusal shows the closest passages as
related, never as support.  When the LLM cannot be reached at all, the answer is
quoted from the best passages (``Answer.fallback`` says why), under the same checks.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

from rag import answer_checked, answer_text
from rag.answer_policy import Decision, judge_decides, overruled
from rag.answerability import ClaimCheck
from rag.citations import Citation, Sentence
from rag.config import Settings
from rag.conversation import condense
from rag.errors import RagError
from rag.extractive import extractive
from rag.instructions import set_aside
from rag.judge import rested_on, states_answer
from rag.llm import LLM, LLMUnavailable
from rag.prompting import by_article, oldest_first, select_context
from rag.questions import Question, analyse, own_qualifiers
from rag.retrieval import Filters, Passage, RetrievalError, Retriever
from rag.timeframe import TimeFrame, given_window, resolve
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
    window: TimeFrame | None = None  # the user's own dates (--after/--since, the page's fields)

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
        given = bool(frame) and frame.get("from") == "filters"
        values["timeframe"] = build(TimeFrame, frame) if frame and not given else None
        values["window"] = build(TimeFrame, frame) if given else None
        return build(cls, values)

    @property
    def as_of(self) -> str | None:
        """The newest publication date among the cited articles, for an answer that
        depends on time: a question about time ("the latest", "last week") or one asking
        for a figure (counts and amounts change from one report to the next)."""
        timely = self.timeframe is not None or self.window is not None
        if self.refused or (not timely and analyse(self.query).expects != "number"):
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
            "date_filter": _frame_dict(self.timeframe, "question")
            or _frame_dict(self.window, "filters"),
            "as_of": self.as_of,
        }


def _frame_dict(frame: TimeFrame | None, source: str) -> dict[str, Any] | None:
    """The window an answer was searched in, saying whether the question's words
    (``"from": "question"``) or the user's own dates (``"filters"``) gave it."""
    if frame is None:
        return None
    return {
        "from": source,
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
class Checking:
    """The model's reply is complete; its citations are being checked (and, where it can
    change the outcome, the model asked apart whether they state the answer)."""


@dataclass(frozen=True)
class Notice:
    message: str


@dataclass(frozen=True)
class Done:
    answer: Answer


Event = Retrieved | Writing | Token | Checking | Notice | Done


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
            yield answer_checked.finish(
                run, Decision("refuse", reason="No passage matches the question.")
            )
            return
        llm = self.llm
        down = run.llm_down or self._llm_error or (None if llm else "no LLM is configured")
        if llm is None or down:
            reason = down or "no LLM is configured"
            if run.checked:
                yield from answer_checked.quote(run, reason, None)
            else:
                yield from answer_text.quote(run, reason, None)
            return
        path = answer_checked if run.checked else answer_text
        yield from path.stream(run, llm)


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
        self.window: TimeFrame | None = None  # the user's own dates, when they were applied

    @property
    def checked(self) -> bool:
        """Whether this answer takes the checked path (``RAG_ANSWER_MODE=checked``)."""
        return self.settings.answer_mode == "checked"

    @property
    def latest(self) -> bool:
        """Whether the question asks for the latest (answered from the newest article)."""
        return bool(self.timeframe and self.timeframe.latest)

    def excerpts(self) -> list[str]:
        """Each passage trimmed to its sentences nearest the query, within the budget."""
        budget = self.settings.answer_context_chars
        return select_context(self.query, self.passages, budget, self.verifier)

    def extracted(self, hint: str | None) -> str:
        """The passage sentences nearest the question, as a cited answer
        (``rag.extractive.extractive``); ``hint``: the model's reply, which points at
        evidence by its markers and words."""
        return extractive(
            self.query,
            self.passages,
            self.verifier,
            hint=hint,
            each_article=self.shape.multi,
            shape=self.shape,
        )

    def judged(self, quoted: Sequence[tuple[int, str]], quote: bool = False) -> str:
        """Why to refuse an answer after all, or "": the model, asked apart, says the
        sentences the answer rests on (``quoted``: each citation's passage number and the
        sentence of it the answer was checked against; ``rag.judge.rested_on``) do not
        state the answer to the question (``rag.answer_policy.overruled``).  The model is
        not asked where its "no" would change nothing (``judge_decides``), when
        ``RAG_ANSWER_JUDGE`` is off, or without an LLM (none, or one that failed during
        this answer).  The question is asked without the words of a date window it gave
        ("the latest", "since May"): the window chose the articles, and the sentences
        shown carry no dates.  ``quote``: the answer is passage sentences quoted in place
        of the model's reply."""
        if not self.settings.answer_judge or self.llm_down or not judge_decides(self.shape):
            return ""
        llm = self.answerer.llm
        texts = rested_on(quoted, [p.text for p in self.passages])
        if llm is None or not texts:
            return ""
        t = time.perf_counter()
        asked = self.timeframe.outside(self.query) if self.timeframe else self.query
        stated = states_answer(llm, asked, texts)
        self.timings["judge"] = time.perf_counter() - t
        return overruled(self.shape, stated, quote)

    def quoting(self, reason: str) -> str:
        """The notice for an answer quoted from the passages instead of the model's."""
        note = reason.rstrip()
        if "extractive" not in note and "directly" not in note:
            note += " Answering extractively from the best passages."
        return note

    @staticmethod
    def failing(reason: str) -> str:
        """Why the LLM gave no answer, as the sentence a notice shows ("no LLM is
        configured" -> "No LLM is configured.")."""
        text = reason.strip()
        text = text[:1].upper() + text[1:]
        return text if text.endswith((".", "!", "?")) else text + "."

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
        if condensed.asked:  # rewritten from the chat: the user's words count
            self.shape = own_qualifiers(self.shape, condensed.asked)
        if self.latest:
            # "The latest": the newest relevant articles lead (undated ones last).
            found = sorted(found, key=lambda p: p.published or "", reverse=True)
        if self.checked or spread:
            self.passages = by_article(found, k, spread)
        else:
            self.passages = list(found[:k])
        self.passages = self.answerer.retriever.continued(self.passages)
        self.passages = self.answerer.retriever.headed(self.passages)
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
        if filters is not None and (filters.after or filters.before):
            self.window = given_window(filters.after, filters.before)
            return search(self.query, k=k, filters=filters)
        if frame is None:
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
