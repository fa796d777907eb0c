"""Opening Chroma: the embedded engine or a server, and what its failures mean.

The only module that imports ``chromadb``; ``rag.store`` builds the Store API on the
clients opened here.

A server (``RAG_CHROMA_URL``) is reached over HTTP, or HTTPS for an ``https://``
address (certificates checked against certifi's bundle, or ``SSL_CERT_FILE``), with
``RAG_CHROMA_TOKEN`` sent as Chroma's token header (``X-Chroma-Token``).  Chroma
1.5's own ``chroma run`` checks no token (its single-node server authenticates
nobody); a token matters for Chroma Cloud or a server behind an authenticating proxy.

The embedded engine is opened once per store folder per process (``Embedded``), and
re-opened when another process changed the store: see ``rag.store``.

Private internals of chromadb are used in three places, each written against
``CHROMADB_VERSION``; tests/test_chroma.py fails, naming ``PRIVATE_INTERNALS``, when
the installed chromadb is another version, and checks each one still exists:

- ``forget_engine``: ``SharedSystemClient._identifier_to_system`` and
  ``_identifier_to_refcount``, Chroma's per-process engine cache;
- ``open_server``: ``client._server._session``, the HTTP client's ``httpx.Client``,
  given timeouts (Chroma sets none, so a hung server would hang a question);
- ``peek_generation``: SQL against ``chroma.sqlite3`` (tables ``collections`` and
  ``collection_metadata``), to read the generation without importing chromadb.

Each degrades to a slower or less careful path, never a wrong answer, if the internal
is gone; the test is what says so.
"""

from __future__ import annotations

import contextlib
import re
import socket
import sqlite3
import string
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from rag.config import Settings
from rag.errors import RagError
from rag.schema import DATE_ORDINAL, ChunkFilter, date_ordinal

CHROMADB_VERSION = "1.5.9"  # the version the private internals below were checked against
PRIVATE_INTERNALS = (
    "chromadb.api.shared_system_client.SharedSystemClient._identifier_to_system and "
    "._identifier_to_refcount (rag.chroma.forget_engine)",
    "chromadb.HttpClient(...)._server._session, an httpx.Client (rag.chroma.open_server)",
    "chroma.sqlite3's tables collections(id, name) and "
    "collection_metadata(collection_id, key, int_value) (rag.chroma.peek_generation)",
)
# An unreachable server must fail in seconds: Chroma's HTTP client never times out.
CONNECT_TIMEOUT = 5.0
REQUEST_TIMEOUT = 300.0
TOKEN_HEADER = "X-Chroma-Token"
_TOKEN_CHARS = frozenset(string.digits + string.ascii_letters + string.punctuation)
# How a server (or a proxy before it) says no to a token, as Chroma's client reports it.
_REFUSED = re.compile(r"autherror|authorizationerror|unauthori[sz]ed|forbidden|\b40[13]\b")


class StoreError(RagError):
    """The store cannot be used; the message is one sentence naming the fix."""


class StoreDamaged(StoreError):
    """The embedded store's files cannot be opened (not a full disk, not permissions)."""


def _chroma_settings(**values: Any) -> Any:
    import chromadb

    return chromadb.Settings(anonymized_telemetry=False, allow_reset=False, **values)


def token_of(settings: Settings) -> str | None:
    """RAG_CHROMA_TOKEN, or None when unset or empty."""
    token = settings.chroma_token.get_secret_value() if settings.chroma_token else ""
    return token.strip() or None


def open_server(settings: Settings) -> Any:
    """An HttpClient for RAG_CHROMA_URL, with its token; one sentence when it cannot be used."""
    import chromadb

    address = settings.chroma_url or ""
    url = urlparse(address)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise StoreError(
            f"RAG_CHROMA_URL={address!r} is not an http(s)://host:port address; fix it."
        )
    token = token_of(settings)
    if token is not None and not set(token) <= _TOKEN_CHARS:
        raise StoreError(
            "RAG_CHROMA_TOKEN holds characters no Chroma token has (only ASCII letters, "
            "digits and punctuation); copy the server's token again."
        )
    auth: dict[str, Any] = {}
    if token is not None:
        auth = {
            "chroma_client_auth_provider": "chromadb.auth.token_authn.TokenAuthClientProvider",
            "chroma_client_auth_credentials": token,
            "chroma_auth_token_transport_header": TOKEN_HEADER,
        }
    port = url.port or (443 if url.scheme == "https" else 8000)
    try:
        socket.create_connection((url.hostname, port), timeout=CONNECT_TIMEOUT).close()
        client = chromadb.HttpClient(
            host=url.hostname,
            port=port,
            ssl=url.scheme == "https",
            settings=_chroma_settings(**auth),
        )
        with contextlib.suppress(AttributeError, ImportError):  # private: see the docstring
            import httpx

            client._server._session.timeout = httpx.Timeout(
                REQUEST_TIMEOUT, connect=CONNECT_TIMEOUT
            )
        client.heartbeat()
    except Exception as exc:
        raise StoreError(_server_refusal(address, url.scheme, port, token, exc)) from None
    return client


def _server_refusal(address: str, scheme: str, port: int, token: str | None, exc: Exception) -> str:
    """Why a server could not be opened: a token it refuses, its certificate, or no server."""
    import httpx

    host = urlparse(address).hostname
    status = 0
    try:
        status = httpx.get(
            f"{scheme}://{host}:{port}/api/v2/auth/identity",
            headers={TOKEN_HEADER: token} if token else {},
            timeout=CONNECT_TIMEOUT,
        ).status_code
    except httpx.ConnectError as err:
        if "certificate" in str(err).lower():
            return (
                f"The Chroma server at {address} presented a certificate this machine does not "
                "trust; set SSL_CERT_FILE to the bundle that signed it."
            )
    except Exception:
        status = 0  # no answer at all: described below as unreachable
    if status in (401, 403):
        return _token_sentence(address, token)
    return (
        f"The Chroma server at {address} is unreachable ({exc.__class__.__name__}); "
        "start it (`chroma run`) or unset RAG_CHROMA_URL to use the embedded store."
    )


def _token_sentence(address: str, token: str | None) -> str:
    if token is None:
        return (
            f"The Chroma server at {address} requires a token; "
            "set RAG_CHROMA_TOKEN to the server's token."
        )
    return (
        f"The Chroma server at {address} refused the token in RAG_CHROMA_TOKEN; "
        "set it to the server's token."
    )


@dataclass
class Embedded:
    """This process's client for one embedded store folder, shared by all its Stores.

    The embedded engine loads each collection's vector index (HNSW) into the process
    on first use and never sees vectors another process adds after that (``get`` and
    ``count`` do, ``query`` does not), and writing through such a stale index saves it
    over the newer one on disk, losing the other process's vectors.  So each process
    keeps one client per store folder, and re-opens it before a query or a write
    whenever the ``generation`` moved without it (``Store.sync``).
    """

    client: Any
    epoch: int = 0  # bumped by each re-open, so Stores drop their collection handles
    generations: dict[str, int] = field(default_factory=dict)  # what the loaded index holds
    lock: threading.Lock = field(default_factory=threading.Lock)

    def catch_up(self, name: str, generation: int, settings: Settings) -> None:
        """Re-open the engine if collection ``name`` moved to ``generation`` without it."""
        with self.lock:
            # First use in this process: nothing is loaded yet, so the index will
            # be at least this new when the coming query or write loads it.
            seen = self.generations.setdefault(name, generation)
            if seen != generation:
                path = str(settings.store_dir.resolve())
                forget_engine(path)
                self.client = _persistent_client(settings, path)
                self.epoch += 1
                self.generations.clear()
                self.generations[name] = generation

    def moved(self, name: str, old: int, new: int) -> None:
        """This process moved the generation: its loaded index stays current if it was."""
        with self.lock:
            if self.generations.get(name) == old:
                self.generations[name] = new


_EMBEDDED: dict[str, Embedded] = {}
_EMBEDDED_LOCK = threading.Lock()


def embedded(settings: Settings) -> Embedded:
    """The shared client of the store folder under RAG_HOME, opened on first use."""
    path = str(settings.store_dir.resolve())
    with _EMBEDDED_LOCK:
        if path not in _EMBEDDED:
            _EMBEDDED[path] = Embedded(_persistent_client(settings, path))
        return _EMBEDDED[path]


def forget_engines() -> None:
    """Drop every engine this process opened, as a fresh process would start (tests)."""
    with _EMBEDDED_LOCK:
        for path in list(_EMBEDDED):
            forget_engine(path)
        _EMBEDDED.clear()


def forget_engine(path: str) -> None:
    """Chroma caches one engine per folder per process.  Forget it without stopping
    it: calls in flight on other threads finish on it, and it is freed after."""
    from chromadb.api.shared_system_client import SharedSystemClient

    try:  # private: see the docstring
        SharedSystemClient._identifier_to_system.pop(path, None)
        SharedSystemClient._identifier_to_refcount.pop(path, None)
    except AttributeError:
        SharedSystemClient.clear_system_cache()


def folder_client(folder: Path) -> Any:
    """A plain embedded client on ``folder``, outside any store and its manifest: the
    baseline collection a benchmark compares against (``eval/retrieval_bench.py``)."""
    import chromadb

    return chromadb.PersistentClient(path=str(folder), settings=_chroma_settings())


def _persistent_client(settings: Settings, path: str) -> Any:
    import chromadb

    try:
        settings.store_dir.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=path, settings=_chroma_settings())
    except PermissionError:
        raise StoreError(
            f"Cannot write the store at {settings.store_dir}; make it writable or set RAG_HOME."
        ) from None
    except Exception as exc:
        forget_engine(path)  # a half-started engine would fail the next try too
        # A full disk or a read-only folder is no damage: never advise a rebuild for it.
        known = known_failure(exc, str(settings.store_dir))
        if known:
            raise StoreError(known) from None
        raise StoreDamaged(
            f"Cannot open the store at {settings.store_dir} ({exc}); "
            "run `rag index --rebuild` to rebuild it from the articles."
        ) from None


def where_clause(only: ChunkFilter | None) -> dict[str, Any] | None:
    """A ChunkFilter in Chroma's ``where`` syntax; None when it lets every chunk through."""
    if only is None:
        return None
    clauses: list[dict[str, Any]] = []
    if only.after:
        clauses.append({DATE_ORDINAL: {"$gte": date_ordinal(only.after)}})
    if only.before:
        clauses.append({DATE_ORDINAL: {"$lte": date_ordinal(only.before)}})
    if clauses:
        clauses.append({DATE_ORDINAL: {"$gt": 0}})  # undated chunks are outside every window
    if only.sources is not None:
        sources = list(only.sources)
        clauses.append({"source": sources[0] if len(sources) == 1 else {"$in": sources}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def describe_failure(exc: Exception, location: str, token: str | None = None) -> str:
    text = f"{exc.__class__.__name__}: {exc}"
    return known_failure(exc, location, token) or (
        f"The store at {location} failed ({text[:200]}); run `rag index --rebuild` if it persists."
    )


def known_failure(exc: Exception, location: str, token: str | None = None) -> str | None:
    """One sentence for the failures with a known fix (read-only, disk full, server down,
    a token the server refuses)."""
    low = f"{exc.__class__.__name__}: {exc}".lower()
    server = location.startswith(("http://", "https://"))
    if server and _REFUSED.search(low):
        return _token_sentence(location, token)
    if "readonly" in low or "read-only" in low or "permission" in low:
        return f"The store at {location} is read-only; make it writable or set RAG_HOME elsewhere."
    if ("disk" in low and ("full" in low or "space" in low)) or "no space" in low:
        return f"The disk holding {location} is full; free some space and run `rag index` again."
    if "connect" in low or "timed out" in low or "timeout" in low:
        return f"The Chroma server at {location} is unreachable; start it or unset RAG_CHROMA_URL."
    return None


def peek_generation(settings: Settings) -> int | None:
    """The embedded store's generation, read without starting Chroma (slow to import).

    Reads Chroma's own SQLite file, read-only (private: see the docstring).  Any doubt
    (a server, no store yet, another schema) gives None, and the caller takes the
    slow, sure path instead.
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
