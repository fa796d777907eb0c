"""PDF files: the text layer of each page (pypdf), its printed line breaks undone.

A Document's ``text`` is the pages' text separated by a blank line, and ``pages``
holds where each page starts, so a passage knows its page.  An encrypted PDF, a file
that is not a readable PDF and a scan without a text layer are refused in words a
user can act on.  ``rag.documents.load`` calls ``load_pdf`` for ``.pdf`` files.
"""

from __future__ import annotations

import re
from itertools import pairwise
from typing import Any

from rag.documents import (
    Document,
    DocumentError,
    FileEntry,
    clean_title,
    content_hash,
    first_line,
    news_fields,
    with_text_head,
)
from rag.metadata import ArticleMeta, pdf_date

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


def load_pdf(entry: FileEntry, data: bytes, modified: float) -> Document:
    """A PDF file as a Document with its page starts."""
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
    news = with_text_head(news, text)
    title = info.get("title") or first_line(text)
    return Document(
        source=entry.source,
        text=text,
        title=clean_title(title) or entry.path.stem,
        content_hash=content_hash(data),
        size=len(data),
        modified=modified,
        metadata={k: v for k, v in info.items() if k != "date"},
        pages=tuple(starts),
        **news_fields(news),
    )
