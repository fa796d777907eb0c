"""Incremental sync of the articles folder into the store: hashes, lock, crash repair.

One run:

1. takes the index lock (two indexers never interleave; an OS lock, so a killed
   run never leaves it held);
2. re-embeds everything if the embedding model or the chunker changed;
3. hashes every file and compares with the manifest: new, changed, removed,
   unchanged (unchanged files are not even decoded, and when nothing changed the
   embedding model is never loaded);
4. new or changed files are loaded and chunked, and their chunks embedded in
   batches that span files (the model is fastest on big batches); then, per batch:
   manifest records -> ``pending``; upsert the new chunks (ids carry the content
   hash, so they never collide with the old ones); delete those files' other
   chunks; records -> ``done``.  Queries running meanwhile see the old or the new
   version of a file, never neither;
5. removes the chunks, then the records, of files that are gone.

A run that changes anything marks the store ``running`` first and ``clean`` last.
A run killed at any point (kill -9 included) leaves that mark, and the next run
sweeps the store before anything else: chunks of no record, or of a stale version
of a ``done`` record, are deleted; ``done`` records whose chunks are not all there
are re-indexed; ``pending`` records are re-indexed anyway.  Vectors of chunks whose
text did not change (a renamed file, an edited article's untouched paragraphs) are
reused, not re-embedded.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from filelock import FileLock, Timeout

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


# Chunks embedded per model call, in model batches: calls spanning files keep the
# model busy; each call's chunks are then written to the store together.
GROUP_BATCHES = 8


class _DimensionChanged(Exception):
    """The model at the same name now gives vectors of another size: rebuild."""


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
        embedder = embedder or Embedder(settings.embedding_model, settings.embedding_batch_size)
        try:
            return _run_locked(settings, rebuild, progress or _no_progress, embedder)
        except _DimensionChanged:
            return _run_locked(settings, True, progress or _no_progress, embedder)
    finally:
        lock.release()


def _no_progress(done: int, total: int, message: str) -> None:
    pass


def _run_locked(
    settings: Settings, rebuild: bool, progress: Progress, embedder: Embedder
) -> IndexReport:
    started = time.perf_counter()
    report = IndexReport()
    store = Store(settings)

    meta = store.meta()
    signature = index_signature(settings)
    new_store = "embedding_model" not in meta
    dirty = meta.get("run_state") == "running"
    if rebuild or (not new_store and any(meta.get(k) != v for k, v in signature.items())):
        store.set_meta(run_state="running")  # a kill inside reset is swept next time
        store.reset(run_state="running")
        report.rebuilt = True
        new_store, dirty = True, False
    records = store.file_records()
    if dirty:
        progress(0, 0, "repairing the store after an interrupted run")
        records = _repair(store, records)

    # Hash every file; only new or changed ones are decoded and chunked.
    present: set[str] = set()
    todo: list[tuple[FileEntry, bytes]] = []
    entries = list(iter_files(settings.articles_dir))
    for i, entry in enumerate(entries):
        progress(i, len(entries), f"checking {entry.source}")
        present.add(entry.source)  # an unreadable file keeps what was indexed before
        try:
            data = read_file_bytes(entry, settings.max_file_bytes)
        except DocumentError as exc:
            report.skipped.append(Skipped(entry.source, _kept(str(exc), entry.source, records)))
            continue
        old = records.get(entry.source)
        if old is not None and old.state == "done" and old.content_hash == content_hash(data):
            report.unchanged += 1
            continue
        todo.append((entry, data))
    gone = sorted(s for s in records if s not in present)

    work = bool(todo or gone or report.rebuilt or dirty)
    if work:
        # Readers refresh even if this run dies half-way; the next run sees "running".
        extra = signature if new_store else {}
        store.bump_generation(run_state="running", **extra)
    dimension = None if new_store else meta.get("dimension")
    reuse = store.vectors_for([e.source for e, _ in todo if e.source in records] + gone)

    group: list[tuple[Document, list[Chunk]]] = []
    group_chunks = 0
    for n, (entry, data) in enumerate(todo):
        progress(n, len(todo), f"reading {entry.source}")
        try:
            doc = load(entry, settings.max_file_bytes, data=data)
        except (DocumentError, OSError) as exc:
            reason = str(exc) if isinstance(exc, DocumentError) else f"cannot be read ({exc})"
            report.skipped.append(Skipped(entry.source, _kept(reason, entry.source, records)))
            continue
        pieces = chunk(doc, settings.chunk_chars, settings.chunk_overlap_sentences)
        group.append((doc, pieces))
        group_chunks += len(pieces)
        if group_chunks >= GROUP_BATCHES * settings.embedding_batch_size:
            progress(n, len(todo), f"embedding {group_chunks} chunks")
            dimension = _write_group(store, group, reuse, embedder, dimension, records, report)
            group, group_chunks = [], 0
    if group:
        progress(len(todo), len(todo), f"embedding {group_chunks} chunks")
        dimension = _write_group(store, group, reuse, embedder, dimension, records, report)

    if gone:
        progress(len(todo), len(todo), f"removing {len(gone)} deleted files")
        store.delete_sources(gone)
        report.removed = len(gone)
        report.removed_files = gone

    if work or new_store:
        store.bump_generation(
            **signature, dimension=dimension, run_state="clean", last_indexed=time.time()
        )
    if work:
        from rag import lexical  # bm25s is slow to import: only when something changed

        progress(len(todo), len(todo), "updating keyword index")
        lexical.refresh(store, settings)

    report.documents = store.file_count()
    report.chunks = store.count()
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _repair(store: Store, records: dict[str, FileRecord]) -> dict[str, FileRecord]:
    """After a killed run: drop stray chunks; mark files with missing chunks for re-indexing."""
    versions = store.chunk_versions()
    stray: list[str] = []
    for (source, digest), ids in versions.items():
        record = records.get(source)
        if record is None or (record.state == "done" and record.content_hash != digest):
            stray.extend(ids)
    store.delete_chunk_ids(stray)
    repaired = dict(records)
    for source, record in records.items():
        have = len(versions.get((source, record.content_hash), []))
        if record.state == "done" and have != record.chunks:
            repaired[source] = FileRecord(**{**asdict(record), "state": "pending"})
    return repaired


def _kept(reason: str, source: str, records: dict[str, FileRecord]) -> str:
    if source in records:
        return f"{reason} (its previously indexed version is kept)"
    return reason


def _write_group(
    store: Store,
    group: list[tuple[Document, list[Chunk]]],
    reuse: dict[str, list[float]],
    embedder: Embedder,
    dimension: int | None,
    records: dict[str, FileRecord],
    report: IndexReport,
) -> int | None:
    """Embed the chunks of several files in one go, then write them file-safely."""
    missing: dict[str, str] = {}
    for _doc, pieces in group:
        for p in pieces:
            h = text_hash(p.text)
            if h not in reuse:
                missing.setdefault(h, p.text)
    if missing:
        fresh = embedder.embed(list(missing.values()))
        if dimension is None:
            dimension = len(fresh[0])
        elif len(fresh[0]) != dimension:
            raise _DimensionChanged()
        reuse.update(zip(missing, fresh, strict=True))
    total = sum(len(pieces) for _doc, pieces in group)
    report.embedded += len(missing)
    report.reused += total - len(missing)

    now = time.time()
    pending = [_record(doc, len(pieces), "pending", now) for doc, pieces in group]
    store.put_files(pending)
    ids, vectors, texts, metas = [], [], [], []
    for doc, pieces in group:
        for p in pieces:
            ids.append(p.chunk_id)
            vectors.append(reuse[text_hash(p.text)])
            texts.append(p.text)
            metas.append(_chunk_meta(doc, p))
    store.add_chunks(ids=ids, embeddings=vectors, texts=texts, metadatas=metas)
    for doc, _pieces in group:
        if doc.source in records:  # only a known file can have an older version stored
            store.delete_chunks(doc.source, keep_hash=doc.content_hash)
    store.put_files([FileRecord(**{**asdict(r), "state": "done"}) for r in pending])
    for doc, _pieces in group:
        if doc.source in records:
            report.updated += 1
            report.updated_files.append(doc.source)
        else:
            report.added += 1
            report.added_files.append(doc.source)
    return dimension


def _record(doc: Document, chunks: int, state: str, when: float) -> FileRecord:
    return FileRecord(
        source=doc.source,
        content_hash=doc.content_hash,
        size=doc.size,
        modified=doc.modified,
        title=doc.title,
        published=doc.published,
        chunks=chunks,
        state=state,
        indexed_at=when,
    )


def _chunk_meta(doc: Document, p: Chunk) -> dict[str, Any]:
    return {
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


def status(settings: Settings) -> Status:
    """What is indexed, without loading the embedding model."""
    store = Store(settings)
    meta = store.meta()
    last = meta.get("last_indexed")
    return Status(
        documents=store.file_count(),
        chunks=store.count(),
        embedding_model=str(meta.get("embedding_model") or settings.embedding_model),
        store=store.location,
        last_indexed=(
            time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(float(last))) if last else None
        ),
        articles_dir=str(settings.articles_dir),
        generation=int(meta.get("generation", 0)),
    )
