"""Chroma: the embedded store or a server, holding chunks and the file manifest.

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

Several processes may share one store.  With a server, the server is the single
copy.  The embedded engine, though, loads each collection's vector index (HNSW)
into the process on first use and never sees vectors another process adds after
that (``get`` and ``count`` do, ``query`` does not), and writing through such a
stale index saves it over the newer one on disk, losing the other process's
vectors.  So each process keeps one client per store folder, and re-opens it
before a query or a write whenever the ``generation`` moved without it.
"""

from __future__ import annotations

import contextlib
import hashlib
import socket
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from rag.config import Settings
from rag.errors import RagError

FILES_SUFFIX = "-files"
PAGE = 2000
# An unreachable server must fail in seconds: Chroma's HTTP client never times out.
CONNECT_TIMEOUT = 5.0
REQUEST_TIMEOUT = 300.0


class StoreError(RagError):
    """The store cannot be used; the message is one sentence naming the fix."""


class StoreDamaged(StoreError):
    """The embedded store's files cannot be opened (not a full disk, not permissions)."""


@dataclass(frozen=True)
class FileRecord:
    source: str
    content_hash: str
    size: int
    modified: float
    title: str
    published: str | None
    chunks: int
    state: str  # "pending" or "done"
    indexed_at: float


@dataclass(frozen=True)
class StoredChunk:
    chunk_id: str
    source: str
    start: int
    end: int
    text: str
    title: str
    published: str | None
    page: int | None = None  # PDFs: the 1-based page the chunk starts on
    page_breaks: tuple[int, ...] = ()  # offsets in the file where later pages start


def text_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def date_ordinal(iso: str | None) -> int:
    """YYYY-MM-DD -> YYYYMMDD as an int (Chroma filters ranges on numbers only)."""
    return int(iso.replace("-", "")) if iso else 0


def open_client(settings: Settings) -> Any:
    """A Chroma client: HttpClient when RAG_CHROMA_URL is set, else the embedded store."""
    import chromadb

    chroma_settings = chromadb.Settings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_url:
        from urllib.parse import urlparse

        url = urlparse(settings.chroma_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise StoreError(
                f"RAG_CHROMA_URL={settings.chroma_url!r} is not an http(s)://host:port address; fix it."
            )
        port = url.port or (443 if url.scheme == "https" else 8000)
        try:
            socket.create_connection((url.hostname, port), timeout=CONNECT_TIMEOUT).close()
            client = chromadb.HttpClient(
                host=url.hostname, port=port, ssl=url.scheme == "https", settings=chroma_settings
            )
            with contextlib.suppress(AttributeError, ImportError):
                import httpx

                client._server._session.timeout = httpx.Timeout(
                    REQUEST_TIMEOUT, connect=CONNECT_TIMEOUT
                )
            client.heartbeat()
        except Exception as exc:
            raise StoreError(
                f"The Chroma server at {settings.chroma_url} is unreachable ({exc.__class__.__name__}); "
                "start it (`chroma run`) or unset RAG_CHROMA_URL to use the embedded store."
            ) from None
        return client
    return _embedded(settings).client


@dataclass
class _Embedded:
    """This process's client for one embedded store folder, shared by all its Stores."""

    client: Any
    epoch: int = 0  # bumped by each re-open, so Stores drop their collection handles
    generations: dict[str, int] = field(default_factory=dict)  # what the loaded index holds
    lock: threading.Lock = field(default_factory=threading.Lock)


_EMBEDDED: dict[str, _Embedded] = {}
_EMBEDDED_LOCK = threading.Lock()


def _embedded(settings: Settings) -> _Embedded:
    path = str(settings.store_dir.resolve())
    with _EMBEDDED_LOCK:
        if path not in _EMBEDDED:
            _EMBEDDED[path] = _Embedded(_persistent_client(settings, path))
        return _EMBEDDED[path]


def _reopen(shared: _Embedded, settings: Settings) -> None:
    """A new engine for the folder, which loads the vector indexes from disk again."""
    path = str(settings.store_dir.resolve())
    _forget_engine(path)
    shared.client = _persistent_client(settings, path)
    shared.epoch += 1
    shared.generations.clear()


def _forget_engine(path: str) -> None:
    """Chroma caches one engine per folder per process.  Forget it without stopping
    it: calls in flight on other threads finish on it, and it is freed after."""
    from chromadb.api.shared_system_client import SharedSystemClient

    try:
        SharedSystemClient._identifier_to_system.pop(path, None)
        SharedSystemClient._identifier_to_refcount.pop(path, None)
    except AttributeError:
        SharedSystemClient.clear_system_cache()


def _persistent_client(settings: Settings, path: str) -> Any:
    import chromadb

    chroma_settings = chromadb.Settings(anonymized_telemetry=False, allow_reset=False)
    try:
        settings.store_dir.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=path, settings=chroma_settings)
    except PermissionError:
        raise StoreError(
            f"Cannot write the store at {settings.store_dir}; make it writable or set RAG_HOME."
        ) from None
    except Exception as exc:
        _forget_engine(path)  # a half-started engine would fail the next try too
        # A full disk or a read-only folder is no damage: never advise a rebuild for it.
        known = known_failure(exc, str(settings.store_dir))
        if known:
            raise StoreError(known) from None
        raise StoreDamaged(
            f"Cannot open the store at {settings.store_dir} ({exc}); "
            "run `rag index --rebuild` to rebuild it from the articles."
        ) from None


class Store:
    """The chunk collection and the manifest collection, behind one small API."""

    def __init__(self, settings: Settings, client: Any | None = None) -> None:
        self.settings = settings
        self._shared: _Embedded | None = None
        self._client = client
        if client is None and settings.chroma_url:
            self._client = open_client(settings)
        elif client is None:
            self._shared = _embedded(settings)
        self._epoch = self._shared.epoch if self._shared else 0
        self.name = settings.collection
        self._chunks: Any | None = None
        self._files: Any | None = None

    @property
    def client(self) -> Any:
        if self._shared is None:
            return self._client
        if self._epoch != self._shared.epoch:  # re-opened: handles of the old engine are stale
            self._chunks = self._files = None
            self._epoch = self._shared.epoch
        return self._shared.client

    @property
    def location(self) -> str:
        return self.settings.chroma_url or str(self.settings.store_dir)

    def sync(self) -> None:
        """Embedded store: re-open it if another process changed it since it was loaded.

        Called before every vector query and every write; a no-op with a server.
        """
        shared = self._shared
        if shared is None:
            return
        generation = int(self.meta().get("generation", 0))
        with shared.lock:
            # First use in this process: nothing is loaded yet, so the index will
            # be at least this new when the coming query or write loads it.
            seen = shared.generations.setdefault(self.name, generation)
            if seen != generation:
                _reopen(shared, self.settings)
                shared.generations[self.name] = generation

    def _own_change(self, old: int, new: int) -> None:
        """This process moved the generation: its loaded index stays current if it was."""
        if self._shared is not None:
            with self._shared.lock:
                if self._shared.generations.get(self.name) == old:
                    self._shared.generations[self.name] = new

    # --- collections -----------------------------------------------------
    @property
    def chunks(self) -> Any:
        client = self.client  # first, so a re-opened engine's handles are dropped
        if self._chunks is None:
            self._chunks = self._call(
                client.get_or_create_collection,
                self.name,
                embedding_function=None,
                metadata={"generation": 0},
                configuration={"hnsw": {"space": "cosine"}},
            )
        return self._chunks

    @property
    def files(self) -> Any:
        client = self.client  # first, so a re-opened engine's handles are dropped
        if self._files is None:
            self._files = self._call(
                client.get_or_create_collection,
                self.name + FILES_SUFFIX,
                embedding_function=None,
                metadata={"kind": "manifest"},
            )
        return self._files

    def meta(self) -> dict[str, Any]:
        """The chunk collection's metadata, read fresh (another process may have changed it)."""
        try:
            col = self.client.get_collection(self.name, embedding_function=None)
        except Exception:
            self._chunks = None
            col = self.chunks
        self._chunks = col
        return dict(col.metadata or {})

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
                out[source] = FileRecord(
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
        return out

    def put_file(self, record: FileRecord) -> None:
        meta = {
            "content_hash": record.content_hash,
            "size": record.size,
            "modified": record.modified,
            "title": record.title,
            "published": record.published or "",
            "chunks": record.chunks,
            "state": record.state,
            "indexed_at": record.indexed_at,
        }
        self.sync()
        self._call(self.files.upsert, ids=[record.source], embeddings=[[1.0]], metadatas=[meta])

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
                metadatas=[_record_meta(r) for r in batch],
            )

    def delete_files(self, sources: Sequence[str]) -> None:
        if sources:
            self.sync()
            self._call(self.files.delete, ids=list(sources))

    # --- chunks ------------------------------------------------------------
    def add_chunks(
        self,
        ids: Sequence[str],
        embeddings: Sequence[Sequence[float]],
        texts: Sequence[str],
        metadatas: Sequence[dict[str, Any]],
    ) -> None:
        self.sync()
        step = max(1, min(PAGE, self._max_batch()))
        for i in range(0, len(ids), step):
            self._call(
                self.chunks.upsert,
                ids=list(ids[i : i + step]),
                embeddings=[list(e) for e in embeddings[i : i + step]],
                documents=list(texts[i : i + step]),
                metadatas=list(metadatas[i : i + step]),
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
            where = {"source": {"$in": sources[i : i + 100]}}
            for _ids, metas, _docs, embs in self._pages(
                self.chunks, include=["metadatas", "embeddings"], where=where
            ):
                for m, e in zip(metas, embs, strict=True):
                    out[str(m.get("text_hash"))] = [float(x) for x in e]
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
                key = (str(m.get("source", "")), str(m.get("content_hash", "")))
                out.setdefault(key, []).append(cid)
        return out

    def count(self) -> int:
        return int(self._call(self.chunks.count))

    def file_count(self) -> int:
        return int(self._call(self.files.count))

    def iter_chunks(self, where: dict[str, Any] | None = None) -> Iterator[StoredChunk]:
        for ids, metas, docs, _embs in self._pages(
            self.chunks, include=["metadatas", "documents"], where=where
        ):
            for cid, m, d in zip(ids, metas, docs, strict=True):
                yield to_stored_chunk(cid, m, d)

    def get_chunks(self, ids: Sequence[str]) -> list[StoredChunk]:
        if not ids:
            return []
        res = self._call(self.chunks.get, ids=list(ids), include=["metadatas", "documents"])
        by_id = {
            cid: to_stored_chunk(cid, m, d)
            for cid, m, d in zip(res["ids"], res["metadatas"], res["documents"], strict=True)
        }
        return [by_id[i] for i in ids if i in by_id]

    def query(
        self, embedding: Sequence[float], n: int, where: dict[str, Any] | None = None
    ) -> list[tuple[StoredChunk, float]]:
        """Nearest chunks with cosine similarity (1 - distance), best first."""
        self.sync()
        total = self.count()
        if total == 0:
            return []
        res = self._call(
            self.chunks.query,
            query_embeddings=[list(embedding)],
            n_results=min(n, total),
            where=where,
            include=["metadatas", "documents", "distances"],
        )
        return [
            (to_stored_chunk(cid, m, d), 1.0 - float(dist))
            for cid, m, d, dist in zip(
                res["ids"][0],
                res["metadatas"][0],
                res["documents"][0],
                res["distances"][0],
                strict=True,
            )
        ]

    # --- helpers -------------------------------------------------------------
    def _max_batch(self) -> int:
        try:
            return int(self.client.get_max_batch_size())
        except Exception:
            return PAGE

    def _pages(
        self, col: Any, include: list[str], where: dict[str, Any] | None = None
    ) -> Iterator[tuple[list[str], list[dict[str, Any]], list[str], list[Any]]]:
        offset = 0
        while True:
            res = self._call(col.get, include=include, where=where, limit=PAGE, offset=offset)
            ids = res["ids"]
            if not ids:
                return
            metas = res.get("metadatas") or [{}] * len(ids)
            docs = res.get("documents") or [""] * len(ids)
            embs = res.get("embeddings")
            embs = list(embs) if embs is not None else [None] * len(ids)
            yield ids, [m or {} for m in metas], docs, embs
            if len(ids) < PAGE:
                return
            offset += PAGE

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Run a Chroma call, turning failures into one clear StoreError sentence."""
        try:
            return fn(*args, **kwargs)
        except StoreError:
            raise
        except Exception as exc:
            again = self._on_replaced_collection(fn, exc)
            if again is None:
                raise StoreError(describe_failure(exc, self.location)) from exc
        try:
            return again(*args, **kwargs)
        except Exception as exc:
            raise StoreError(describe_failure(exc, self.location)) from exc

    def _on_replaced_collection(self, fn: Any, exc: Exception) -> Any | None:
        """The same method on the current collection, when another process re-created it.

        A rebuild elsewhere (``rag index --rebuild``, a model change) deletes and
        re-creates the collections; handles held here then name a collection that no
        longer exists.
        """
        owner = getattr(fn, "__self__", None)
        if owner is None or "does not exist" not in str(exc):
            return None
        if owner is self._chunks:
            self._chunks = self._files = None
            return getattr(self.chunks, fn.__name__)
        if owner is self._files:
            self._chunks = self._files = None
            return getattr(self.files, fn.__name__)
        return None


def describe_failure(exc: Exception, location: str) -> str:
    text = f"{exc.__class__.__name__}: {exc}"
    return known_failure(exc, location) or (
        f"The store at {location} failed ({text[:200]}); run `rag index --rebuild` if it persists."
    )


def known_failure(exc: Exception, location: str) -> str | None:
    """One sentence for the failures with a known fix (read-only, disk full, server down)."""
    low = f"{exc.__class__.__name__}: {exc}".lower()
    if "readonly" in low or "read-only" in low or "permission" in low:
        return f"The store at {location} is read-only; make it writable or set RAG_HOME elsewhere."
    if ("disk" in low and ("full" in low or "space" in low)) or "no space" in low:
        return f"The disk holding {location} is full; free some space and run `rag index` again."
    if "connect" in low or "timed out" in low or "timeout" in low:
        return f"The Chroma server at {location} is unreachable; start it or unset RAG_CHROMA_URL."
    return None


def peek_generation(settings: Settings) -> int | None:
    """The embedded store's generation, read without starting Chroma (slow to import).

    Reads Chroma's own SQLite file, read-only.  Any doubt (a server, no store yet,
    another schema) gives None, and the caller takes the slow, sure path instead.
    """
    if settings.chroma_url:
        return None
    db = settings.store_dir / "chroma.sqlite3"
    if not db.is_file():
        return None
    try:
        con = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True, timeout=2)
        try:
            rows = con.execute(
                "SELECT m.int_value FROM collection_metadata m "
                "JOIN collections c ON c.id = m.collection_id "
                "WHERE c.name = ? AND m.key = 'generation'",
                (settings.collection,),
            ).fetchall()
        finally:
            con.close()
    except sqlite3.Error:
        return None
    return int(rows[0][0]) if len(rows) == 1 and rows[0][0] is not None else None


def next_generation(current: int) -> int:
    """A generation number never used before, even after the collection was reset.

    Readers cache derived data (the BM25 index) by generation; a counter restarting
    at 0 after a rebuild could hand them a stale copy with a matching number.
    """
    return max(current + 1, time.time_ns() // 1000)


def _record_meta(r: FileRecord) -> dict[str, Any]:
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


def to_stored_chunk(cid: str, m: dict[str, Any], text: str | None) -> StoredChunk:
    return StoredChunk(
        chunk_id=cid,
        source=str(m.get("source", "")),
        start=int(m.get("start", 0)),
        end=int(m.get("end", 0)),
        text=text or "",
        title=str(m.get("title", "")),
        published=str(m["published"]) if m.get("published") else None,
        page=int(m.get("page") or 0) or None,
        page_breaks=tuple(int(o) for o in str(m.get("page_breaks") or "").split(",") if o),
    )


def now() -> float:
    return time.time()
