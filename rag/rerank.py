"""Second-stage reranking of the fused candidates.

The first stage scores whole chunks; the answer to a question usually sits in one
sentence that shares the question's rarest words.  ``SentenceReranker`` (the
default) adds to each candidate's fused score how much of the question's weight
(IDF-weighted distinct terms) its best single sentence covers: a chunk that spreads
the question's words over several unrelated sentences drops below one that has
them together.  It needs no model and costs well under a millisecond per passage.

``CrossEncoderReranker`` is used when ``RAG_RERANKER_MODEL`` names a local
sentence-transformers CrossEncoder folder (no such weights ship in a package we can
install, and nothing is downloaded): it orders the candidates by its own score.

Which one runs is ``RAG_RERANKER``: ``sentence`` (default), ``cross`` or ``none``;
setting ``RAG_RERANKER_MODEL`` alone also selects ``cross``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from rag.chunking import sentence_spans
from rag.config import Settings
from rag.errors import RagError
from rag.lexical import tokenize

# Weight of the best sentence's coverage against the fused score (both in [0, 1]),
# chosen on the tune half of the SQuAD questions (eval/retrieval_bench.py).
SENTENCE_WEIGHT = 0.3

Idf = Callable[[Sequence[str]], dict[str, float]]


class RerankerError(RagError):
    """The configured reranker cannot be used; the message names the fix."""


class Reranker(Protocol):
    name: str

    def rerank(
        self, query: str, texts: Sequence[str], scores: Sequence[float], idf: Idf
    ) -> list[float]:
        """New scores for ``texts`` (higher is better), given their fused ``scores``."""
        ...


def sentence_coverage(query_terms: dict[str, float], text: str) -> float:
    """Share of the query's IDF weight found together in the best sentence of ``text``."""
    total = sum(query_terms.values())
    if total <= 0:
        return 0.0
    best = 0.0
    for start, end in sentence_spans(text) or [(0, len(text))]:
        words = set(tokenize(text[start:end]))
        best = max(best, sum(w for t, w in query_terms.items() if t in words))
    return best / total


class SentenceReranker:
    """Fused score + SENTENCE_WEIGHT x the best sentence's share of the query's terms."""

    name = "sentence"

    def __init__(self, weight: float = SENTENCE_WEIGHT) -> None:
        self.weight = weight

    def rerank(
        self, query: str, texts: Sequence[str], scores: Sequence[float], idf: Idf
    ) -> list[float]:
        terms = idf(list(dict.fromkeys(tokenize(query))))
        return [
            float(s) + self.weight * sentence_coverage(terms, t)
            for t, s in zip(texts, scores, strict=True)
        ]


class CrossEncoderReranker:
    """A local sentence-transformers CrossEncoder scoring (question, passage) pairs."""

    name = "cross"

    def __init__(self, path: str) -> None:
        self.path = Path(path).expanduser()
        if not self.path.is_dir():
            raise RerankerError(
                f"RAG_RERANKER_MODEL={path!r} is not a folder; point it at a local "
                "CrossEncoder model folder or unset it."
            )
        self._model: Any | None = None
        self._lock = threading.Lock()

    @property
    def model(self) -> Any:
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for a hub
                try:
                    from sentence_transformers import CrossEncoder
                    from transformers.utils import logging as hf_logging

                    hf_logging.disable_progress_bar()
                    hf_logging.set_verbosity_error()
                    self._model = CrossEncoder(str(self.path), device="cpu", local_files_only=True)
                except Exception as exc:
                    raise RerankerError(
                        f"Cannot load the reranker from {self.path} ({exc.__class__.__name__}); "
                        "check RAG_RERANKER_MODEL points at a CrossEncoder model folder."
                    ) from exc
            return self._model

    def rerank(
        self, query: str, texts: Sequence[str], scores: Sequence[float], idf: Idf
    ) -> list[float]:
        if not texts:
            return []
        out = self.model.predict(
            [(query, t) for t in texts], show_progress_bar=False, convert_to_numpy=True
        )
        return [float(x) for x in out]


def make_reranker(settings: Settings) -> Reranker | None:
    """The reranker the settings ask for; None for ``none``."""
    mode = (settings.reranker or "sentence").strip().lower()
    if settings.reranker_model and mode == "sentence":
        mode = "cross"
    if mode == "none":
        return None
    if mode == "sentence":
        return SentenceReranker()
    if mode == "cross":
        if not settings.reranker_model:
            raise RerankerError(
                "RAG_RERANKER=cross needs RAG_RERANKER_MODEL, the folder of a local "
                "CrossEncoder model; set it or use RAG_RERANKER=sentence."
            )
        return CrossEncoderReranker(settings.reranker_model)
    raise RerankerError(
        f"RAG_RERANKER={settings.reranker!r} is unknown; use sentence, cross or none."
    )
