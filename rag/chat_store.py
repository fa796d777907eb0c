"""Saved chats stored: every answered turn kept in SQLite under RAG_HOME.

One file, ``RAG_HOME/chats.sqlite3``, in WAL mode, so the page (several tabs) and the
terminal can write at the same time: readers never wait, writers wait their turn
(``busy_timeout``) and hold the lock only for one short transaction.  A turn is
written in one transaction, so a process killed mid-answer leaves either the whole
turn or nothing.  What a turn holds is in ``rag/chats.py``, which records it.

The schema is versioned by ``PRAGMA user_version`` and upgraded by small numbered
migration functions.  A damaged file or one written by a newer version is never
touched: the user is told in one sentence to move it aside.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rag.answering import Answer
from rag.config import Settings
from rag.errors import RagError

__all__ = [
    "Chat",
    "ChatGone",
    "ChatStore",
    "ChatSummary",
    "ChatsError",
    "Turn",
    "answer_from_dict",
]

FILENAME = "chats.sqlite3"
BUSY_TIMEOUT_MS = 10_000  # a writer waits this long for another's short transaction
TITLE_CHARS = 80


class ChatsError(RagError):
    """The saved chats cannot be used; the message is one sentence naming the fix."""


class ChatGone(ChatsError):
    """The chat a turn was to be added to was deleted meanwhile."""


# --- schema -------------------------------------------------------------------------------


def _migration_1(con: sqlite3.Connection) -> None:
    """The first schema: chats, and their turns in order."""
    con.execute(
        "CREATE TABLE chats ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT,"  # ids are never reused after a delete
        " title TEXT NOT NULL,"
        " created TEXT NOT NULL,"
        " updated TEXT NOT NULL)"
    )
    con.execute(
        "CREATE TABLE turns ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " chat_id INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,"
        " position INTEGER NOT NULL,"
        " question TEXT NOT NULL,"
        " query TEXT NOT NULL,"
        " answer TEXT NOT NULL,"  # Answer.to_dict() as JSON
        " timings TEXT NOT NULL,"  # JSON
        " generation INTEGER,"  # the index generation answered from, when known
        " sources TEXT NOT NULL,"  # JSON: file -> {hash, outlet, published, title}
        " created TEXT NOT NULL,"
        " UNIQUE (chat_id, position))"
    )
    con.execute("CREATE INDEX chats_updated ON chats (updated)")


# Each function upgrades the schema from version i to i + 1; append, never edit.
MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_migration_1]
SCHEMA_VERSION = len(MIGRATIONS)


# --- what is stored ---------------------------------------------------------------------


@dataclass(frozen=True)
class ChatSummary:
    id: int
    title: str
    turns: int
    created: str  # ISO 8601, UTC
    updated: str

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Turn:
    position: int  # 1, 2, ... within its chat
    question: str
    query: str
    answer: dict[str, Any]  # Answer.to_dict()
    timings: dict[str, float]
    generation: int | None
    sources: dict[str, dict[str, Any]]  # file -> {hash, outlet, published, title}
    created: str

    def to_answer(self) -> Answer:
        return answer_from_dict(self.answer)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Chat:
    id: int
    title: str
    created: str
    updated: str
    turns: list[Turn] = field(default_factory=list)

    def history(self) -> list[dict[str, str]]:
        """The turns as ``{"role", "content"}`` messages, for follow-up condensation."""
        messages: list[dict[str, str]] = []
        for turn in self.turns:
            messages.append({"role": "user", "content": turn.question})
            messages.append({"role": "assistant", "content": str(turn.answer.get("answer", ""))})
        return messages

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def answer_from_dict(data: Mapping[str, Any]) -> Answer:
    """The ``Answer`` that ``Answer.to_dict`` gave ``data`` (see ``Answer.from_dict``)."""
    return Answer.from_dict(data)


# --- the database -------------------------------------------------------------------------


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _title(question: str) -> str:
    text = " ".join(question.split())
    if len(text) <= TITLE_CHARS:
        return text or "Untitled chat"
    return text[: TITLE_CHARS - 1].rsplit(" ", 1)[0] + "…"


class ChatStore:
    """The saved chats in one SQLite file; every method opens, works and closes, so one
    store can be shared by threads (Streamlit reruns) and processes."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @classmethod
    def from_settings(cls, settings: Settings) -> ChatStore:
        return cls(settings.home / FILENAME)

    # -- connections --

    def _explain(self, exc: sqlite3.Error) -> ChatsError:
        text = str(exc).lower()
        where = str(self.path)
        if "locked" in text or "busy" in text:
            return ChatsError(
                f"The chats database {where} is busy in another process; try again in a moment."
            )
        if "full" in text and "disk" in text:
            return ChatsError(f"The disk holding {where} is full; free some space and try again.")
        if "readonly" in text or "unable to open" in text or "permission" in text:
            return ChatsError(
                f"The chats database {where} cannot be written; make its folder writable "
                "or point RAG_HOME elsewhere."
            )
        return ChatsError(
            f"The chats database {where} is damaged ({exc}); move it aside "
            f"(for example to {self.path.name}.damaged) and a new one will be started."
        )

    @contextmanager
    def _connect(self, write: bool = False) -> Iterator[sqlite3.Connection]:
        """A connection in a transaction: ``BEGIN IMMEDIATE`` for writes (the write lock is
        taken up front, so a reader never has to upgrade and fail), deferred for reads."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ChatsError(
                f"{self.path.parent} cannot be created ({exc.strerror}); make it writable "
                "or point RAG_HOME elsewhere."
            ) from None
        try:
            con = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        except sqlite3.Error as exc:
            raise self._explain(exc) from None
        try:
            con.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self._prepare(con)
            con.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")
        except sqlite3.Error as exc:
            raise self._explain(exc) from None
        finally:
            con.close()

    def _prepare(self, con: sqlite3.Connection) -> None:
        """WAL mode, foreign keys, and the schema at this version's level."""
        # The version first: a file this version cannot read is left exactly as it was.
        self._check_version(con.execute("PRAGMA user_version").fetchone()[0])
        mode = con.execute("PRAGMA journal_mode = WAL").fetchone()
        if mode and str(mode[0]).lower() != "wal":
            raise ChatsError(
                f"The chats database {self.path} cannot use WAL mode (is it on a network "
                "drive?); point RAG_HOME at a local folder."
            )
        # FULL: a turn reported saved survives a power cut, not only a killed process.
        con.execute("PRAGMA synchronous = FULL")
        con.execute("PRAGMA foreign_keys = ON")
        if con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
            return
        con.execute("BEGIN IMMEDIATE")
        try:
            # Read again under the write lock: another process may have migrated meanwhile.
            version = con.execute("PRAGMA user_version").fetchone()[0]
            self._check_version(version)
            for number in range(version, SCHEMA_VERSION):
                MIGRATIONS[number](con)
                con.execute(f"PRAGMA user_version = {number + 1}")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")

    def _check_version(self, version: int) -> None:
        if version > SCHEMA_VERSION:
            raise ChatsError(
                f"The chats database {self.path} was written by a newer version of rag "
                f"(schema {version}, this one reads up to {SCHEMA_VERSION}); upgrade rag, "
                "or move the file aside to start a new one."
            )

    # -- reading --

    def summaries(self) -> list[ChatSummary]:
        """Every chat, the most recently updated first."""
        if not self.path.exists():  # reading creates nothing
            return []
        with self._connect() as con:
            rows = con.execute(
                "SELECT c.id, c.title, COUNT(t.id), c.created, c.updated FROM chats c "
                "LEFT JOIN turns t ON t.chat_id = c.id "
                "GROUP BY c.id ORDER BY c.updated DESC, c.id DESC"
            ).fetchall()
        return [ChatSummary(*row) for row in rows]

    def get(self, chat_id: int) -> Chat:
        """One chat with all its turns; a missing id raises ``ChatsError``."""
        if not self.path.exists():
            raise ChatsError(f"There is no saved chat {chat_id}; no chat has been saved yet.")
        with self._connect() as con:
            row = con.execute(
                "SELECT id, title, created, updated FROM chats WHERE id = ?", (chat_id,)
            ).fetchone()
            if row is None:
                raise ChatsError(
                    f"There is no saved chat {chat_id}; `rag chats list` shows the saved chats."
                )
            turns = con.execute(
                "SELECT position, question, query, answer, timings, generation, sources, created"
                " FROM turns WHERE chat_id = ? ORDER BY position",
                (chat_id,),
            ).fetchall()
        return Chat(
            id=row[0],
            title=row[1],
            created=row[2],
            updated=row[3],
            turns=[
                Turn(
                    position=t[0],
                    question=t[1],
                    query=t[2],
                    answer=json.loads(t[3]),
                    timings=json.loads(t[4]),
                    generation=t[5],
                    sources=json.loads(t[6]),
                    created=t[7],
                )
                for t in turns
            ],
        )

    # -- writing --

    def add_turn(
        self,
        chat_id: int | None,
        answer: Answer,
        generation: int | None = None,
        sources: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> int:
        """Save one answered turn, in one transaction; ``chat_id`` None starts a new chat
        titled by the question.  Returns the chat's id."""
        data = answer.to_dict()
        now = _now()
        with self._connect(write=True) as con:
            if chat_id is None:
                chat_id = int(
                    con.execute(
                        "INSERT INTO chats (title, created, updated) VALUES (?, ?, ?)",
                        (_title(answer.question), now, now),
                    ).lastrowid
                    or 0
                )
            elif con.execute("SELECT 1 FROM chats WHERE id = ?", (chat_id,)).fetchone() is None:
                raise ChatGone(f"The saved chat {chat_id} was deleted meanwhile; start a new chat.")
            position = con.execute(
                "SELECT COALESCE(MAX(position), 0) + 1 FROM turns WHERE chat_id = ?", (chat_id,)
            ).fetchone()[0]
            con.execute(
                "INSERT INTO turns (chat_id, position, question, query, answer, timings,"
                " generation, sources, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    chat_id,
                    position,
                    answer.question,
                    answer.query,
                    json.dumps(data, ensure_ascii=False),
                    json.dumps(data["timings"]),
                    generation,
                    json.dumps(dict(sources or {}), ensure_ascii=False),
                    now,
                ),
            )
            con.execute("UPDATE chats SET updated = ? WHERE id = ?", (now, chat_id))
        return chat_id

    def rename(self, chat_id: int, title: str) -> None:
        title = " ".join(title.split())
        if not title:
            raise ChatsError("A chat's title cannot be empty; type a title.")
        with self._connect(write=True) as con:
            changed = con.execute(
                "UPDATE chats SET title = ? WHERE id = ?", (title[:200], chat_id)
            ).rowcount
        if not changed:
            raise ChatsError(
                f"There is no saved chat {chat_id}; `rag chats list` shows the saved chats."
            )

    def delete(self, chat_id: int) -> None:
        with self._connect(write=True) as con:
            con.execute("DELETE FROM turns WHERE chat_id = ?", (chat_id,))
            removed = con.execute("DELETE FROM chats WHERE id = ?", (chat_id,)).rowcount
        if not removed:
            raise ChatsError(
                f"There is no saved chat {chat_id}; `rag chats list` shows the saved chats."
            )
