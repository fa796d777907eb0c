"""Files -> Document: text, title and metadata; bad input becomes a clear reason.

A Document's ``text`` is the exact text that chunk offsets point into.  For
``.txt`` and ``.md`` that is the decoded file itself, so a reader opening the file
finds a cited passage at the same offsets.  For ``.html`` it is the visible main
text extracted from the markup (scripts, styles and navigation dropped).  For
``.pdf`` it is the text layer of each page (pypdf), pages separated by a blank
line, and ``pages`` holds where each page starts, so a passage knows its page.
"""

from __future__ import annotations

import hashlib
import os
import re
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from itertools import pairwise
from pathlib import Path
from typing import Any

from rag.errors import RagError
from rag.metadata import (
    ArticleMeta,
    date_in_text,
    from_front_matter,
    from_html,
    from_text_head,
    parse_date,
    pdf_date,
)

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
        return _load_pdf(entry, data, stat.st_mtime)
    raw = decode(data)
    meta: dict[str, str] = {}
    if suffix in (".html", ".htm"):
        text, title, news = _from_html(raw)
    else:
        front = front_matter(raw)
        meta.update(front)
        text = raw
        title = front.get("title") or _first_line(without_front_matter(raw))
        news = from_front_matter(front)
    if not text.strip():
        raise DocumentError("no readable text in the file; add text to it or remove it")
    news = _with_text_head(news, without_front_matter(text))
    return Document(
        source=entry.source,
        text=text,
        title=_clean_title(title) or entry.path.stem,
        content_hash=content_hash(data),
        size=len(data),
        modified=stat.st_mtime,
        metadata=meta,
        **_news_fields(news),
    )


def _with_text_head(news: ArticleMeta, text: str) -> ArticleMeta:
    """Gaps filled from the article's own byline and date lines, else its first date."""
    news = news.filled_from(from_text_head(text))
    if news.published is None and news.date_note is None:
        news = news.filled_from(ArticleMeta(published=date_in_text(text)))
    return news.tidy()


def _news_fields(news: ArticleMeta) -> dict[str, str | None]:
    return {
        "published": news.published,
        "updated": news.updated,
        "author": news.author,
        "outlet": news.outlet,
        "url": news.url,
        "language": news.language,
        "date_note": news.date_note,
    }


def _first_line(text: str) -> str:
    for line in text.splitlines():
        line = line.strip()
        if line and line != "---":
            return line
    return ""


def _clean_title(title: str) -> str:
    title = re.sub(r"^#+\s*", "", title.strip())
    title = re.sub(r"\s+", " ", title)
    return title[:200]


_FRONT = re.compile(r"\A---\n(.*?)\n---\n", re.S)


def without_front_matter(text: str) -> str:
    m = _FRONT.match(text)
    return text[m.end() :] if m else text


def front_matter(text: str) -> dict[str, str]:
    """The ``key: value`` pairs of a Markdown file's front matter, keys in lower case.

    Read as YAML when it is valid YAML (so quoted values written by ``rag add``
    come back unescaped); otherwise line by line, as hand-written front matter
    such as ``title: Kyiv: the talks`` is not always valid YAML.
    """
    m = _FRONT.match(text)
    if not m:
        return {}
    import yaml

    try:
        loaded = yaml.safe_load(m.group(1))
    except (yaml.YAMLError, ValueError):  # ValueError: a date that is none (2025-02-30)
        loaded = None
    if isinstance(loaded, dict):
        return {
            str(key).strip().lower(): _scalar(value)
            for key, value in loaded.items()
            if _scalar(value)
        }
    out: dict[str, str] = {}
    for line in m.group(1).splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip():
            out[key.strip().lower()] = value.strip().strip("'\"")
    return out


def _scalar(value: Any) -> str:
    """A front matter value as text; a list of plain values (``authors: [A, B]``) joined."""
    if isinstance(value, list):
        return ", ".join(_scalar(v) for v in value if _scalar(v))
    if isinstance(value, str | int | float | date) and not isinstance(value, bool):
        return str(value).strip()
    return ""


_BLOCK_MARK = "\ue000"  # a private-use character: never in real text
_BLOCK_TAGS = [
    "p", "div", "section", "article", "main", "h1", "h2", "h3", "h4", "h5", "h6",
    "li", "ul", "ol", "dl", "dt", "dd", "blockquote", "pre", "figure", "figcaption",
    "table", "tr", "td", "th", "caption", "hr", "address", "details", "summary",
]  # fmt: skip


def _from_html(raw: str) -> tuple[str, str, ArticleMeta]:
    """Visible main text, title and news metadata of an HTML page."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(raw, "html.parser")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    news = from_html(raw, soup)
    if news.published is None and (tag := soup.find("time")) and tag.get("datetime"):
        news = news.filled_from(ArticleMeta(published=parse_date(str(tag["datetime"]))))
    for tag in soup(["script", "style", "noscript", "template", "iframe", "svg", "head"]):
        tag.decompose()
    for tag in soup(["nav", "header", "footer", "aside", "form"]):
        tag.decompose()
    body = soup.find("article") or soup.find("main") or soup.body or soup
    # Line breaks in HTML source are just spaces; block elements are what end a line.
    # Inline markup (<b>, <a>, <span>) must not cut a sentence in two.
    for tag in body.find_all(_BLOCK_TAGS):
        tag.insert_before(_BLOCK_MARK)
        tag.insert_after(_BLOCK_MARK)
    for tag in body.find_all("br"):
        tag.replace_with(_BLOCK_MARK)
    flat = re.sub(r"\s+", " ", body.get_text())
    text = "\n".join(b.strip() for b in flat.split(_BLOCK_MARK) if b.strip())
    if not title:
        title = _first_line(text)
    return text, title, news


# --- PDF -------------------------------------------------------------------------------
# A page whose text layer holds fewer characters than this is an image (a scan, a photo).
_MIN_PAGE_CHARS = 20


def pdf_pages(data: bytes) -> tuple[list[str], dict[str, str]]:
    """The text layer of each page of a PDF and its info (title, author, ISO date).

    Raises DocumentError, in words a user can act on, for an encrypted PDF, a file
    that is not a readable PDF, and a PDF with no text layer (a scan).
    """
    import io
    import logging

    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError, PdfReadError

    # pypdf logs what it repaired in a damaged file; the reason given here is enough.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                # Many PDFs are encrypted with an empty user password: readable by anyone.
                opened = reader.decrypt("")
            except (DependencyError, NotImplementedError):
                opened = 0
            if not opened:
                raise DocumentError(
                    "encrypted PDF that needs a password; save an unprotected copy and add that"
                )
        pages = [_page_text(page) for page in reader.pages]
        info = reader.metadata or {}
    except DocumentError:
        raise
    except (FileNotDecryptedError, DependencyError):
        raise DocumentError(
            "encrypted PDF that needs a password; save an unprotected copy and add that"
        ) from None
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        detail = " ".join(str(exc).split())[:80] or type(exc).__name__
        raise DocumentError(
            f"not a readable PDF ({detail}); open it in a PDF reader and save it again"
        ) from None
    if not pages:
        raise DocumentError("PDF without pages; remove it")
    if sum(len(p.strip()) for p in pages) < _MIN_PAGE_CHARS * len(pages):
        raise DocumentError(
            "PDF without a text layer (a scan or images only); run OCR on it "
            "(for example ocrmypdf) and add the result"
        )
    meta = {
        key: " ".join(str(info.get(name, "") or "").split())
        for key, name in (("title", "/Title"), ("author", "/Author"), ("date", "/CreationDate"))
    }
    meta["date"] = pdf_date(meta["date"]) or ""
    return pages, {k: v for k, v in meta.items() if v}


def _page_text(page: Any) -> str:
    text = page.extract_text() or ""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    return unwrap(text)


# A line this much shorter than the page's usual line ends its paragraph (or is a heading).
_SHORT_LINE = 0.6


def unwrap(text: str) -> str:
    """A page's text with its printed line breaks undone: one line per paragraph.

    The chunker and the citation checker take a line break for the end of a sentence,
    and a PDF breaks a line wherever the column ends.  A full-width line runs on into
    the next (a word hyphenated across the break is joined); a short line ends its
    paragraph.  Blank lines are dropped: a blank line is what separates pages.
    """
    lines = [" ".join(line.split()) for line in text.split("\n")]
    lines = [line for line in lines if line]
    if not lines:
        return ""
    widths = sorted(len(line) for line in lines)
    full = widths[len(widths) * 3 // 4] * _SHORT_LINE  # the usual full line: 3rd quartile
    out = lines[0]
    for previous, line in pairwise(lines):
        if len(previous) < full:
            out += "\n" + line
        elif re.search(r"[a-z]-$", previous) and line[:1].islower():
            out = out[:-1] + line  # "repa-" + "irs": one word again
        else:
            out += " " + line
    return out


def _load_pdf(entry: FileEntry, data: bytes, modified: float) -> Document:
    pages, info = pdf_pages(data)
    starts: list[int] = []
    parts: list[str] = []
    offset = 0
    for text in pages:
        starts.append(offset)
        parts.append(text)
        offset += len(text) + 2  # the blank line between pages
    text = "\n\n".join(parts)
    news = ArticleMeta(published=info.get("date") or None, author=info.get("author") or None)
    news = _with_text_head(news, text)
    title = info.get("title") or _first_line(text)
    return Document(
        source=entry.source,
        text=text,
        title=_clean_title(title) or entry.path.stem,
        content_hash=content_hash(data),
        size=len(data),
        modified=modified,
        metadata={k: v for k, v in info.items() if k != "date"},
        pages=tuple(starts),
        **_news_fields(news),
    )
