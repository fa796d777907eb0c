"""Saved chats recorded: each answered turn saved with what it relied on, and checked
against the articles as they are now.

A turn keeps what is needed to show it again and to check it later: the question,
the standalone query, the checked answer as JSON (``Answer.to_dict``: text, citations
with file, offsets, quote and verdict, the passages shown, timings), the index
generation it was answered from, and for every file it cites or shows, that file's
content hash, outlet and date.  When a resumed chat is shown, each passage is looked
up in the article as it is now (``staleness``): a card whose text is no longer there
says so instead of showing it as current.

The SQLite file itself is ``rag/chat_store.py``; exports (Markdown with footnoted
citations, JSON) are ``rag/chat_export.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rag.answering import Answer
from rag.chat_store import Chat, ChatGone, ChatsError, ChatStore
from rag.config import Settings
from rag.documents import DocumentError, FileEntry, load

__all__ = [
    "Recorder",
    "chat_staleness",
    "record_turn",
    "save_turn",
    "sources_of",
    "staleness",
]

# Front-matter keys that name the publication an article came from.
OUTLET_KEYS = ("outlet", "publisher", "site_name", "site", "source", "publication")


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


def save_turn(settings: Settings, chat_id: int | None, answer: Answer) -> int:
    """``record_turn`` into the saved chats; a chat deleted meanwhile (in another tab, by
    `rag chats delete`) is started again as a new one.  Returns the chat's id."""
    store = ChatStore.from_settings(settings)
    try:
        return record_turn(settings, store, chat_id, answer)
    except ChatGone:
        return record_turn(settings, store, None, answer)


def staleness(
    settings: Settings, answer: Answer, current: dict[str, str | None] | None = None
) -> dict[str, str]:
    """Passages of ``answer`` whose text is no longer in the article at its offsets:
    ``chunk_id -> "changed" | "vanished"``.  Passages still there are left out.
    ``current`` (file -> its text now, None when gone) is filled as files are read, so
    answers checked together read each file once."""
    current = {} if current is None else current
    for source in _files(answer):
        if source in current:
            continue
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
    """``staleness`` of every turn of ``chat``, by position; each article read once."""
    current: dict[str, str | None] = {}
    return {t.position: staleness(settings, t.to_answer(), current) for t in chat.turns}


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
            self.chat_id = save_turn(self.settings, self.chat_id, answer)
        except ChatsError as exc:
            self.error = str(exc)
            return f"{exc} This chat is not being saved; answers go on."
        return None
