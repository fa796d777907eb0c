"""The library as a reader sees it, the page's way in: the indexed articles (the list,
and one article opened by its source name for the article view and a citation's link),
the saved chats, and the articles added from links and feeds.

An article is opened only if the index knows it and its file lies inside the articles
folder, so a crafted name (``../secret.txt``) reads nothing.  The steps themselves live
in their modules (``rag.chats``, ``rag.chat_export``, ``rag.clipping``, ``rag.feeds``),
imported on first use so that ``import rag`` stays light.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rag.config import Settings
from rag.documents import Document, DocumentError, FileEntry, load
from rag.errors import RagError

if TYPE_CHECKING:
    from rag.answering import Answer
    from rag.chat_store import Chat, ChatSummary
    from rag.clipping import AddReport
    from rag.feeds import Feed, SyncReport
    from rag.store import FileRecord


class ArticleNotIndexed(RagError):
    """The name is no indexed article inside the articles folder."""

    def __init__(self, source: str) -> None:
        super().__init__(
            f"{source!r} is not an indexed article; open articles from the source cards, "
            "or re-index the folder if it was added recently."
        )
        self.source = source


class ArticleUnreadable(RagError):
    """The article is indexed but its file cannot be read now."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source} cannot be read ({reason}); re-index the folder to drop it.")
        self.source = source
        self.reason = reason


@dataclass(frozen=True)
class OpenedArticle:
    """An indexed article's text as it is now."""

    document: Document
    changed: bool
    """The file changed since it was indexed, so passage offsets may be off."""


def indexed_articles(settings: Settings) -> list[FileRecord]:
    """Every indexed article, the newest first (by publication date, then indexing time)."""
    from rag.store import Store

    return sorted(
        Store(settings).file_records().values(),
        key=lambda r: (r.published or "", r.indexed_at),
        reverse=True,
    )


def open_article(settings: Settings, source: str) -> OpenedArticle:
    """The indexed article ``source`` (a path relative to the articles folder), read now.

    Raises ``ArticleNotIndexed`` for a name the index does not hold or one leading out of
    the folder, ``ArticleUnreadable`` when its file cannot be read, and the store's own
    ``RagError`` when the index cannot be opened.
    """
    from rag.store import Store

    record = Store(settings).file_records().get(source)
    path = (settings.articles_dir / source).resolve()
    if record is None or not path.is_relative_to(settings.articles_dir.resolve()):
        raise ArticleNotIndexed(source)
    try:
        document = load(FileEntry(path=path, source=source), settings.max_file_bytes)
    except (DocumentError, OSError) as exc:
        raise ArticleUnreadable(source, _first_line(exc)) from exc
    return OpenedArticle(document, changed=document.content_hash != record.content_hash)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0].rstrip(".") if text else type(exc).__name__


# --- saved chats ------------------------------------------------------------------------


def saved_chats(settings: Settings) -> list[ChatSummary]:
    """Every saved chat, the most recently updated first."""
    from rag.chat_store import ChatStore

    return ChatStore.from_settings(settings).summaries()


def open_chat(settings: Settings, chat_id: int) -> Chat:
    """One saved chat with all its turns; a missing id raises ``ChatsError``."""
    from rag.chat_store import ChatStore

    return ChatStore.from_settings(settings).get(chat_id)


def rename_chat(settings: Settings, chat_id: int, title: str) -> None:
    from rag.chat_store import ChatStore

    ChatStore.from_settings(settings).rename(chat_id, title)


def delete_chat(settings: Settings, chat_id: int) -> None:
    from rag.chat_store import ChatStore

    ChatStore.from_settings(settings).delete(chat_id)


def save_turn(settings: Settings, chat_id: int | None, answer: Answer) -> int:
    """Save ``answer`` as the next turn of ``chat_id`` (None, or deleted meanwhile: a new
    chat); returns the chat's id."""
    from rag.chats import save_turn

    return save_turn(settings, chat_id, answer)


def stale_passages(settings: Settings, answer: Answer) -> dict[str, str]:
    """A saved answer's passages no longer in their article: ``chunk_id -> "changed" |
    "vanished"``."""
    from rag.chats import staleness

    return staleness(settings, answer)


def export_chat(settings: Settings, chat_id: int, *formats: str) -> dict[str, str]:
    """A saved chat in each of ``formats``: Markdown (``md``, citations as footnotes) or
    JSON (``json``), by format; the chat is read and checked once for all of them."""
    from rag.chat_export import exports

    return exports(settings, chat_id, formats)


# --- articles from links and feeds ------------------------------------------------------


def add_links(settings: Settings, urls: Iterable[str]) -> AddReport:
    """Fetch each address and save its article into the articles folder (not indexed yet)."""
    from rag.clipping import add_urls

    return add_urls(settings, urls)


def followed_feeds(settings: Settings) -> list[Feed]:
    from rag.feeds import load_feeds

    return load_feeds(settings)


def follow_feed(settings: Settings, url: str) -> Feed:
    from rag.feeds import add_feed

    return add_feed(settings, url)


def sync_feeds(settings: Settings) -> SyncReport:
    """Save the followed feeds' new and edited entries into the articles folder."""
    from rag.feeds import sync

    return sync(settings)


def latest_eval(settings: Settings) -> Path | None:
    """The newest saved ``rag eval`` run's results.json for these settings, if any."""
    from rag.eval_report import latest_results

    return latest_results(settings)


def eval_summary(path: Path) -> dict[str, object]:
    """A saved run's suite, start time, totals, and the metrics a page shows as
    ``shown`` ((name, title) pairs from the metric registry); a file that is no saved
    run is a RagError naming the fix."""
    from rag.eval_metrics import ON_PAGE
    from rag.eval_report import load_results

    saved = load_results(path)
    summary: dict[str, object] = {
        key: saved.get(key, default)
        for key, default in (("suite", "?"), ("started", ""), ("totals", {}))
    }
    summary["shown"] = list(ON_PAGE)
    return summary
