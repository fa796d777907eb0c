"""Question -> Answer: condense, retrieve, prompt, stream, check citations, fall back.

``Answerer.stream`` yields, in order: ``Retrieved`` as soon as the passages are
known (a page shows its sources within a second), the model's ``Token``s, any
``Notice`` (the LLM is unreachable, stopped mid-answer ...), and ``Done`` with the
checked ``Answer``.  Nothing the user can cause ends in a traceback: when the LLM
is unreachable, times out or states nothing (a bare "[2]"), the answer is taken
verbatim from the best passages, with citations, and ``Answer.fallback`` says why.
When the model's unsupported answer names people, places or numbers that no passage
holds (outside knowledge), the answer is a refusal with a notice instead.

The prompt is built for a small local model (1.5B parameters, ~37 prompt tokens/s
on 2 cores): a fixed system prompt first (llama.cpp reuses its evaluated prefix
across requests), then the passages trimmed to the sentences nearest the question
within ``settings.answer_context_chars``, each wrapped in delimiters and marked as
data, then the question.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rag.chunking import sentence_spans
from rag.citations import (
    Citation,
    Sentence,
    Verifier,
    check,
    content_words,
    defuse_markers,
    is_claim,
    parse_markers,
    split_answer,
    strip_markers,
    unsourced,
)
from rag.config import Settings
from rag.conversation import condense, prompt
from rag.llm import LLM, LLMUnavailable
from rag.retrieval import Filters, Passage, Retriever

REFUSAL = "I cannot find the answer in the articles."
MAX_TITLE_CHARS = 60
MAX_SENTENCE_CHARS = 400
EXTRACTIVE_SENTENCES = 2
EXTRACTIVE_MARGIN = 0.1  # cosine below the best sentence's at which others stop counting
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


class AnswerError(ValueError):
    """The question cannot be answered as asked; the message names the fix."""


@dataclass(frozen=True)
class Answer:
    question: str
    query: str  # the standalone (condensed) query used for retrieval
    answer: str  # final text with [n] markers, n = position in ``passages``
    refused: bool
    fallback: str | None  # None, or why the extractive fallback answered
    citations: list[Citation]
    passages: list[Passage]
    sentences: list[Sentence]
    timings: dict[str, float]  # seconds: retrieval, first_token, total, ...
    notices: list[str] = field(default_factory=list)
    llm_answer: str | None = None  # the model's raw text, before checking (None: no LLM text)

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
        }


@dataclass(frozen=True)
class Retrieved:
    passages: list[Passage]
    query: str


@dataclass(frozen=True)
class Token:
    text: str


@dataclass(frozen=True)
class Notice:
    message: str


@dataclass(frozen=True)
class Done:
    answer: Answer


Event = Retrieved | Token | Notice | Done


# --- refusal -----------------------------------------------------------------------


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


# --- the prompt ----------------------------------------------------------------------


def select_context(
    query: str, passages: Sequence[Passage], budget: int, verifier: Verifier
) -> list[str]:
    """Each passage trimmed to its sentences nearest ``query``, all within ``budget`` chars.

    Every passage keeps at least its best sentence (so every [n] has something to
    cite); the rest of the budget goes to the best sentences overall, each sentence
    once even when neighbouring passages share it.  Kept sentences stay in their
    order; a gap between them shows as " … ".
    """
    if not passages:
        return []
    sentences = [
        [_clip(p.text[a:b]) for a, b in sentence_spans(p.text) or [(0, len(p.text))]]
        for p in passages
    ]
    flat = [text for group in sentences for text in group]
    vectors = verifier.vectors([query, *flat])
    q_words = content_words(query)
    relevance: dict[str, float] = {}
    for text, vector in zip(flat, vectors[1:], strict=True):
        overlap = len(q_words & content_words(text)) / len(q_words) if q_words else 0.0
        relevance[text] = float(vector @ vectors[0]) + 0.3 * overlap

    kept: list[set[int]] = [set() for _ in passages]
    seen: set[str] = set()
    used = 0
    for i, group in enumerate(sentences):  # each passage's best new sentence, best first
        order = sorted(range(len(group)), key=lambda j: -relevance[group[j]])
        j = next((j for j in order if group[j] not in seen), order[0])
        kept[i].add(j)
        seen.add(group[j])
        used += len(group[j]) + 1
    ranked = sorted(
        ((i, j) for i, group in enumerate(sentences) for j in range(len(group))),
        key=lambda ij: -relevance[sentences[ij[0]][ij[1]]],
    )
    for i, j in ranked:
        text = sentences[i][j]
        if text not in seen and used + len(text) + 1 <= budget:
            kept[i].add(j)
            seen.add(text)
            used += len(text) + 1

    excerpts = []
    for group, chosen in zip(sentences, kept, strict=True):
        order = sorted(chosen)
        parts: list[str] = []
        for a, b in zip(order, [*order[1:], None], strict=True):
            parts.append(group[a])
            if b is not None and b != a + 1:
                parts.append("…")
        excerpts.append(" ".join(parts))
    return excerpts


def _clip(text: str, limit: int = MAX_SENTENCE_CHARS) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0] + " …"


def _attribute(value: str) -> str:
    return " ".join(value.split()).replace('"', "'")


def _as_data(text: str) -> str:
    """Passage text that cannot close or open a passage delimiter."""
    return re.sub(r"<\s*/?\s*passage", "(passage", text, flags=re.IGNORECASE)


def build_messages(
    question: str, passages: Sequence[Passage], excerpts: Sequence[str]
) -> list[dict[str, str]]:
    """The chat messages asking the model to answer ``question`` from ``passages``."""
    template = prompt("passage").strip()
    blocks = []
    titled: set[str] = set()
    for n, (p, text) in enumerate(zip(passages, excerpts, strict=True), 1):
        title = _attribute(p.title)
        if len(title) > MAX_TITLE_CHARS:
            title = title[:MAX_TITLE_CHARS].rsplit(" ", 1)[0] + " …"
        # The title once per file: prompt tokens are what a small local model is slowest at.
        title = "" if p.source in titled else f' title="{title}"'
        titled.add(p.source)
        blocks.append(
            template.format(n=n, source=_attribute(p.source), title=title, text=_as_data(text))
        )
    user = prompt("answer_user").format(passages="\n".join(blocks), question=question.strip())
    return [
        {"role": "system", "content": prompt("answer_system").strip()},
        {"role": "user", "content": user.strip()},
    ]


# --- the extractive fallback ---------------------------------------------------------------


def extractive(
    query: str,
    passages: Sequence[Passage],
    verifier: Verifier,
    hint: str | None = None,
    count: int = EXTRACTIVE_SENTENCES,
) -> str:
    """An answer made of the passage sentences nearest the query (or the model's text).

    The sentences come from the passages the model's text cites when it cites any (a
    small model sometimes answers with a bare "[2]": it points at the evidence without
    stating it), otherwise from the three best passages.
    """
    pointed = sorted({n for n in parse_markers(hint or "") if 1 <= n <= len(passages)})
    sources = pointed or list(range(1, min(len(passages), 3) + 1))
    candidates: list[tuple[int, str]] = []
    headlines: list[tuple[int, str]] = []  # lines without a full stop: titles, table rows
    for n in sources:
        p = passages[n - 1]
        for a, b in sentence_spans(p.text):
            text = defuse_markers(" ".join(p.text[a:b].split()).lstrip("-•* ").strip())
            if len(content_words(text)) >= 4 and "|" not in text:
                ends = re.search(r"[.!?…][\"'”’)]*$", text)
                (candidates if ends else headlines).append((n, text))
    candidates = candidates or headlines
    if not candidates:
        return ""
    said = strip_markers(hint or "").strip()
    probes = [query] + ([said] if said else [])
    vectors = verifier.vectors(probes + [t for _, t in candidates])
    sims = (vectors[len(probes) :] @ vectors[: len(probes)].T).max(axis=1)
    order = sorted(range(len(candidates)), key=lambda i: -sims[i])
    picked: list[int] = []
    for i in order:
        if picked and sims[i] < sims[order[0]] - EXTRACTIVE_MARGIN:
            break  # much further from the question than the best: noise, not evidence
        if candidates[i][1] not in {candidates[j][1] for j in picked}:
            picked.append(i)
        if len(picked) == count:
            break
    out = []
    for i in sorted(picked, key=lambda i: (candidates[i][0], i)):
        n, text = candidates[i]
        text = text if re.search(r"[.!?…][\"'”’)]*$", text) else text + "."
        out.append(f"{_clip(text)} [{n}]")
    return " ".join(out)


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
    ) -> Answer:
        """The whole answer at once (``stream`` without the events)."""
        for event in self.stream(question, history, k, filters):
            if isinstance(event, Done):
                return event.answer
        raise AssertionError("stream ended without an answer")

    def stream(
        self,
        question: str,
        history: Sequence[Mapping[str, Any]] | None = None,
        k: int | None = None,
        filters: Filters | None = None,
    ) -> Iterator[Event]:
        """Retrieved, then Token..., Notice..., then Done (see the module docstring)."""
        t0 = time.perf_counter()
        question = " ".join(question.split())
        if not question:
            raise AnswerError("The question is empty; type a question.")
        timings: dict[str, float] = {}
        notices: list[str] = []
        llm = self.llm
        llm_down = self._llm_error

        condensed = condense(history, question, llm)
        if condensed.method != "none":
            timings["condense"] = time.perf_counter() - t0
        if condensed.error:
            llm_down = condensed.error
            note = "The follow-up question was joined to the previous one instead of rewritten."
            notices.append(note)
            yield Notice(note)
        query = condensed.query

        t = time.perf_counter()
        passages = self.retriever.search(query, k=k, filters=filters)
        timings["retrieval"] = time.perf_counter() - t
        yield Retrieved(passages=list(passages), query=query)

        def finish(text: str, fallback: str | None, raw: str | None, refused: bool = False) -> Done:
            t_check = time.perf_counter()
            checked = check(text, passages, self.verifier, attach=not refused, question=query)
            timings["verify"] = time.perf_counter() - t_check
            timings["total"] = time.perf_counter() - t0
            return Done(
                Answer(
                    question=question,
                    query=query,
                    answer=checked.answer,
                    refused=refused,
                    fallback=fallback,
                    citations=checked.citations if not refused else [],
                    passages=list(passages),
                    sentences=checked.sentences,
                    timings=timings,
                    notices=notices,
                    llm_answer=raw,
                )
            )

        if not passages:
            yield finish(REFUSAL, None, None, refused=True)
            return

        if llm is None or llm_down:
            reason = llm_down or self._llm_error or "no LLM is configured"
            yield from self._extractive(query, passages, reason, notices, finish, None)
            return

        excerpts = select_context(
            query, passages, self.settings.answer_context_chars, self.verifier
        )
        messages = build_messages(query, passages, excerpts)
        pieces: list[str] = []
        t = time.perf_counter()
        try:
            for piece in llm.stream(messages, max_tokens=self.settings.llm_max_tokens, stop=STOP):
                if not pieces:
                    timings["first_token"] = time.perf_counter() - t0
                pieces.append(piece)
                yield Token(piece)
        except LLMUnavailable as e:
            if not pieces:
                yield from self._extractive(query, passages, str(e), notices, finish, None)
                return
            note = f"The LLM stopped mid-answer ({e}); the answer is cut short."
            notices.append(note)
            yield Notice(note)
        timings["generation"] = time.perf_counter() - t
        raw = "".join(pieces).strip()
        if not raw:
            yield from self._extractive(
                query, passages, "The LLM returned an empty answer.", notices, finish, raw
            )
            return

        checked = check(raw, passages, self.verifier, question=query)
        supported = sum(1 for s in checked.sentences if s.supported)
        if is_refusal(raw, supported):
            refusal_only = all(is_refusal_sentence(p.claim) for p in split_answer(raw))
            yield finish(strip_markers(raw) if refusal_only else REFUSAL, None, raw, refused=True)
            return
        if not checked.citable:
            read = [f"{p.title} {p.text}" for p in passages]
            if any(is_claim(p.claim) and unsourced(p.claim, read) for p in split_answer(raw)):
                # It named people, places or numbers that no passage holds: outside knowledge,
                # or a guess at a question the articles do not answer. Passage sentences in
                # its place would answer that question anyway; say so and show nothing.
                note = (
                    "The model's answer names facts that are not in the passages, so it is "
                    "not shown; the passages it read are listed as sources."
                )
                notices.append(note)
                yield Notice(note)
                yield finish(REFUSAL, None, raw, refused=True)
                return
            reason = (
                "The model's answer could not be checked against the passages, "
                "so the answer is taken from them directly."
            )
            yield from self._extractive(query, passages, reason, notices, finish, raw)
            return
        yield finish(raw, None, raw)

    def _extractive(
        self,
        query: str,
        passages: list[Passage],
        reason: str,
        notices: list[str],
        finish: Any,
        raw: str | None,
    ) -> Iterator[Event]:
        """The fallback: the best passage sentences, cited, with a notice saying why."""
        note = reason.rstrip()
        if "extractive" not in note and "directly" not in note:
            note += " Answering extractively from the best passages."
        notices.append(note)
        yield Notice(note)
        text = extractive(query, passages, self.verifier, hint=raw)
        if not text:
            yield finish(REFUSAL, note, raw, refused=True)
            return
        yield finish(text, note, raw)
