"""The store's two Chroma collections: opened, kept current, and called safely.

A ``Store`` holds a client (embedded, or a server's) and handles on its chunk and
manifest collections.  Several processes may share one store: an embedded one is
re-opened before a query or a write whenever another process moved its
``generation`` (``rag.chroma.Embedded`` says why), and handles of a collection that
another process re-created are taken again.  Every call goes through ``_call``, so a
failure is one ``StoreError`` sentence naming the fix.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rag import chroma
from rag.chroma import StoreError
from rag.config import Settings

FILES_SUFFIX = "-files"
PAGE = 2000


class Collections:
    """A store's client and its chunk and manifest collections, behind safe calls."""

    def __init__(self, settings: Settings, client: Any | None = None) -> None:
        self.settings = settings
        self._shared: chroma.Embedded | None = None
        self._client = client
        if client is None and settings.chroma_url:
            self._client = chroma.open_server(settings)
        elif client is None:
            self._shared = chroma.embedded(settings)
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
        shared.catch_up(self.name, int(self.meta().get("generation", 0)), self.settings)

    def _own_change(self, old: int, new: int) -> None:
        """This process moved the generation: its loaded index stays current if it was."""
        if self._shared is not None:
            self._shared.moved(self.name, old, new)

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
                raise StoreError(self._describe(exc)) from exc
        try:
            return again(*args, **kwargs)
        except Exception as exc:
            raise StoreError(self._describe(exc)) from exc

    def _describe(self, exc: Exception) -> str:
        return chroma.describe_failure(exc, self.location, chroma.token_of(self.settings))

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
