"""The keyword database's file: schema, connections, the writers' lock, transactions.

SQLite in WAL mode, so readers never wait for the writer; one connection per thread
(``sqlite3`` connections are not shared across threads here).  A file replaced by
another process (after damage) is noticed by its inode and re-opened.  What the
tables mean: how they are written is ``rag/keyword_updates.py``, how they are read
and ranked ``rag/lexical.py``.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from filelock import FileLock

from rag.config import Settings
from rag.tokens import TOKENIZER_VERSION

# Bump when the tables change; with TOKENIZER_VERSION, a database of another is rebuilt.
SCHEMA_VERSION = "fts5-1"
_SCHEMA_KEY = f"{SCHEMA_VERSION}/{TOKENIZER_VERSION}"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value);
CREATE TABLE IF NOT EXISTS files(
    id INTEGER PRIMARY KEY AUTOINCREMENT, source TEXT NOT NULL UNIQUE,
    content_hash TEXT NOT NULL, published INTEGER NOT NULL, complete INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS chunks(
    id INTEGER PRIMARY KEY AUTOINCREMENT, chunk_id TEXT NOT NULL,
    file_id INTEGER NOT NULL, length INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_by_chunk_id ON chunks(chunk_id);
CREATE INDEX IF NOT EXISTS chunks_by_file ON chunks(file_id);
CREATE VIRTUAL TABLE IF NOT EXISTS terms USING fts5(
    tokens, tokenize="ascii tokenchars '_'", detail=full);
CREATE VIRTUAL TABLE IF NOT EXISTS postings USING fts5vocab(terms, 'instance');
CREATE VIRTUAL TABLE IF NOT EXISTS doc_freq USING fts5vocab(terms, 'row');
"""


class KeywordDatabase:
    """One keyword database file, shared by every thread of a process."""

    def __init__(self, settings: Settings) -> None:
        self.path = database_path(settings)
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self._home = settings.home
        self._local = threading.local()
        self._lock = threading.Lock()
        self._epoch = 0  # bumped when the file is replaced: connections are re-opened
        self._file_id: tuple[int, int] | None = None

    # --- connections -------------------------------------------------------------
    def _con(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is not None and self._local.epoch == self._epoch:
            return con
        if con is not None:
            con.close()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=60)
        try:
            con.execute("PRAGMA synchronous=NORMAL")
            if self._meta(con, "schema") != _SCHEMA_KEY:
                self._create(con)
            stat = os.stat(self.path)
        except BaseException:
            con.close()
            raise
        with self._lock:
            self._file_id = (stat.st_dev, stat.st_ino)
        self._local.con, self._local.epoch = con, self._epoch
        return con

    @staticmethod
    def _meta(con: sqlite3.Connection, key: str) -> Any:
        try:
            row = con.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return None
            raise
        return row[0] if row else None

    def _create(self, con: sqlite3.Connection) -> None:
        con.execute("PRAGMA journal_mode=WAL")  # readers never wait for the writer
        con.execute("BEGIN IMMEDIATE")
        try:
            if self._meta(con, "schema") not in (None, _SCHEMA_KEY):
                raise sqlite3.DatabaseError("keyword database of another schema")
            for statement in _SCHEMA.strip().rstrip(";").split(";\n"):
                con.execute(statement)
            con.executemany(
                "INSERT OR IGNORE INTO meta VALUES (?, ?)",
                [("schema", _SCHEMA_KEY)] + [(k, 0) for k in ("chunks", "tokens", "version")],
            )
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")
        # What the in-memory index of earlier versions saved; this database replaces it.
        shutil.rmtree(self._home / "bm25", ignore_errors=True)

    def _changed_file(self) -> bool:
        """Whether another process replaced the database file (a repair after damage)."""
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            return True
        return self._file_id is not None and self._file_id != (stat.st_dev, stat.st_ino)

    def _forget(self) -> None:
        """Drop this process's connections (each thread re-opens on its next use)."""
        with self._lock:
            self._epoch += 1
            self._file_id = None

    # --- writing: under the lock -----------------------------------------------------
    @contextlib.contextmanager
    def writing(self, wait: bool = True) -> Iterator[KeywordDatabase]:
        """Hold the database's lock (other processes' writers and catch-ups wait or skip).

        A damaged database, or one of another schema, is replaced by an empty one here.
        Raises ``Timeout`` when ``wait`` is false and another process holds the lock.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.lock_path), timeout=-1 if wait else 0):
            try:
                self._con().execute("SELECT count(*) FROM doc_freq WHERE term = ''").fetchone()
            except sqlite3.DatabaseError:
                self._replace()
            yield self

    def _replace(self) -> None:
        """Start afresh: delete the database files and open a new, empty one."""
        con = getattr(self._local, "con", None)
        if con is not None:
            con.close()
            self._local.con = None
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{self.path}{suffix}")
        self._forget()
        self._con()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        con = self._con()
        con.execute("BEGIN IMMEDIATE")
        try:
            yield con
            con.execute("UPDATE meta SET value = value + 1 WHERE key = 'version'")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")

    @staticmethod
    def _in(con: sqlite3.Connection, sql: str, values: Sequence[Any]) -> list[Any]:
        out: list[Any] = []
        for i in range(0, len(values), 500):
            part = list(values[i : i + 500])
            out += con.execute(sql + f"({','.join('?' * len(part))})", part).fetchall()
        return out


def database_path(settings: Settings) -> Path:
    """Where the keyword database of ``settings``' collection lives."""
    name = settings.collection
    if settings.chroma_url:
        server = re.sub(r"[^A-Za-z0-9.-]+", "_", settings.chroma_url.split("://", 1)[-1])
        name = f"{name}@{server.strip('_')}"
    return settings.home / "keyword" / f"{name}.sqlite3"
