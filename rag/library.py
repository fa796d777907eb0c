"""The indexed articles as a reader sees them: the list of what is indexed, and one
article opened by its source name (the page's article view, a citation's link).

An article is opened only if the index knows it and its file lies inside the articles
folder, so a crafted name (``../secret.txt``) reads nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rag.config import Settings
from rag.documents import Document, DocumentError, FileEntry, load
from rag.errors import RagError

if TYPE_CHECKING:
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
