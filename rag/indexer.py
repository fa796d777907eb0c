"""Incremental sync of the articles folder into the store: hashes, lock, crash repair.

One run:

1. takes the index lock (two indexers never interleave; an OS lock, so a killed
   run never leaves it held);
2. re-embeds everything if the embedding model or the chunker changed;
3. hashes every file and compares with the manifest: new, changed, removed,
   unchanged (unchanged files are not even decoded, and when nothing changed the
   embedding model is never loaded);
4. for each new or changed file: manifest record -> ``pending``; upsert the new
   chunks (ids carry the content hash, so they never collide with the old ones);
   delete the file's other chunks; record -> ``done``.  Queries running meanwhile
   see the old or the new version, never neither;
5. removes the chunks, then the records, of files that are gone.

A run killed at any point leaves at most some ``pending`` records (repaired by the
next run, which replaces those files' chunks wholesale) or records of files that
are gone (removed by the next run).  Vectors of chunks whose text did not change
(a renamed file, an edited article's untouched paragraphs) are reused, not
re-embedded.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from filelock import FileLock, Timeout

from rag import lexical
from rag.chunking import CHUNKER_VERSION, Chunk, chunk
from rag.config import Settings
from rag.documents import Document, DocumentError, FileEntry, content_hash, iter_files, load
from rag.documents import read_bytes as read_file_bytes
from rag.embeddings import Embedder
from rag.store import FileRecord, Store, date_ordinal, text_hash

Progress = Callable[[int, int, str], None]


class IndexingError(Exception):
    """The run cannot proceed; the message is one sentence naming the fix."""


@dataclass
class Skipped:
    path: str
    reason: str


@dataclass
class IndexReport:
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    documents: int = 0
    chunks: int = 0
    seconds: float = 0.0
    embedded: int = 0  # chunks embedded this run
    reused: int = 0  # chunks whose vectors were reused
    rebuilt: bool = False
    added_files: list[str] = field(default_factory=list)
    updated_files: list[str] = field(default_factory=list)
    removed_files: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed or self.rebuilt)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Status:
    documents: int
    chunks: int
    embedding_model: str
    store: str
    last_indexed: str | None
    articles_dir: str
    generation: int


def index_signature(settings: Settings) -> dict[str, Any]:
    """What the stored vectors depend on: when any of it changes, re-embed everything."""
    return {
        "embedding_model": settings.embedding_model,
        "chunker_version": CHUNKER_VERSION,
        "chunk_chars": settings.chunk_chars,
        "chunk_overlap": settings.chunk_overlap_sentences,
    }


def run(
    settings: Settings,
    rebuild: bool = False,
    progress: Progress | None = None,
    embedder: Embedder | None = None,
    lock_timeout: float = 0.0,
) -> IndexReport:
    """Bring the store in step with the articles folder."""
    root = settings.articles_dir
    if not root.is_dir():
        raise IndexingError(
            f"The articles folder {root} does not exist; create it or set RAG_ARTICLES_DIR."
        )
    try:
        settings.home.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(settings.lock_path), timeout=lock_timeout)
        lock.acquire()
    except Timeout:
        raise IndexingError(
            "Another indexing run is in progress; wait for it to finish and try again."
        ) from None
    except OSError as exc:
        raise IndexingError(
            f"Cannot write to {settings.home} ({exc.strerror}); make it writable or set RAG_HOME."
        ) from None
    try:
        return _run_locked(settings, rebuild, progress or _no_progress, embedder)
    finally:
        lock.release()


def _no_progress(done: int, total: int, message: str) -> None:
    pass


def _run_locked(
    settings: Settings, rebuild: bool, progress: Progress, embedder: Embedder | None
) -> IndexReport:
    started = time.perf_counter()
    report = IndexReport()
    store = Store(settings)
    embedder = embedder or Embedder(settings.embedding_model, settings.embedding_batch_size)

    meta = store.meta()
    signature = index_signature(settings)
    if "embedding_model" not in meta:
        meta = {}  # a new store: nothing to compare with
    if rebuild or (meta and any(meta.get(k) != v for k, v in signature.items())):
        store.reset()
        report.rebuilt = True
    records = store.file_records()

    # Hash every file; only new or changed ones are decoded and chunked.
    present: dict[str, FileEntry] = {}
    todo: list[tuple[FileEntry, bytes, str]] = []
    entries = list(iter_files(settings.articles_dir))
    for i, entry in enumerate(entries):
        progress(i, len(entries), f"checking {entry.source}")
        try:
            data = read_file_bytes(entry, settings.max_file_bytes)
        except DocumentError as exc:
            report.skipped.append(Skipped(entry.source, _kept(str(exc), entry.source, records)))
            present[entry.source] = entry  # keep what was indexed before
            continue
        present[entry.source] = entry
        digest = content_hash(data)
        old = records.get(entry.source)
        if old is not None and old.state == "done" and old.content_hash == digest:
            report.unchanged += 1
            continue
        todo.append((entry, data, digest))

    gone = [s for s in records if s not in present]
    if todo or gone:
        store.bump_generation()  # readers refresh even if this run dies half-way
    reuse = store.vectors_for([e.source for e, _, _ in todo if e.source in records] + gone)

    dimension_checked = bool(meta) and not report.rebuilt
    for n, (entry, data, _digest) in enumerate(todo):
        progress(n, len(todo), f"indexing {entry.source}")
        try:
            doc = load(entry, settings.max_file_bytes, data=data)
        except (DocumentError, OSError) as exc:
            reason = str(exc) if isinstance(exc, DocumentError) else f"cannot be read ({exc})"
            report.skipped.append(Skipped(entry.source, _kept(reason, entry.source, records)))
            continue
        pieces = chunk(doc, settings.chunk_chars, settings.chunk_overlap_sentences)
        vectors, fresh = _vectors(pieces, reuse, embedder)
        report.embedded += fresh
        report.reused += len(pieces) - fresh
        if not dimension_checked and fresh:
            store.set_meta(**signature, dimension=embedder.dimension, model_path=embedder.name)
            dimension_checked = True
        _write_document(store, doc, pieces, vectors)
        if entry.source in records:
            report.updated += 1
            report.updated_files.append(entry.source)
        else:
            report.added += 1
            report.added_files.append(entry.source)

    for source in gone:
        store.delete_chunks(source)
        store.delete_files([source])
        report.removed += 1
        report.removed_files.append(source)

    if report.changed or not meta:
        if not dimension_checked:
            store.set_meta(**signature)
        store.set_meta(last_indexed=time.time())
        store.bump_generation()
    progress(len(todo), len(todo), "updating keyword index")
    lexical.refresh(store, settings)

    final = store.file_records()
    report.documents = len(final)
    report.chunks = store.count()
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _kept(reason: str, source: str, records: dict[str, FileRecord]) -> str:
    if source in records:
        return f"{reason} (its previously indexed version is kept)"
    return reason


def _vectors(
    pieces: list[Chunk], reuse: dict[str, list[float]], embedder: Embedder
) -> tuple[list[list[float]], int]:
    hashes = [text_hash(p.text) for p in pieces]
    missing = [i for i, h in enumerate(hashes) if h not in reuse]
    fresh = embedder.embed([pieces[i].text for i in missing]) if missing else []
    for i, vec in zip(missing, fresh, strict=True):
        reuse[hashes[i]] = vec
    return [reuse[h] for h in hashes], len(missing)


def _write_document(
    store: Store, doc: Document, pieces: list[Chunk], vectors: list[list[float]]
) -> None:
    record = FileRecord(
        source=doc.source,
        content_hash=doc.content_hash,
        size=doc.size,
        modified=doc.modified,
        title=doc.title,
        published=doc.published,
        chunks=len(pieces),
        state="pending",
        indexed_at=time.time(),
    )
    store.put_file(record)
    store.add_chunks(
        ids=[p.chunk_id for p in pieces],
        embeddings=vectors,
        texts=[p.text for p in pieces],
        metadatas=[
            {
                "source": doc.source,
                "content_hash": doc.content_hash,
                "text_hash": text_hash(p.text),
                "index": p.index,
                "start": p.start,
                "end": p.end,
                "title": doc.title,
                "published": doc.published or "",
                "published_ord": date_ordinal(doc.published),
            }
            for p in pieces
        ],
    )
    store.delete_chunks(doc.source, keep_hash=doc.content_hash)
    store.put_file(FileRecord(**{**asdict(record), "state": "done"}))


def status(settings: Settings) -> Status:
    """What is indexed, without loading the embedding model."""
    store = Store(settings)
    meta = store.meta()
    records = store.file_records()
    last = meta.get("last_indexed")
    return Status(
        documents=len(records),
        chunks=store.count(),
        embedding_model=str(meta.get("embedding_model") or settings.embedding_model),
        store=store.location,
        last_indexed=(
            time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(float(last))) if last else None
        ),
        articles_dir=str(settings.articles_dir),
        generation=int(meta.get("generation", 0)),
    )
