"""Document -> Chunk: sentence-aligned windows with overlap and exact offsets.

Each chunk is ``document.text[start:end]``, always, so a citation can point a reader
at the exact characters it came from.  Chunks are packed from whole sentences up to
``chunk_chars``; neighbouring chunks share ``overlap`` sentences so a fact that
straddles a boundary is whole in at least one chunk.  A sentence longer than the
budget (a giant line with no punctuation) is cut at word boundaries.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass

from rag.documents import Document
from rag.front_matter import without_front_matter

# Bump when the way text is cut changes: the store then re-embeds everything.
CHUNKER_VERSION = "5"  # 4: front matter is not chunked; 5: "1. Item" is one sentence

_SENTENCE_END = re.compile(
    r"""(?:(?<=[.!?…])|(?<=[.!?…]["'”’)\]]))\s+(?=["'“‘(\[]?[A-Z0-9À-ÖØ-Þ])|\n+"""
)
_ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "gen", "col", "lt", "sgt", "capt",
    "gov", "sen", "rep", "u.s", "u.k", "u.n", "e.g", "i.e", "etc", "vs", "no", "jan",
    "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "inc",
    "ltd", "co", "corp", "mt", "ft",
}  # fmt: skip


@dataclass(frozen=True)
class Chunk:
    chunk_id: str
    source: str
    index: int
    start: int
    end: int
    text: str


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences (and lines) of ``text``, whitespace trimmed."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _SENTENCE_END.finditer(text):
        if (
            m.group(0).strip() == ""
            and "\n" not in m.group(0)
            and (_ends_in_abbreviation(text, m.start()) or _ends_in_item_number(text, m.start()))
        ):
            continue
        spans.extend(_trimmed(text, start, m.start()))
        start = m.end()
    spans.extend(_trimmed(text, start, len(text)))
    return spans


def _ends_in_abbreviation(text: str, pos: int) -> bool:
    word = re.search(r"([\w.]+)\.$", text[max(0, pos - 12) : pos])
    if not word:
        return False
    token = word.group(1).lower()
    return token in _ABBREVIATIONS or (len(token) == 1 and token.isalpha())


_ITEM_NUMBER = re.compile(r"(?:^|\n)[ \t]{0,3}\d{1,3}\.$")


def _ends_in_item_number(text: str, pos: int) -> bool:
    """Whether ``text[:pos]`` ends in a numbered list item's marker ("\n2."): the item
    goes on after it."""
    return bool(_ITEM_NUMBER.search(text, max(0, pos - 8), pos))


def _trimmed(text: str, start: int, end: int) -> list[tuple[int, int]]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return [(start, end)] if end > start else []


def _split_long(text: str, span: tuple[int, int], limit: int) -> Iterator[tuple[int, int]]:
    start, end = span
    while end - start > limit:
        cut = text.rfind(" ", start + limit // 2, start + limit)
        if cut <= start:
            cut = start + limit
        yield from _trimmed(text, start, cut)
        start = cut
    yield from _trimmed(text, start, end)


def chunk_id(source: str, content_hash: str, index: int) -> str:
    """Stable id: the same file content at the same path always gives the same ids."""
    path_key = hashlib.sha1(source.encode("utf-8")).hexdigest()[:12]
    return f"{path_key}-{content_hash[:12]}-{index:05d}"


def chunk(document: Document, chunk_chars: int = 600, overlap: int = 1) -> list[Chunk]:
    """Cut a document into overlapping, sentence-aligned chunks."""
    if chunk_chars < 50:
        raise ValueError("chunk_chars must be at least 50")
    text = document.text
    # Front matter is metadata (read into the document's title, date, author ...), not
    # article text: no passage starts with it, offsets stay the file's.
    body = len(text) - len(without_front_matter(text))
    sentences: list[tuple[int, int]] = []
    for a, b in sentence_spans(text[body:]):
        sentences.extend(_split_long(text, (body + a, body + b), chunk_chars))
    windows: list[tuple[int, int]] = []  # sentence index ranges [i, j)
    covered = 0  # sentences [0, covered) are in some window already
    i = 0
    while covered < len(sentences):
        # Repeat up to ``overlap`` sentences of the previous window, but only those that
        # fit beside the first new sentence: a window must never hold nothing new.
        if windows:
            i = max(covered - max(overlap, 0), windows[-1][0] + 1)
            while i < covered and sentences[covered][1] - sentences[i][0] > chunk_chars:
                i += 1
        j = covered + 1
        while j < len(sentences) and sentences[j][1] - sentences[i][0] <= chunk_chars:
            j += 1
        windows.append((i, j))
        covered = j
    chunks = []
    for index, (i, j) in enumerate(windows):
        start, end = sentences[i][0], sentences[j - 1][1]
        chunks.append(
            Chunk(
                chunk_id=chunk_id(document.source, document.content_hash, index),
                source=document.source,
                index=index,
                start=start,
                end=end,
                text=text[start:end],
            )
        )
    return chunks
