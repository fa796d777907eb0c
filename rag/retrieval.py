"""Question -> Passages: dense + BM25 fused by reciprocal rank, filtered, de-duplicated.

Dense similarity finds paraphrases; BM25 finds the question's exact words (names,
numbers, rare terms) that a small embedding model blurs.  Their ranked lists are
fused with reciprocal-rank fusion, overlapping neighbours from the same file are
merged so the top k are k different pieces of evidence, and every passage keeps its
file and character offsets.
"""

from __future__ import annotations

import fnmatch
import threading
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import numpy as np

from rag import lexical
from rag.config import Settings
from rag.embeddings import Embedder
from rag.store import Store, StoredChunk, date_ordinal

RRF_K = 60


class RetrievalError(Exception):
    """Retrieval cannot run as asked; the message is one sentence naming the fix."""


@dataclass(frozen=True)
class Filters:
    source: str | None = None  # a file name or glob, matched against the relative path
    after: str | None = None  # ISO date, inclusive
    before: str | None = None  # ISO date, inclusive

    @classmethod
    def parse(
        cls, source: str | None = None, after: str | None = None, before: str | None = None
    ) -> Filters:
        for name, value in (("--after", after), ("--before", before)):
            if value:
                try:
                    date.fromisoformat(value)
                except ValueError:
                    raise RetrievalError(
                        f"{name} {value!r} is not a date; use the form YYYY-MM-DD."
                    ) from None
        if after and before and after > before:
            raise RetrievalError(f"--after {after} is later than --before {before}; swap them.")
        return cls(source=source or None, after=after or None, before=before or None)

    @property
    def active(self) -> bool:
        return bool(self.source or self.after or self.before)

    def matches_source(self, source: str) -> bool:
        if not self.source:
            return True
        pattern = self.source
        name = source.rsplit("/", 1)[-1]
        return fnmatch.fnmatchcase(source, pattern) or fnmatch.fnmatchcase(name, pattern)

    def date_where(self) -> dict[str, Any] | None:
        clauses: list[dict[str, Any]] = []
        if self.after:
            clauses.append({"published_ord": {"$gte": date_ordinal(self.after)}})
        if self.before:
            clauses.append({"published_ord": {"$lte": date_ordinal(self.before)}})
        if not clauses:
            return None
        clauses.append({"published_ord": {"$gt": 0}})
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}


@dataclass(frozen=True)
class Passage:
    source: str
    chunk_id: str
    start: int
    end: int
    text: str
    title: str = ""
    published: str | None = None
    score: float = 0.0
    scores: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "chunk_id": self.chunk_id,
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "score": round(self.score, 6),
            "title": self.title,
            "published": self.published,
            "scores": {k: round(v, 6) for k, v in self.scores.items()},
        }


class Retriever:
    """Hybrid search over one store; cheap to call many times (model loaded once)."""

    def __init__(
        self, settings: Settings, store: Store | None = None, embedder: Embedder | None = None
    ) -> None:
        self.settings = settings
        self.store = store or Store(settings)
        self.embedder = embedder or Embedder(
            settings.embedding_model, settings.embedding_batch_size
        )
        self._lock = threading.Lock()

    def search(
        self, query: str, k: int | None = None, filters: Filters | None = None
    ) -> list[Passage]:
        k = k or self.settings.top_k
        filters = filters or Filters()
        query = query.strip()
        if not query:
            raise RetrievalError("The question is empty; type a question.")
        if k < 1:
            raise RetrievalError("-k must be at least 1.")
        if self.store.count() == 0:
            raise RetrievalError(
                "The index is empty; add articles to the folder and run `rag index`."
            )
        lex = lexical.refresh(self.store, self.settings)
        pool = max(4 * k, 20)
        dense = self._dense(query, pool, filters, lex)
        sparse = self._sparse(query, pool, filters, lex)
        fused = self._fuse(dense, sparse)
        if not fused:
            if filters.active:
                raise RetrievalError(
                    "No indexed article matches those filters; check --source and the dates."
                )
            return []
        chunks = {c.chunk_id: c for c, _ in dense}
        missing = [cid for cid, _ in fused if cid not in chunks]
        chunks.update({c.chunk_id: c for c in self.store.get_chunks(missing)})
        passages = []
        for cid, score in fused:
            c = chunks.get(cid)
            if c is None:  # deleted by a concurrent re-index
                continue
            passages.append(_to_passage(c, score, dense_rank(dense, cid), sparse_rank(sparse, cid)))
        return merge_neighbours(passages)[:k]

    def _dense(
        self, query: str, n: int, filters: Filters, lex: lexical.LexicalIndex
    ) -> list[tuple[StoredChunk, float]]:
        vector = self.embedder.embed_query(query)
        where = filters.date_where()
        if filters.source:
            sources = sorted({s for s in lex.sources if filters.matches_source(s)})
            if not sources:
                return []
            clause = {"source": {"$in": sources}}
            where = {"$and": [where, clause]} if where else clause
        return self.store.query(vector, n, where)

    def _sparse(
        self, query: str, n: int, filters: Filters, lex: lexical.LexicalIndex
    ) -> list[tuple[str, float]]:
        mask = None
        if filters.active:
            allowed = np.array([filters.matches_source(s) for s in lex.sources], dtype=bool)
            if filters.after or filters.before:
                pub = lex.published
                allowed &= pub > 0
                if filters.after:
                    allowed &= pub >= date_ordinal(filters.after)
                if filters.before:
                    allowed &= pub <= date_ordinal(filters.before)
            if not allowed.any():
                return []
            mask = allowed.astype(np.float32)
        return lex.search(query, n, mask)

    @staticmethod
    def _fuse(
        dense: list[tuple[StoredChunk, float]], sparse: list[tuple[str, float]]
    ) -> list[tuple[str, float]]:
        scores: dict[str, float] = {}
        for rank, (c, _) in enumerate(dense):
            scores[c.chunk_id] = scores.get(c.chunk_id, 0.0) + 1.0 / (RRF_K + rank + 1)
        for rank, (cid, _) in enumerate(sparse):
            scores[cid] = scores.get(cid, 0.0) + 1.0 / (RRF_K + rank + 1)
        return sorted(scores.items(), key=lambda kv: -kv[1])


def dense_rank(dense: list[tuple[StoredChunk, float]], cid: str) -> float:
    for c, sim in dense:
        if c.chunk_id == cid:
            return sim
    return 0.0


def sparse_rank(sparse: list[tuple[str, float]], cid: str) -> float:
    for other, score in sparse:
        if other == cid:
            return score
    return 0.0


def _to_passage(c: StoredChunk, score: float, dense: float, bm25: float) -> Passage:
    return Passage(
        source=c.source,
        chunk_id=c.chunk_id,
        start=c.start,
        end=c.end,
        text=c.text,
        title=c.title,
        published=c.published,
        score=score,
        scores={"rrf": score, "dense": dense, "bm25": bm25},
    )


def merge_neighbours(passages: list[Passage]) -> list[Passage]:
    """Fold passages that overlap an earlier (better) one from the same file into it.

    Overlapping chunks share sentences; showing both would spend the reader's (and
    the LLM's) budget on the same text twice.  The better-ranked passage is widened
    to cover both, keeping its rank.
    """
    kept: list[Passage] = []
    for p in passages:
        for i, q in enumerate(kept):
            if q.source == p.source and p.start < q.end and q.start < p.end:
                if p.start < q.start or p.end > q.end:
                    kept[i] = _union(q, p)
                break
        else:
            kept.append(p)
    return kept


def _union(a: Passage, b: Passage) -> Passage:
    start, end = min(a.start, b.start), max(a.end, b.end)
    first, second = (a, b) if a.start <= b.start else (b, a)
    overlap = first.end - second.start
    text = first.text + second.text[overlap:] if second.end > first.end else first.text
    return replace(a, start=start, end=end, text=text)
