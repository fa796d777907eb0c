"""The Store: chunks, the file manifest and a generation counter, behind one small API.

``rag.chroma`` opens the clients (embedded or a server), names failures and writes
Chroma's ``where`` syntax; ``rag.schema`` says what a chunk record and a manifest
record hold.  Callers filter with ``ChunkFilter``, never in a store's own syntax.

Two collections live side by side:

- ``<name>``: one record per chunk (vector, text, source, offsets, title, date).
  Its collection metadata records the embedding model, its dimension, the chunker
  version and a ``generation`` counter bumped by every indexing run that changes
  anything, so readers (the BM25 side, other processes) know when to refresh.
- ``<name>-files``: the manifest, one record per indexed file (content hash, size,
  title, chunk count, and ``state``: ``pending`` while its chunks are being
  replaced, ``done`` after).  Keeping the manifest in Chroma means an embedded
  store and a shared server behave the same way.

Vectors are always passed explicitly: Chroma's default embedding function would
download a model, which cannot work offline.

``rag.store_collections`` holds the client and the collection handles (re-opened
when another process changed the store) and turns failures into one sentence.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from rag.chroma import StoreDamaged, StoreError, peek_generation, where_clause
from rag.schema import (
    TEXT_HASH,
    ChunkFilter,
    FileRecord,
    StoredChunk,
    date_ordinal,
    file_from_metadata,
    file_to_metadata,
    from_metadata,
    text_hash,
    to_metadata,
)
from rag.store_collections import FILES_SUFFIX, PAGE, Collections

# The store's API; the value types live in rag.schema, the Chroma specifics in rag.chroma.
__all__ = ["ChunkFilter", "FileRecord", "Store", "StoreDamaged", "StoreError", "StoredChunk"]
__all__ += ["date_ordinal", "next_generation", "peek_generation", "text_hash"]


class Store(Collections):
    """The chunk collection and the manifest collection, behind one small API."""

    def set_meta(self, **values: Any) -> None:
        meta = self.meta()
        meta.update({k: v for k, v in values.items() if v is not None})
        self._call(self.chunks.modify, metadata=meta)

    @property
    def generation(self) -> int:
        try:
            return int(self.meta().get("generation", 0))
        except StoreError:
            return 0

    def bump_generation(self, **values: Any) -> int:
        """Move to a new generation, writing ``values`` in the same metadata update."""
        old = self.generation
        new = next_generation(old)
        self.set_meta(**values, generation=new)
        self._own_change(old, new)
        return new

    def reset(self, **values: Any) -> None:
        """Drop every chunk and manifest record (a rebuild or a model change).

        The manifest goes first: a run killed in between leaves chunks without
        records, which the next run sweeps away, never records without chunks.
        """
        self.sync()
        gen = self.generation
        new = next_generation(gen)
        for name in (self.name + FILES_SUFFIX, self.name):
            with contextlib.suppress(Exception):
                self.client.delete_collection(name)
        self._chunks = self._files = None
        self.set_meta(**values, generation=new)
        self._own_change(gen, new)

    # --- manifest ----------------------------------------------------------
    def file_records(self) -> dict[str, FileRecord]:
        out: dict[str, FileRecord] = {}
        for ids, metas, _docs, _embs in self._pages(self.files, include=["metadatas"]):
            for source, m in zip(ids, metas, strict=True):
                out[source] = file_from_metadata(source, m)
        return out

    def put_file(self, record: FileRecord) -> None:
        self.put_files([record])

    def put_files(self, records: Sequence[FileRecord]) -> None:
        """Write many manifest records in one go."""
        if not records:
            return
        self.sync()
        step = max(1, min(PAGE, self._max_batch()))
        for i in range(0, len(records), step):
            batch = records[i : i + step]
            self._call(
                self.files.upsert,
                ids=[r.source for r in batch],
                embeddings=[[1.0]] * len(batch),
                metadatas=[file_to_metadata(r) for r in batch],
            )

    def delete_files(self, sources: Sequence[str]) -> None:
        if sources:
            self.sync()
            self._call(self.files.delete, ids=list(sources))

    # --- chunks ------------------------------------------------------------
    def add_chunks(
        self, chunks: Sequence[StoredChunk], embeddings: Sequence[Sequence[float]]
    ) -> None:
        """Write chunks with their vectors (a chunk id already stored is replaced)."""
        self.sync()
        step = max(1, min(PAGE, self._max_batch()))
        for i in range(0, len(chunks), step):
            batch = chunks[i : i + step]
            self._call(
                self.chunks.upsert,
                ids=[c.chunk_id for c in batch],
                embeddings=[list(e) for e in embeddings[i : i + step]],
                documents=[c.text for c in batch],
                metadatas=[to_metadata(c) for c in batch],
            )

    def delete_chunks(self, source: str, keep_hash: str | None = None) -> None:
        """Remove a file's chunks, except those of content ``keep_hash`` (its new version)."""
        where: dict[str, Any] = {"source": source}
        if keep_hash is not None:
            where = {"$and": [{"source": source}, {"content_hash": {"$ne": keep_hash}}]}
        self.sync()
        self._call(self.chunks.delete, where=where)

    def delete_sources(self, sources: Sequence[str]) -> None:
        """Remove every chunk, then the manifest record, of files that are gone."""
        sources = list(sources)
        if not sources:
            return
        self.sync()
        for i in range(0, len(sources), 100):
            self._call(self.chunks.delete, where={"source": {"$in": sources[i : i + 100]}})
        self._call(self.files.delete, ids=sources)

    def vectors_for(self, sources: Iterable[str]) -> dict[str, list[float]]:
        """Existing vectors of these files' chunks, keyed by chunk text hash (for reuse)."""
        sources = list(sources)
        out: dict[str, list[float]] = {}
        for i in range(0, len(sources), 100):
            where = where_clause(ChunkFilter(sources=tuple(sources[i : i + 100])))
            for _ids, metas, _docs, embs in self._pages(
                self.chunks, include=["metadatas", "embeddings"], where=where
            ):
                for m, e in zip(metas, embs, strict=True):
                    out[str(m.get(TEXT_HASH))] = [float(x) for x in e]
        return out

    def delete_chunk_ids(self, ids: Sequence[str]) -> None:
        if not ids:
            return
        self.sync()
        step = max(1, min(PAGE, self._max_batch()))
        for i in range(0, len(ids), step):
            self._call(self.chunks.delete, ids=list(ids[i : i + step]))

    def chunk_versions(self) -> dict[tuple[str, str], list[str]]:
        """Every chunk id grouped by (source, content hash), for the crash-repair sweep."""
        out: dict[tuple[str, str], list[str]] = {}
        for ids, metas, _docs, _embs in self._pages(self.chunks, include=["metadatas"]):
            for cid, m in zip(ids, metas, strict=True):
                c = from_metadata(cid, m, None)
                out.setdefault((c.source, c.content_hash), []).append(cid)
        return out

    def count(self) -> int:
        return int(self._call(self.chunks.count))

    def file_count(self) -> int:
        return int(self._call(self.files.count))

    def iter_chunks(self, where: ChunkFilter | None = None) -> Iterator[StoredChunk]:
        if where is not None and where.empty:
            return
        for ids, metas, docs, _embs in self._pages(
            self.chunks, include=["metadatas", "documents"], where=where_clause(where)
        ):
            for cid, m, d in zip(ids, metas, docs, strict=True):
                yield from_metadata(cid, m, d)

    def get_chunks(self, ids: Sequence[str]) -> list[StoredChunk]:
        if not ids:
            return []
        res = self._call(self.chunks.get, ids=list(ids), include=["metadatas", "documents"])
        by_id = {
            cid: from_metadata(cid, m, d)
            for cid, m, d in zip(res["ids"], res["metadatas"], res["documents"], strict=True)
        }
        return [by_id[i] for i in ids if i in by_id]

    def get_chunks_with_vectors(
        self, ids: Sequence[str]
    ) -> list[tuple[StoredChunk, Sequence[float] | None]]:
        """These chunks with their vectors, in the order asked; ids gone meanwhile are left out."""
        if not ids:
            return []
        res = self._call(
            self.chunks.get, ids=list(ids), include=["metadatas", "documents", "embeddings"]
        )
        embs = res.get("embeddings")
        embs = list(embs) if embs is not None else [None] * len(res["ids"])
        found = {
            cid: (from_metadata(cid, m or {}, d), e)
            for cid, m, d, e in zip(
                res["ids"], res["metadatas"], res["documents"], embs, strict=True
            )
        }
        return [found[i] for i in ids if i in found]

    def query(
        self, embedding: Sequence[float], n: int, where: ChunkFilter | None = None
    ) -> list[tuple[StoredChunk, float]]:
        """Nearest chunks with cosine similarity (1 - distance), best first."""
        if where is not None and where.empty:
            return []
        self.sync()
        total = self.count()
        if total == 0:
            return []
        res = self._call(
            self.chunks.query,
            query_embeddings=[list(embedding)],
            n_results=min(n, total),
            where=where_clause(where),
            include=["metadatas", "documents", "distances"],
        )
        return [
            (from_metadata(cid, m, d), 1.0 - float(dist))
            for cid, m, d, dist in zip(
                res["ids"][0],
                res["metadatas"][0],
                res["documents"][0],
                res["distances"][0],
                strict=True,
            )
            # An embedded engine loaded before another process's run deleted a chunk still
            # finds it in its vector index, with no record: gone, left out.
            if m is not None
        ]


def next_generation(current: int) -> int:
    """A generation number never used before, even after the collection was reset.

    Readers cache derived data (the BM25 index) by generation; a counter restarting
    at 0 after a rebuild could hand them a stale copy with a matching number.
    """
    return max(current + 1, time.time_ns() // 1000)
