"""The keyword database changed with the store: files put and removed, and kept in step.

The indexer writes each file's chunks into the database in the same step as it
writes them to Chroma (the new version in, the old one out, one transaction per
group of files) and removes deleted files' chunks, so indexing a file costs that
file, whatever the size of the archive.  What is indexed is ``tokenize``'s stemmed
tokens, joined by spaces (``rag/keyword_db.py`` holds the tables).

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
import sqlite3
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from filelock import Timeout

from rag.config import Settings
from rag.keyword_db import KeywordDatabase
from rag.schema import ChunkFilter, date_ordinal
from rag.tokens import tokenize

if TYPE_CHECKING:
    from rag.store import FileRecord, Store

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


class KeywordUpdates(KeywordDatabase):
    """Writing one collection's keyword database, and knowing which store generation it holds."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self._catching_up = False

    def generation(self) -> int | None:
        """The store generation the database was last brought to; None if never filled."""
        value = self._meta(self._con(), "generation")
        return None if value is None else int(value)

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


def fill(index: KeywordUpdates, store: Store) -> None:
    """Fill a database never filled (or lost) now, or wait for the process filling it."""
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


def catch_up_soon(index: KeywordUpdates, store: Store) -> None:
    """Bring a database that is behind level in a background thread (one at a time)."""
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
