"""What the store's records hold, written and read back here and nowhere else.

Three value types: ``StoredChunk`` (a chunk record), ``FileRecord`` (a manifest
record: one per indexed file) and ``ChunkFilter`` (which chunks a read may return,
in no store's syntax; ``rag.chroma.where_clause`` translates it).

A chunk is stored as its vector, its text, and a flat metadata record (Chroma takes
str, int, float and bool values, never None, lists or nested objects).  ``StoredChunk``
is that record as the rest of the code sees it; ``to_metadata`` writes it and
``from_metadata`` reads it back, field by field, through one codec per field type
(``_CODECS``), so the two directions cannot drift apart.

To add a field (an article's author, say):

1. add it to ``StoredChunk`` with a default (``author: str | None = None``): an older
   store without it then reads the default, so nothing has to be rebuilt to open it;
2. fill it in ``from_document``.

Nothing else changes: the writer, the reader and the round-trip test follow the
dataclass.  A field of a type ``_CODECS`` lacks fails at import, not in a user's store.
Old chunks only get the new value when their file is indexed again: bump
``rag.chunking.CHUNKER_VERSION`` when every chunk must carry it at once.

Two keys are derived, for the store's filters only: ``text_hash`` (vector reuse across
files and versions) and ``published_ord`` (the date as YYYYMMDD: Chroma compares
numbers only).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, fields
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rag.chunking import Chunk
    from rag.documents import Document

TEXT_HASH = "text_hash"  # derived: the chunk text's hash, for vector reuse
DATE_ORDINAL = "published_ord"  # derived: YYYYMMDD, 0 when undated, for date filters
# Stored apart from the metadata record, not in it.
_NOT_METADATA = ("chunk_id", "text")


@dataclass(frozen=True)
class StoredChunk:
    chunk_id: str
    source: str  # the file, relative to the articles folder
    start: int  # character offsets into the file's text
    end: int
    text: str
    title: str
    published: str | None  # ISO date
    page: int | None = None  # PDFs: the 1-based page the chunk starts on
    page_breaks: tuple[int, ...] = ()  # offsets in the file where later pages start
    content_hash: str = ""  # the version of the file the chunk was cut from
    index: int = 0  # its place among the file's chunks
    # The article's news metadata (rag/metadata.py); None where it does not say.
    author: str | None = None
    outlet: str | None = None
    url: str | None = None  # canonical
    language: str | None = None
    updated: str | None = None  # ISO date


@dataclass(frozen=True)
class FileRecord:
    """One indexed file in the manifest."""

    source: str
    content_hash: str
    size: int
    modified: float
    title: str
    published: str | None
    chunks: int
    state: str  # "pending" while its chunks are being replaced, "done" after
    indexed_at: float


@dataclass(frozen=True)
class ChunkFilter:
    """Which chunks a read may return.  Nothing set: every chunk."""

    sources: tuple[str, ...] | None = None  # these files only (an empty tuple: none at all)
    after: str | None = None  # ISO dates, inclusive; a date filter leaves undated chunks out
    before: str | None = None

    @classmethod
    def source(cls, source: str) -> ChunkFilter:
        return cls(sources=(source,))

    @property
    def empty(self) -> bool:
        """True when no chunk can pass (no sources at all)."""
        return self.sources is not None and not self.sources


def from_document(doc: Document, piece: Chunk) -> StoredChunk:
    """The record of one chunk cut from ``doc``."""
    return StoredChunk(
        chunk_id=piece.chunk_id,
        source=doc.source,
        start=piece.start,
        end=piece.end,
        text=piece.text,
        title=doc.title,
        published=doc.published,
        page=doc.page_at(piece.start),
        page_breaks=tuple(o for o in doc.pages if piece.start < o < piece.end),
        content_hash=doc.content_hash,
        index=piece.index,
        author=doc.author,
        outlet=doc.outlet,
        url=doc.url,
        language=doc.language,
        updated=doc.updated,
    )


def text_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def date_ordinal(iso: str | None) -> int:
    """YYYY-MM-DD -> YYYYMMDD as an int (Chroma filters ranges on numbers only)."""
    return int(iso.replace("-", "")) if iso else 0


@dataclass(frozen=True)
class _Codec:
    encode: Callable[[Any], str | int]
    decode: Callable[[Any], Any]  # from the stored value, or None when the key is absent


# Keyed by the field's annotation as written.  Chroma stores no None: "" and 0 stand for it.
_CODECS: dict[str, _Codec] = {
    "str": _Codec(lambda v: v, lambda v: str(v) if v is not None else ""),
    "int": _Codec(int, lambda v: int(v or 0)),
    "str | None": _Codec(lambda v: v or "", lambda v: str(v) if v else None),
    "int | None": _Codec(lambda v: v or 0, lambda v: int(v or 0) or None),
    "tuple[int, ...]": _Codec(
        lambda v: ",".join(str(o) for o in v),
        lambda v: tuple(int(o) for o in str(v or "").split(",") if o),
    ),
}
_FIELDS: tuple[tuple[str, _Codec, Any], ...] = tuple(
    (f.name, _CODECS[str(f.type)], f.default)
    for f in fields(StoredChunk)
    if f.name not in _NOT_METADATA
)


def to_metadata(chunk: StoredChunk) -> dict[str, str | int]:
    """The flat record Chroma keeps beside the chunk's vector and text."""
    meta = {name: codec.encode(getattr(chunk, name)) for name, codec, _ in _FIELDS}
    meta[TEXT_HASH] = text_hash(chunk.text)
    meta[DATE_ORDINAL] = date_ordinal(chunk.published)
    return meta


def from_metadata(chunk_id: str, meta: Mapping[str, Any], text: str | None) -> StoredChunk:
    """The chunk a stored record describes; keys it lacks take their defaults."""
    values = {
        name: codec.decode(meta.get(name)) if name in meta or default is MISSING else default
        for name, codec, default in _FIELDS
    }
    return StoredChunk(chunk_id=chunk_id, text=text or "", **values)


def file_to_metadata(r: FileRecord) -> dict[str, str | int | float]:
    """A manifest record as stored (its source is the record's id)."""
    return {
        "content_hash": r.content_hash,
        "size": r.size,
        "modified": r.modified,
        "title": r.title,
        "published": r.published or "",
        "chunks": r.chunks,
        "state": r.state,
        "indexed_at": r.indexed_at,
    }


def file_from_metadata(source: str, m: Mapping[str, Any]) -> FileRecord:
    return FileRecord(
        source=source,
        content_hash=str(m.get("content_hash", "")),
        size=int(m.get("size", 0)),
        modified=float(m.get("modified", 0.0)),
        title=str(m.get("title", "")),
        published=str(m.get("published") or "") or None,
        chunks=int(m.get("chunks", 0)),
        state=str(m.get("state", "pending")),
        indexed_at=float(m.get("indexed_at", 0.0)),
    )
