"""The keyword (BM25) side: an SQLite FTS5 index beside the store, changed with it.

One database per collection, ``RAG_HOME/keyword/<collection>.sqlite3`` (with a
Chroma server, the server's address is part of the name).  The indexer writes each
file's chunks into it in the same step as it writes them to Chroma (the new version
in, the old one out, one transaction per group of files) and removes deleted files'
chunks, so indexing a file costs that file, whatever the size of the archive.
SQLite's FTS5 keeps the inverted index (it merges its segments itself), in WAL mode:
searching processes read while the indexer writes and never wait for it.

The text indexed is ``tokenize``'s stemmed tokens, joined by spaces and split again
by FTS5's ``ascii`` tokenizer, which keeps every token whole.  Scores are not FTS5's
own ``bm25()`` (its k1 and b are fixed at 1.2 and 0.75): each query term's postings
(term frequency per chunk) are read through ``fts5vocab`` and scored here with
Lucene's BM25 (k1 0.9, b 0.4), the same numbers the in-memory bm25s index gave.

Staying in step.  The database records the store ``generation`` it was last
brought to.  A process that finds it behind (a run killed between its Chroma write
and this one, an indexer on another machine, a damaged or deleted database) brings
it up to date from the store's manifest: only files whose content hash differs are
read back from Chroma and indexed again, so a missing database costs one full build
and a database a few files behind costs those files.  One process at a time does
that, under ``<database>.lock`` (the indexer holds it for its whole run); a search
finding the lock taken searches the database as it stands, and a searcher that gets
it catches up in a background thread while it keeps serving.  Only a database that
has never been filled makes a search wait, once.
"""

from __future__ import annotations

import contextlib
import math
import sqlite3
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from filelock import Timeout

from rag.config import Settings
from rag.keyword_db import KeywordDatabase, database_path
from rag.schema import ChunkFilter, date_ordinal
from rag.tokens import tokenize

if TYPE_CHECKING:
    from rag.store import FileRecord, Store

# k1 and b as Anserini uses them for passage retrieval (Lin et al.); short passages
# want less length normalisation than bm25s' document defaults (1.5, 0.75).
BM25_K1 = 0.9
BM25_B = 0.4

# Chunks read back from the store and written per transaction while catching up.
BATCH = 2000


def indexed_text(title: str, start: int, text: str) -> str:
    """What is indexed for a chunk: its text, and the article's title on its first chunk."""
    return f"{title}\n{text}" if start == 0 else text


@dataclass(frozen=True)
class KeywordFile:
    """One version of one file, as the keyword index takes it."""

    source: str
    content_hash: str
    published: int  # YYYYMMDD, 0 when undated
    chunks: Sequence[tuple[str, str]]  # (chunk id, indexed_text)

    @classmethod
    def of(
        cls,
        source: str,
        content_hash: str,
        published: str | None,
        title: str,
        chunks: Iterable[Any],
    ) -> KeywordFile:
        """A file from its chunks (anything with ``chunk_id``, ``start`` and ``text``)."""
        texts = tuple((c.chunk_id, indexed_text(title, c.start, c.text)) for c in chunks)
        return cls(source, content_hash, date_ordinal(published), texts)


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


class KeywordIndex(KeywordDatabase):
    """The keyword database of one collection, shared by every thread of a process."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self._rows = _Rows()
        self._files: tuple[int, FileTable] | None = None  # (version, table)
        self._catching_up = False

    def _forget(self) -> None:
        super()._forget()
        with self._lock:
            self._rows = _Rows()
            self._files = None

    # --- reading -------------------------------------------------------------------
    def generation(self) -> int | None:
        """The store generation the database was last brought to; None if never filled."""
        value = self._meta(self._con(), "generation")
        return None if value is None else int(value)

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

    def put(self, files: Iterable[KeywordFile]) -> None:
        """Index these files' versions, replacing whatever version of them was indexed."""
        prepared = [
            (f, [(cid, tokenize(text)) for cid, text in f.chunks]) for f in files
        ]  # tokenized before the transaction starts
        with self._transaction() as con:
            for f, chunks in prepared:
                self._drop(con, f.source)
                fid = self._add_file(con, f, complete=True)
                self._add_chunks(con, fid, chunks)

    def remove(self, sources: Iterable[str]) -> None:
        """Forget these files."""
        with self._transaction() as con:
            for source in sources:
                self._drop(con, source)

    def mark(self, generation: int) -> None:
        """Record that the database holds what the store held at ``generation``."""
        with self._transaction() as con:
            con.execute("INSERT OR REPLACE INTO meta VALUES ('generation', ?)", (generation,))

    @staticmethod
    def _add_file(con: sqlite3.Connection, f: KeywordFile, complete: bool) -> int:
        cur = con.execute(
            "INSERT INTO files(source, content_hash, published, complete) VALUES (?, ?, ?, ?)",
            (f.source, f.content_hash, f.published, int(complete)),
        )
        return int(cur.lastrowid or 0)

    @staticmethod
    def _add_chunks(
        con: sqlite3.Connection, file_id: int, chunks: Sequence[tuple[str, list[str]]]
    ) -> None:
        terms = []
        for cid, tokens in chunks:
            cur = con.execute(
                "INSERT INTO chunks(chunk_id, file_id, length) VALUES (?, ?, ?)",
                (cid, file_id, len(tokens)),
            )
            terms.append((cur.lastrowid, " ".join(tokens)))
        con.executemany("INSERT INTO terms(rowid, tokens) VALUES (?, ?)", terms)
        _count(con, len(terms), sum(len(t) for _, t in chunks))

    @staticmethod
    def _drop(con: sqlite3.Connection, source: str) -> None:
        row = con.execute("SELECT id FROM files WHERE source = ?", (source,)).fetchone()
        if row is None:
            return
        gone = con.execute("SELECT id, length FROM chunks WHERE file_id = ?", row).fetchall()
        con.executemany("DELETE FROM terms WHERE rowid = ?", [(i,) for i, _ in gone])
        con.execute("DELETE FROM chunks WHERE file_id = ?", row)
        con.execute("DELETE FROM files WHERE id = ?", row)
        _count(con, -len(gone), -sum(n for _, n in gone))

    def catch_up(self, store: Store, records: Mapping[str, FileRecord] | None = None) -> int:
        """Bring the database to the store's manifest; returns the files changed.

        Only files whose content hash differs from the manifest's (or that a killed
        catch-up left half-done) are read back from the store.  Files the manifest
        holds as ``pending`` (being replaced right now, or by a killed run) are left
        as they are: the indexer replaces them.  The caller holds ``writing()``.
        """
        generation = store.generation  # before reading: a later change is caught next time
        records = store.file_records() if records is None else records
        con = self._con()
        have = {
            str(s): (str(h), bool(c))
            for s, h, c in con.execute("SELECT source, content_hash, complete FROM files")
        }
        gone = [s for s in have if s not in records]
        stale = {
            s: r
            for s, r in records.items()
            if r.state == "done" and have.get(s) != (r.content_hash, True)
        }
        if gone and len(gone) == len(have):  # a rebuilt store: starting afresh is quicker
            self._replace()
        elif gone:
            self.remove(gone)
        if stale:
            self._read_back(store, stale, everything=len(stale) > max(100, len(records) // 4))
        self.mark(generation)
        return len(gone) + len(stale)

    def _read_back(self, store: Store, stale: Mapping[str, FileRecord], everything: bool) -> None:
        """Index the chunks the store holds for these files' manifest versions."""
        from rag.chunking import chunk_id

        # Chunk ids carry the file's content hash: the manifest's version is their prefix.
        prefix = {
            s: chunk_id(s, r.content_hash, 0).rsplit("-", 1)[0] + "-" for s, r in stale.items()
        }
        with self._transaction() as con:
            ids = {}
            for s, r in stale.items():
                self._drop(con, s)
                f = KeywordFile(s, r.content_hash, date_ordinal(r.published), ())
                ids[s] = self._add_file(con, f, complete=False)
        if everything:
            chunks: Iterable[Any] = store.iter_chunks()
        else:
            names = sorted(stale)
            chunks = (
                c
                for i in range(0, len(names), 100)
                for c in store.iter_chunks(ChunkFilter(sources=tuple(names[i : i + 100])))
            )
        batch: dict[int, list[tuple[str, list[str]]]] = {}
        pending = 0
        for c in chunks:
            if c.source in ids and c.chunk_id.startswith(prefix[c.source]):
                tokens = tokenize(indexed_text(c.title, c.start, c.text))
                batch.setdefault(ids[c.source], []).append((c.chunk_id, tokens))
                pending += 1
            if pending >= BATCH:
                self._write_rows(batch)
                batch, pending = {}, 0
        self._write_rows(batch)
        with self._transaction() as con:
            self._in(con, "UPDATE files SET complete = 1 WHERE id IN ", list(ids.values()))

    def _write_rows(self, batch: Mapping[int, Sequence[tuple[str, list[str]]]]) -> None:
        if batch:
            with self._transaction() as con:
                for fid, chunks in batch.items():
                    self._add_chunks(con, fid, chunks)


def _count(con: sqlite3.Connection, chunks: int, tokens: int) -> None:
    con.execute("UPDATE meta SET value = value + ? WHERE key = 'chunks'", (chunks,))
    con.execute("UPDATE meta SET value = value + ? WHERE key = 'tokens'", (tokens,))


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
        _fill(index, store)
    else:
        _catch_up_soon(index, store)
    return index


def _fill(index: KeywordIndex, store: Store) -> None:
    while True:
        try:
            with index.writing(wait=False):
                if index.generation() is None:
                    index.catch_up(store)
                return
        except Timeout:
            pass
        # Another process holds the lock: an indexer (which fills the database
        # before anything else) or a searcher filling it.  Use its work when done.
        with contextlib.suppress(sqlite3.DatabaseError):
            if index.generation() is not None:
                return
        threading.Event().wait(0.2)


def _catch_up_soon(index: KeywordIndex, store: Store) -> None:
    with index._lock:
        if index._catching_up:
            return
        index._catching_up = True

    def work() -> None:
        try:
            with index.writing(wait=False):
                if index.generation() != store.generation:
                    index.catch_up(store)
        except Exception:  # derived data: the next search that finds it behind tries again
            pass
        finally:
            with index._lock:
                index._catching_up = False

    threading.Thread(target=work, name="keyword-catch-up", daemon=True).start()
