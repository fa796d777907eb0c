"""The keyword (BM25) side's ranking: scores, the best hits, IDF; each process's handle.

One database per collection, ``RAG_HOME/keyword/<collection>.sqlite3`` (with a
Chroma server, the server's address is part of the name): ``rag/keyword_db.py``
holds the file, ``rag/keyword_updates.py`` changes it with the store and keeps it in
step.  SQLite's FTS5 keeps the inverted index (it merges its segments itself), in
WAL mode: searching processes read while the indexer writes and never wait for it.

The text indexed is ``tokenize``'s stemmed tokens, joined by spaces and split again
by FTS5's ``ascii`` tokenizer, which keeps every token whole.  Scores are not FTS5's
own ``bm25()`` (its k1 and b are fixed at 1.2 and 0.75): each query term's postings
(term frequency per chunk) are read through ``fts5vocab`` and scored here with
Lucene's BM25 (k1 0.9, b 0.4), the same numbers the in-memory bm25s index gave.
"""

from __future__ import annotations

import math
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from rag.config import Settings
from rag.keyword_db import database_path
from rag.keyword_updates import KeywordUpdates, catch_up_soon, fill
from rag.tokens import tokenize

if TYPE_CHECKING:
    from rag.store import Store

# k1 and b as Anserini uses them for passage retrieval (Lin et al.); short passages
# want less length normalisation than bm25s' document defaults (1.5, 0.75).
BM25_K1 = 0.9
BM25_B = 0.4


@dataclass(frozen=True)
class FileTable:
    """The indexed files: ids, sources and dates, aligned; what filters choose from."""

    ids: np.ndarray
    sources: list[str]
    published: np.ndarray  # YYYYMMDD, 0 when undated


class Hits:
    """One query's BM25 score for every chunk holding one of its terms."""

    def __init__(self, index: KeywordIndex, rows: np.ndarray, scores: np.ndarray) -> None:
        self._index = index
        self._rows = rows  # chunk row ids, sorted
        self._scores = scores

    def top(self, k: int) -> list[tuple[str, float]]:
        """(chunk id, score) of the ``k`` best positive scores, best first."""
        picked = top(self._scores, k)
        names = self._index.chunk_ids([int(self._rows[i]) for i in picked])
        return [
            (names[r], float(self._scores[i])) for i in picked if (r := int(self._rows[i])) in names
        ]

    def of(self, chunk_ids: Sequence[str]) -> dict[str, float]:
        """The score of each of these chunks (0 for those holding no query term)."""
        out = dict.fromkeys(chunk_ids, 0.0)
        for cid, row in self._index.row_ids(chunk_ids).items():
            i = int(np.searchsorted(self._rows, row))
            if i < len(self._rows) and self._rows[i] == row:
                out[cid] = float(self._scores[i])
        return out


def top(scores: np.ndarray, k: int) -> list[int]:
    """Indices of the ``k`` highest positive scores, best first."""
    k = min(k, len(scores))
    if k <= 0:
        return []
    part = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
    part = part[scores[part] > 0]
    return [int(i) for i in part[np.argsort(-scores[part], kind="stable")]]


@dataclass
class _Rows:
    """Per chunk row id: its token count and file id (rows are only ever appended)."""

    upto: int = 0
    length: np.ndarray = field(default_factory=lambda: np.zeros(1, np.int32))
    file: np.ndarray = field(default_factory=lambda: np.zeros(1, np.int64))


class KeywordIndex(KeywordUpdates):
    """The keyword database of one collection, shared by every thread of a process."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self._rows = _Rows()
        self._files: tuple[int, FileTable] | None = None  # (version, table)

    def _forget(self) -> None:
        super()._forget()
        with self._lock:
            self._rows = _Rows()
            self._files = None

    # --- reading -------------------------------------------------------------------
    def count(self) -> int:
        """Chunks indexed."""
        return int(self._meta(self._con(), "chunks") or 0)

    def files(self) -> FileTable:
        """The indexed files (read again only after a write)."""
        con = self._con()
        version = int(self._meta(con, "version") or 0)
        cached = self._files
        if cached is not None and cached[0] == version:
            return cached[1]
        rows = con.execute("SELECT id, source, published FROM files ORDER BY source").fetchall()
        table = FileTable(
            np.array([r[0] for r in rows], dtype=np.int64),
            [str(r[1]) for r in rows],
            np.array([r[2] for r in rows], dtype=np.int64),
        )
        self._files = (version, table)
        return table

    def scores(self, query: str, allowed: np.ndarray | None = None) -> Hits:
        """BM25 of every chunk holding a query term; ``allowed``: file ids to keep (None: all)."""
        terms = list(dict.fromkeys(tokenize(query)))
        con = self._con()
        postings: list[tuple[np.ndarray, np.ndarray]] = []  # per term: chunk rows, term counts
        con.execute("BEGIN")  # one snapshot for the counts and the postings
        try:
            n = int(self._meta(con, "chunks") or 0)
            total = int(self._meta(con, "tokens") or 0)
            for t in terms if n else []:
                # One row per occurrence, in chunk order; one string is far quicker to
                # carry out of SQLite than a row per chunk.
                found = con.execute(
                    "SELECT group_concat(doc) FROM postings WHERE term = ?", (t,)
                ).fetchone()[0]
                if found:
                    rows_of = np.fromstring(found, dtype=np.int64, sep=",")
                    postings.append(np.unique(rows_of, return_counts=True))
            rows = self._rows_upto(con, max((int(p[0][-1]) for p in postings), default=0))
        finally:
            con.execute("COMMIT")
        if not postings:
            return Hits(self, np.zeros(0, np.int64), np.zeros(0, np.float64))
        avg = total / n if total else 1.0
        ids, parts = [], []
        for chunk_rows, counts in postings:
            df = len(chunk_rows)
            idf = math.log(1.0 + (n - df + 0.5) / (df + 0.5))
            tf = counts.astype(np.float64)
            norm = BM25_K1 * ((1 - BM25_B) + BM25_B * rows.length[chunk_rows] / avg)
            ids.append(chunk_rows)
            parts.append(idf * tf / (norm + tf))
        unique, where = np.unique(np.concatenate(ids), return_inverse=True)
        scores = np.bincount(where.reshape(-1), weights=np.concatenate(parts))
        if allowed is not None:
            scores = scores * np.isin(rows.file[unique], allowed)
        return Hits(self, unique, scores)

    def search(
        self, query: str, k: int, allowed: np.ndarray | None = None
    ) -> list[tuple[str, float]]:
        """(chunk id, BM25 score) best first; ``allowed`` (file ids) filters chunks."""
        return self.scores(query, allowed).top(k)

    def idf(self, tokens: Sequence[str]) -> dict[str, float]:
        """Inverse document frequency of each indexed token (BM25's smoothed form)."""
        con = self._con()
        n = self.count()
        out = {}
        for t in dict.fromkeys(tokens):
            row = con.execute("SELECT doc FROM doc_freq WHERE term = ?", (t,)).fetchone()
            if row and row[0]:
                df = float(row[0])
                out[t] = float(np.log(1.0 + (n - df + 0.5) / (df + 0.5)))
        return out

    def chunk_ids(self, rows: Sequence[int]) -> dict[int, str]:
        return dict(self._in(self._con(), "SELECT id, chunk_id FROM chunks WHERE id IN ", rows))

    def row_ids(self, chunk_ids: Sequence[str]) -> dict[str, int]:
        sql = "SELECT chunk_id, id FROM chunks WHERE chunk_id IN "
        return dict(self._in(self._con(), sql, chunk_ids))

    def _rows_upto(self, con: sqlite3.Connection, need: int) -> _Rows:
        """The row table, read on as far as row ``need`` (new rows only)."""
        with self._lock:
            rows = self._rows
            if need <= rows.upto:
                return rows
            found = np.array(
                con.execute(
                    "SELECT id, length, file_id FROM chunks WHERE id > ? ORDER BY id",
                    (rows.upto,),
                ).fetchall(),
                dtype=np.int64,
            ).reshape(-1, 3)
            last = int(found[-1, 0]) if len(found) else rows.upto
            size = max(len(rows.length), last + 1)
            if size > len(rows.length):
                size = max(size, len(rows.length) * 3 // 2)
            length = np.zeros(size, np.int32)
            file = np.zeros(size, np.int64)
            length[: len(rows.length)] = rows.length
            file[: len(rows.file)] = rows.file
            length[found[:, 0]] = found[:, 1]
            file[found[:, 0]] = found[:, 2]
            self._rows = _Rows(last, length, file)
            return self._rows


# --- the reader's way in ------------------------------------------------------------
_indexes: dict[Path, KeywordIndex] = {}
_indexes_lock = threading.Lock()


def open_index(settings: Settings) -> KeywordIndex:
    """This process's handle on the keyword database of ``settings``' collection."""
    path = database_path(settings).resolve()
    with _indexes_lock:
        if path not in _indexes:
            _indexes[path] = KeywordIndex(settings)
        return _indexes[path]


def refresh(store: Store, settings: Settings) -> KeywordIndex:
    """The keyword index, in step with the store or being brought there.

    Up to date: returned as it is (the common case: one small read).  Behind: a
    background thread catches up while this search uses the database as it stands.
    Never filled, damaged or deleted: filled now, by whichever process takes the lock
    first (the others wait for it and then use its work).
    """
    index = open_index(settings)
    if index._changed_file():
        index._forget()
    generation = store.generation
    try:
        have = index.generation()
    except sqlite3.DatabaseError:
        have = None
    if have == generation:
        return index
    if have is None:
        fill(index, store)
    else:
        catch_up_soon(index, store)
    return index
