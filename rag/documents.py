"""Files -> Document: text, title and metadata; bad input becomes a clear reason.

A Document's ``text`` is the exact text that chunk offsets point into.  For
``.txt`` and ``.md`` that is the decoded file itself, so a reader opening the file
finds a cited passage at the same offsets.  For ``.html`` it is the visible main
text extracted from the markup (``rag/html_text.py``).  For ``.pdf`` it is the text
layer of each page, pages separated by a blank line (``rag/pdf_text.py``).  Front
matter is read by ``rag/front_matter.py``; ``load`` dispatches on the file's type,
importing a type's reader when the first file of that type is read.
"""

from __future__ import annotations

import hashlib
import os
import re
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from rag.errors import RagError
from rag.front_matter import front_matter, without_front_matter
from rag.metadata import ArticleMeta, date_in_text, from_front_matter
from rag.text_head import from_text_head

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf")
TEXT_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm")  # read as decoded text


class DocumentError(RagError):
    """A file that cannot be indexed; the message is one sentence a user can act on."""


@dataclass(frozen=True)
class FileEntry:
    """A candidate file in the articles folder, before it is read as text."""

    path: Path
    source: str  # path relative to the articles folder, with forward slashes


@dataclass(frozen=True)
class Document:
    source: str
    text: str
    title: str
    content_hash: str
    size: int
    modified: float
    published: str | None = None  # ISO date, when the text or front matter gives one
    metadata: dict[str, str] = field(default_factory=dict)
    pages: tuple[int, ...] = ()  # PDFs: the offset in ``text`` where each page starts
    # What news carries (rag/metadata.py says where each is read from); None: not given.
    updated: str | None = None  # ISO date, later than ``published``
    author: str | None = None
    outlet: str | None = None
    url: str | None = None
    language: str | None = None
    date_note: str | None = None  # a stated date that is no real date, in words

    def page_at(self, offset: int) -> int | None:
        """The 1-based page holding ``offset`` in ``text``; None for files without pages."""
        return page_at(1 if self.pages else None, self.pages[1:], offset)


def page_at(first: int | None, breaks: tuple[int, ...], offset: int) -> int | None:
    """The page holding ``offset`` of a span starting on page ``first`` (None: no pages),
    ``breaks`` being the offsets where its following pages start."""
    return first + bisect_right(breaks, offset) if first else None


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def iter_files(root: Path) -> Iterator[FileEntry]:
    """Every supported file under ``root``, recursively, in a stable order.

    Hidden files and folders (names starting with a dot) are ignored, as editors and
    sync tools leave temporary files there.  Broken symlinks are yielded so that
    loading reports them instead of silently dropping them.
    """
    root = Path(root)
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith(".") or not name.lower().endswith(SUPPORTED_SUFFIXES):
                continue
            path = Path(dirpath) / name
            yield FileEntry(path=path, source=path.relative_to(root).as_posix())


def read_bytes(entry: FileEntry, max_bytes: int) -> bytes:
    """The raw bytes of a file, or DocumentError naming why it cannot be used."""
    path = entry.path
    if path.is_symlink() and not path.exists():
        raise DocumentError("broken symbolic link; remove it or point it at an existing file")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise DocumentError(f"cannot be read ({exc.strerror}); check its permissions") from exc
    if size == 0:
        raise DocumentError("empty file; add text to it or remove it")
    if size > max_bytes:
        raise DocumentError(
            f"too large ({size:,} bytes > {max_bytes:,}); split it or raise RAG_MAX_FILE_BYTES"
        )
    try:
        return path.read_bytes()
    except OSError as exc:
        raise DocumentError(f"cannot be read ({exc.strerror}); check its permissions") from exc


def decode(data: bytes) -> str:
    """Bytes -> text: UTF-8 first, then a charset guess; binary data is refused."""
    if b"\x00" in data[:8192] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DocumentError("binary file, not text; remove it or convert it to .txt")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = _guess_charset(data)
    # Normalise line endings so offsets are the same on every platform.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise DocumentError("no text in the file; add text to it or remove it")
    if _looks_binary(text):
        raise DocumentError("binary file, not text; remove it or convert it to .txt")
    return text


# Western single-byte encodings: what a non-UTF-8 English or European news file
# almost always is.  The charset guesser often ranks a Baltic or Central European
# code page first on short Western text, which garbles every accented letter.
_WESTERN = ("cp1252", "latin_1", "iso8859_15")
_WESTERN_MARGIN = 0.1


def _guess_charset(data: bytes) -> str:
    from charset_normalizer import from_bytes

    results = from_bytes(data)
    best = results.best()
    if best is None:
        raise DocumentError("undecodable text (unknown character encoding); save it as UTF-8")
    for match in results:
        if match.encoding in _WESTERN and match.chaos <= best.chaos + _WESTERN_MARGIN:
            return str(match)
    return str(best)


def _looks_binary(text: str) -> bool:
    sample = text[:4096]
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\n\t\f\v")
    return controls > max(8, len(sample) // 50)


def load(entry: FileEntry, max_bytes: int, data: bytes | None = None) -> Document:
    """Read one file into a Document, or raise DocumentError with a clear reason."""
    if data is None:
        data = read_bytes(entry, max_bytes)
    stat = entry.path.stat()
    suffix = entry.path.suffix.lower()
    if suffix == ".pdf":
        from rag.pdf_text import load_pdf

        return load_pdf(entry, data, stat.st_mtime)
    raw = decode(data)
    meta: dict[str, str] = {}
    if suffix in (".html", ".htm"):
        from rag.html_text import html_article

        text, title, news = html_article(raw)
    else:
        front = front_matter(raw)
        meta.update(front)
        text = raw
        title = front.get("title") or first_line(without_front_matter(raw))
        news = from_front_matter(front)
    if not text.strip():
        raise DocumentError("no readable text in the file; add text to it or remove it")
    body = without_front_matter(text)
    if not body.strip():
        raise DocumentError("no text after its front matter; add the article's text or remove it")
    news = with_text_head(news, body)
    return Document(
        source=entry.source,
        text=text,
        title=clean_title(title) or entry.path.stem,
        content_hash=content_hash(data),
        size=len(data),
        modified=stat.st_mtime,
        metadata=meta,
        **news_fields(news),
    )


def with_text_head(news: ArticleMeta, text: str) -> ArticleMeta:
    """Gaps filled from the article's own byline and date lines, else its first date."""
    news = news.filled_from(from_text_head(text))
    if news.published is None and news.date_note is None:
        news = news.filled_from(ArticleMeta(published=date_in_text(text)))
    return news.tidy()


def news_fields(news: ArticleMeta) -> dict[str, str | None]:
    """A Document's news fields, from what was read about the article."""
    return {
        "published": news.published,
        "updated": news.updated,
        "author": news.author,
        "outlet": news.outlet,
        "url": news.url,
        "language": news.language,
        "date_note": news.date_note,
    }


def first_line(text: str) -> str:
    """The first line holding text (front matter fences skipped)."""
    for line in text.splitlines():
        line = line.strip()
        if line and line != "---":
            return line
    return ""


def clean_title(title: str) -> str:
    """A title without Markdown heading marks or runs of spaces, at most 200 characters."""
    title = re.sub(r"^#+\s*", "", title.strip())
    title = re.sub(r"\s+", " ", title)
    return title[:200]
