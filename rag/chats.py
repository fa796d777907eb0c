"""Saved chats: every answered turn kept in SQLite under RAG_HOME, resumable and exportable.

One file, ``RAG_HOME/chats.sqlite3``, in WAL mode, so the page (several tabs) and the
terminal can write at the same time: readers never wait, writers wait their turn
(``busy_timeout``) and hold the lock only for one short transaction.  A turn is
written in one transaction, so a process killed mid-answer leaves either the whole
turn or nothing.

A turn keeps what is needed to show it again and to check it later: the question,
the standalone query, the checked answer as JSON (``Answer.to_dict``: text, citations
with file, offsets, quote and verdict, the passages shown, timings), the index
generation it was answered from, and for every file it cites or shows, that file's
content hash, outlet and date.  When a resumed chat is shown, each passage is looked
up in the article as it is now (``staleness``): a card whose text is no longer there
says so instead of showing it as current.

Exports (Markdown with footnoted citations, JSON) are ``rag/chat_export.py``.

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
from rag.documents import DocumentError, FileEntry, load
from rag.errors import RagError

__all__ = [
    "Chat",
    "ChatGone",
    "ChatStore",
    "ChatSummary",
    "ChatsError",
    "Recorder",
    "Turn",
    "answer_from_dict",
    "chat_staleness",
    "record_turn",
    "sources_of",
    "staleness",
]

FILENAME = "chats.sqlite3"
BUSY_TIMEOUT_MS = 10_000  # a writer waits this long for another's short transaction
TITLE_CHARS = 80
# Front-matter keys that name the publication an article came from.
OUTLET_KEYS = ("outlet", "publisher", "site_name", "site", "source", "publication")


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


# --- the articles a turn relied on -------------------------------------------------------


def _article_path(settings: Settings, source: str) -> Path | None:
    """The article's path, or None when ``source`` points outside the articles folder."""
    folder = settings.articles_dir.resolve()
    path = (folder / source).resolve()
    return path if path.is_relative_to(folder) else None


def _outlet(metadata: Mapping[str, str]) -> str | None:
    for key in OUTLET_KEYS:
        value = str(metadata.get(key) or "").strip()
        if value and "://" not in value:  # a URL is where it was fetched, not who published it
            return value
    return None


def _files(answer: Answer) -> list[str]:
    return list(
        dict.fromkeys([c.source for c in answer.citations] + [p.source for p in answer.passages])
    )


def sources_of(settings: Settings, answer: Answer) -> dict[str, dict[str, Any]]:
    """For every file the answer cites or shows: its content hash now, outlet and date."""
    published = {p.source: p.published for p in answer.passages}
    titles = {p.source: p.title for p in answer.passages}
    found: dict[str, dict[str, Any]] = {}
    for source in _files(answer):
        info: dict[str, Any] = {
            "hash": None,
            "outlet": None,
            "published": published.get(source),
            "title": titles.get(source) or "",
        }
        path = _article_path(settings, source)
        if path is not None:
            try:
                doc = load(FileEntry(path=path, source=source), settings.max_file_bytes)
            except (DocumentError, OSError):
                pass  # the turn is still worth saving; staleness will say what is missing
            else:
                info.update(hash=doc.content_hash, outlet=_outlet(doc.metadata))
                info["published"] = info["published"] or doc.published
        found[source] = info
    return found


def record_turn(settings: Settings, store: ChatStore, chat_id: int | None, answer: Answer) -> int:
    """Save ``answer`` as the next turn of ``chat_id`` (None: a new chat), with the index
    generation and the cited files' hashes; returns the chat's id."""
    from rag.store import peek_generation

    return store.add_turn(
        chat_id, answer, generation=peek_generation(settings), sources=sources_of(settings, answer)
    )


def staleness(settings: Settings, answer: Answer) -> dict[str, str]:
    """Passages of ``answer`` whose text is no longer in the article at its offsets:
    ``chunk_id -> "changed" | "vanished"``.  Passages still there are left out."""
    current: dict[str, str | None] = {}  # file -> its text now, None when gone
    for source in _files(answer):
        path = _article_path(settings, source)
        if path is None or not path.is_file():
            current[source] = None
            continue
        try:
            current[source] = load(
                FileEntry(path=path, source=source), settings.max_file_bytes
            ).text
        except (DocumentError, OSError):
            current[source] = None
    stale: dict[str, str] = {}
    spans = [(c.source, c.chunk_id, c.start, c.end, c.text) for c in answer.citations]
    spans += [(p.source, p.chunk_id, p.start, p.end, p.text) for p in answer.passages]
    for source, chunk_id, start, end, text in spans:
        now = current.get(source)
        if now is None:
            stale[chunk_id] = "vanished"
        elif now[start:end] != text:
            stale[chunk_id] = "changed"
    return stale


def chat_staleness(settings: Settings, chat: Chat) -> dict[int, dict[str, str]]:
    """``staleness`` of every turn of ``chat``, by position."""
    return {t.position: staleness(settings, t.to_answer()) for t in chat.turns}


# --- a conversation being saved -----------------------------------------------------------


class Recorder:
    """One conversation saved turn by turn.  Saving never stops answering: the first
    failure (a damaged file, a full disk) turns saving off and is reported once."""

    def __init__(self, settings: Settings, chat_id: int | None = None) -> None:
        self.settings = settings
        self.store = ChatStore.from_settings(settings)
        self.chat_id = chat_id
        self.error: str | None = None  # why saving is off, once it is

    def save(self, answer: Answer) -> str | None:
        """Save ``answer`` as the next turn; returns why it was not saved, the first time."""
        if self.error is not None:
            return None
        try:
            try:
                self.chat_id = record_turn(self.settings, self.store, self.chat_id, answer)
            except ChatGone:  # deleted meanwhile (the page, `rag chats delete`): a new one
                self.chat_id = record_turn(self.settings, self.store, None, answer)
        except ChatsError as exc:
            self.error = str(exc)
            return f"{exc} This chat is not being saved; answers go on."
        return None
