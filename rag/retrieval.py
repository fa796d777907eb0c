"""Question -> Passages: dense + BM25 fused by score, reranked, filtered, de-duplicated.

Dense similarity finds paraphrases; BM25 finds the question's exact words (names,
numbers, rare terms) that a small embedding model blurs.  Each side proposes its
best chunks; every candidate then gets both scores (its cosine similarity and its
BM25 score, never a guess for the side that did not propose it), and they are fused
as a weighted sum, BM25 scaled by the query's best BM25 score.  Unlike
reciprocal-rank fusion this keeps how far ahead a candidate is, which matters when
one side is sure (measured: eval/reports/retrieval.md).  A reranker (rag/rerank.py)
then reorders the best candidates, and overlapping chunks of one file are cut down
to the text a better passage does not already show, so the top k are k different
pieces of evidence.  Every passage keeps its file and exact character offsets.
"""

from __future__ import annotations

import contextlib
import fnmatch
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import numpy as np

from rag import lexical, wire_copies
from rag.chunking import chunk_id
from rag.config import Settings
from rag.documents import page_at
from rag.embeddings import Embedder
from rag.errors import RagError
from rag.lists import lead_in_above, opens_mid_list
from rag.rerank import Reranker, RerankerError, make_reranker
from rag.store import ChunkFilter, Store, StoredChunk, StoreError, date_ordinal
from rag.tables import cells, header_above, is_rule

# Weight of BM25 (scaled to [0, 1] by the query's best score) against cosine
# similarity, chosen on the tune half of the SQuAD questions (eval/retrieval_bench.py).
BM25_WEIGHT = 0.4
# Candidates proposed by each side, and how many of the fused best are reranked.
POOL = 40
RERANK_POOL = 20
# A passage more than this share of which a better one already shows is dropped;
# otherwise it is cut down to the part not shown yet.
MAX_COVERED = 0.5


class RetrievalError(RagError):
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
        if pattern in (source, name):  # a name holding [ ] or * is itself, not a glob
            return True
        return fnmatch.fnmatchcase(source, pattern) or fnmatch.fnmatchcase(name, pattern)

    def chunk_filter(self, sources: Sequence[str] | None = None) -> ChunkFilter:
        """The store's filter: these dates, and ``sources`` (the files matching ``source``)."""
        listed = tuple(sources) if sources is not None else None
        return ChunkFilter(sources=listed, after=self.after, before=self.before)


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
    page: int | None = None  # PDFs: the 1-based page the passage starts on; else None
    page_breaks: tuple[int, ...] = ()  # offsets in the file where later pages start
    author: str | None = None
    outlet: str | None = None
    copies: tuple[str, ...] = ()  # other files carrying the same wire story (rag/wire_copies.py)

    def page_at(self, offset: int) -> int | None:
        """The page of ``offset`` (in the file's text) inside this passage; None if no pages."""
        return page_at(self.page, tuple(self.page_breaks), offset)

    @property
    def about(self) -> str:
        """What the reader is told of the passage's article besides its text: title,
        outlet, author and publication date (ISO and written out, "13 June 2025"). A
        sentence may state these ("as of 13 June", "Reuters reported") and be backed."""
        parts = [self.title, self.outlet or "", self.author or ""]
        if self.published:
            parts.append(self.published)
            with contextlib.suppress(ValueError):
                day = date.fromisoformat(self.published[:10])
                parts.append(f"{day.day} {day:%B %Y}")
        return " ".join(x for x in parts if x)

    @property
    def last_page(self) -> int | None:
        """The page the passage ends on (a passage may run over a page break)."""
        return self.page_at(max(self.start, self.end - 1))

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
            "author": self.author,
            "outlet": self.outlet,
            "copies": list(self.copies),
            "page": self.page,
            "scores": {k: round(v, 6) for k, v in self.scores.items()},
        }


@dataclass
class Candidate:
    """One chunk with its scores while it is being ranked."""

    chunk: StoredChunk
    dense: float  # cosine similarity to the query
    bm25: float  # raw BM25 score
    fused: float = 0.0
    rerank: float | None = None

    @property
    def score(self) -> float:
        return self.fused if self.rerank is None else self.rerank


class Retriever:
    """Hybrid search over one store; cheap to call many times (model loaded once)."""

    def __init__(
        self,
        settings: Settings,
        store: Store | None = None,
        embedder: Embedder | None = None,
        reranker: Reranker | str | None = "settings",
    ) -> None:
        self.settings = settings
        self.store = store or Store(settings)
        self.embedder = embedder or Embedder(
            settings.embedding_model, settings.embedding_batch_size
        )
        self.reranker: Reranker | None = make_reranker(settings)
        self.timings: dict[str, float] = {}  # seconds spent per stage by the last search

    def search(
        self, query: str, k: int | None = None, filters: Filters | None = None
    ) -> list[Passage]:
        k = self.settings.top_k if k is None else k
        filters = filters or Filters()
        query = query.strip()
        if not query:
            raise RetrievalError("The question is empty; type a question.")
        if k < 1:
            raise RetrievalError("-k must be at least 1.")
        clock = _Clock()
        lex = lexical.refresh(self.store, self.settings)  # in step with the store
        if not lex.count():
            raise RetrievalError(
                "The index is empty; add articles to the folder and run `rag index`."
            )
        mask = self._mask(filters, lex)
        if mask is not None and not len(mask):
            raise RetrievalError(
                "No indexed article matches those filters; check --source and the dates."
            )
        clock.lap("bm25_refresh")
        vector = np.asarray(self.embedder.embed_query(query), dtype=np.float32)
        clock.lap("embed")
        candidates = self.candidates(query, vector, filters, lex, mask, max(POOL, 4 * k), clock)
        ranked = self.rank(query, candidates, lex, max(RERANK_POOL, 2 * k))
        clock.lap("rerank")
        # One wire story in several outlets is one piece of evidence: its best copy stays.
        pool = [(c.chunk.source, c.chunk.text) for c in ranked[: max(RERANK_POOL, 2 * k)]]
        copy_of = wire_copies.find_copies(pool, self._article_texts)
        ranked = [c for c in ranked if c.chunk.source not in copy_of]
        passages = wire_copies.with_copies(distinct_passages(ranked, k), copy_of)
        clock.lap("wire_copies")
        self.timings = clock.laps
        return passages

    def continued(self, passages: Sequence[Passage]) -> list[Passage]:
        """``passages`` with the first one run on into the chunk that follows it in its
        article, as far as no other passage shows that text already.

        An article often introduces a list in one chunk and gives it in the next ("...
        presented an uncompromising memorandum." / "Among its demands: ..."); the best
        passage's continuation is the likeliest place for the answer when the passage
        itself only leads up to it.  The answer prompt is trimmed to the sentences
        nearest the question within a fixed budget (``rag.prompting.select_context``),
        so the added text only competes for the space; it does not lengthen the prompt.
        """
        if not passages:
            return list(passages)
        first = passages[0]
        if any(p.source == first.source and p.start < first.end < p.end for p in passages[1:]):
            return list(passages)
        try:  # two lookups by id, not a read of the whole article
            own = self.store.get_chunks([first.chunk_id])
            if not own:
                return list(passages)
            following = chunk_id(own[0].source, own[0].content_hash, own[0].index + 1)
            found = self.store.get_chunks([following])
        except StoreError:
            return list(passages)
        after = found[0] if found else None
        if after is None or not after.start <= first.end < after.end:
            return list(passages)
        # Up to the next text another passage of the article already shows.
        end = min(
            [after.end]
            + [p.start for p in passages[1:] if p.source == first.source and p.start >= first.end]
        )
        while end > first.end and after.text[end - 1 - after.start].isspace():
            end -= 1
        if end <= first.end:
            return list(passages)
        text = first.text + after.text[first.end - after.start : end - after.start]
        breaks = tuple(b for b in after.page_breaks if first.end <= b < end)
        longer = replace(first, end=end, text=text, page_breaks=first.page_breaks + breaks)
        return [longer, *passages[1:]]

    def headed(self, passages: Sequence[Passage]) -> list[Passage]:
        """``passages`` with each one that starts inside a Markdown table run back to
        the table's header row, and each that starts inside a list run back to the line
        introducing it, when its own chunk or the one before holds it.

        A row without its header does not say which column is whose (``rag.tables``);
        the prompt and the verifier read a row with its header's names.  An item without
        its lead-in does not say what it is an item of (``rag.lists``).  Only the
        passages whose first line is a table row or a list item are looked up, by id."""
        # The passages to look up, each with how to find its start: a header or a lead-in.
        heads: dict[int, Callable[[str, int], int | None]] = {}
        for i, p in enumerate(passages):
            if _opens_mid_table(p.text):
                heads[i] = header_above
            elif opens_mid_list(p.text):
                heads[i] = lead_in_above
        if not heads:
            return list(passages)
        out = list(passages)
        try:
            own = {
                c.chunk_id: c for c in self.store.get_chunks([passages[i].chunk_id for i in heads])
            }
            before = {
                c.chunk_id: c
                for c in self.store.get_chunks(
                    [chunk_id(c.source, c.content_hash, c.index - 1) for c in own.values()]
                )
            }
        except StoreError:
            return out
        for i, above in heads.items():
            p = passages[i]
            c = own.get(p.chunk_id)
            if c is None:
                continue
            previous = before.get(chunk_id(c.source, c.content_hash, c.index - 1))
            base, text, breaks = c.start, c.text, c.page_breaks
            if previous is not None and previous.start < c.start <= previous.end:
                # The chunks overlap: the article's text from the previous chunk's start.
                base, breaks = previous.start, previous.page_breaks + c.page_breaks
                text = previous.text + c.text[previous.end - c.start :]
            elif previous is not None and 0 < c.start - previous.end <= 2 and p.start == c.start:
                # The chunks meet at a line break (an item starts a line): the break between.
                base, breaks = previous.start, previous.page_breaks + c.page_breaks
                text = previous.text + "\n" * (c.start - previous.end) + c.text
            if not base <= p.start <= base + len(text):
                continue
            at = above(text, p.start - base)
            if at is None or any(base + at <= b < p.start for b in breaks):
                continue  # no header (lead-in), or one on another page
            out[i] = replace(p, start=base + at, text=text[at : p.start - base] + p.text)
        return out

    # --- stages --------------------------------------------------------------------

    def candidates(
        self,
        query: str,
        vector: np.ndarray,
        filters: Filters,
        lex: lexical.KeywordIndex,
        mask: np.ndarray | None,
        pool: int,
        clock: _Clock | None = None,
    ) -> list[Candidate]:
        """The union of both sides' best chunks, each with both of its scores."""
        clock = clock or _Clock()
        dense = self._dense(vector, pool, filters, lex)
        clock.lap("dense")
        hits = lex.scores(query, mask)
        top_bm25 = dict(hits.top(pool))
        clock.lap("bm25")
        best_bm25 = max(top_bm25.values(), default=0.0)
        out: dict[str, Candidate] = {}
        dense_bm25 = hits.of([c.chunk_id for c, _ in dense])
        for c, sim in dense:
            out[c.chunk_id] = Candidate(c, sim, dense_bm25[c.chunk_id])
        missing = [cid for cid in top_bm25 if cid not in out]
        for c, emb in self._fetch(missing):
            sim = float(np.dot(vector, emb)) if emb is not None else 0.0
            out[c.chunk_id] = Candidate(c, sim, top_bm25[c.chunk_id])
        for cand in out.values():
            scaled = cand.bm25 / best_bm25 if best_bm25 > 0 else 0.0
            cand.fused = BM25_WEIGHT * scaled + (1 - BM25_WEIGHT) * cand.dense
        clock.lap("fuse")
        return sorted(out.values(), key=lambda c: -c.fused)

    def rank(
        self, query: str, candidates: list[Candidate], lex: lexical.KeywordIndex, pool: int
    ) -> list[Candidate]:
        """Rerank the best ``pool`` fused candidates; the rest keep their fused order."""
        if self.reranker is None or not candidates:
            return candidates
        head, tail = candidates[:pool], candidates[pool:]
        try:
            new = self.reranker.rerank(
                query, [c.chunk.text for c in head], [c.fused for c in head], lex.idf
            )
        except RerankerError as exc:
            raise RetrievalError(str(exc)) from None
        for cand, score in zip(head, new, strict=True):
            cand.rerank = score
        head.sort(key=lambda c: -c.score)
        if tail:  # keep reranked scores above the unreranked ones
            floor = min(c.score for c in head)
            for cand in tail:
                cand.rerank = min(cand.fused, floor) - 1e-9
        return head + tail

    def _dense(
        self, vector: np.ndarray, n: int, filters: Filters, lex: lexical.KeywordIndex
    ) -> list[tuple[StoredChunk, float]]:
        sources = None
        if filters.source:
            sources = [s for s in lex.files().sources if filters.matches_source(s)]
        return self.store.query(vector.tolist(), n, filters.chunk_filter(sources))

    def _fetch(self, ids: Sequence[str]) -> list[tuple[StoredChunk, np.ndarray | None]]:
        """Chunks proposed by BM25 alone, with their vectors for the dense score."""
        try:
            found = self.store.get_chunks_with_vectors(ids)
        except StoreError:
            # Written by an indexing run still going on in another process: the
            # keyword index has them already, this process's vector index not until the
            # run ends (the embedded store).  Their dense score counts as 0 meanwhile.
            return [(c, None) for c in self.store.get_chunks(ids)]
        return [  # a chunk deleted by a concurrent re-index is left out
            (c, None if e is None else np.asarray(e, np.float32)) for c, e in found
        ]

    def _article_texts(self, sources: list[str]) -> dict[str, str]:
        """These articles' whole texts, from their stored chunks (for wire-copy checks)."""
        chunks = self.store.iter_chunks(ChunkFilter(sources=tuple(sources)))
        return wire_copies.article_texts(chunks)

    @staticmethod
    def _mask(filters: Filters, lex: lexical.KeywordIndex) -> np.ndarray | None:
        """The ids of the indexed files the filters allow; None when unfiltered."""
        if not filters.active:
            return None
        files = lex.files()
        allowed = np.array([filters.matches_source(s) for s in files.sources], dtype=bool)
        if filters.after or filters.before:
            pub = files.published
            allowed &= pub > 0
            if filters.after:
                allowed &= pub >= date_ordinal(filters.after)
            if filters.before:
                allowed &= pub <= date_ordinal(filters.before)
        return files.ids[allowed]


class _Clock:
    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = self.laps.get(name, 0.0) + now - self._last
        self._last = now


def distinct_passages(ranked: Sequence[Candidate], k: int) -> list[Passage]:
    """The first ``k`` passages, each showing text no better passage already shows.

    Neighbouring chunks share sentences.  A chunk mostly (more than MAX_COVERED)
    inside better-ranked passages of its file is dropped; otherwise it is cut to its
    largest part they do not show, with exact offsets, so no text is spent twice.
    """
    shown: dict[str, list[tuple[int, int]]] = {}
    out: list[Passage] = []
    for cand in ranked:
        c = cand.chunk
        spans = shown.setdefault(c.source, [])
        start, end = _uncovered(c, spans)
        if end - start <= 0 or (end - start) < (1 - MAX_COVERED) * (c.end - c.start):
            continue
        spans.append((start, end))
        text = c.text[start - c.start : end - c.start]
        out.append(
            Passage(
                source=c.source,
                chunk_id=c.chunk_id,
                start=start,
                end=end,
                text=text,
                title=c.title,
                published=c.published,
                author=c.author,
                outlet=c.outlet,
                page=page_at(c.page, c.page_breaks, start),
                page_breaks=tuple(b for b in c.page_breaks if start < b < end),
                score=cand.score,
                scores={
                    "dense": cand.dense,
                    "bm25": cand.bm25,
                    "fused": cand.fused,
                    **({"rerank": cand.rerank} if cand.rerank is not None else {}),
                },
            )
        )
        if len(out) >= k:
            break
    return out


def _uncovered(c: StoredChunk, spans: list[tuple[int, int]]) -> tuple[int, int]:
    """The largest part of chunk ``c`` outside ``spans``, whitespace trimmed."""
    pieces = [(c.start, c.end)]
    for a, b in spans:
        nxt = []
        for x, y in pieces:
            if b <= x or a >= y:
                nxt.append((x, y))
                continue
            if x < a:
                nxt.append((x, a))
            if b < y:
                nxt.append((b, y))
        pieces = nxt
    if not pieces:
        return c.start, c.start
    x, y = max(pieces, key=lambda p: p[1] - p[0])
    text = c.text
    while x < y and text[x - c.start].isspace():
        x += 1
    while y > x and text[y - 1 - c.start].isspace():
        y -= 1
    return x, y


def _opens_mid_table(text: str) -> bool:
    """Whether ``text`` starts with a table row that is not its table's header."""
    lines = text.lstrip().split("\n", 2)
    if cells(lines[0]) is None or is_rule(lines[0]):
        return False
    return not (len(lines) > 1 and is_rule(lines[1]))
