"""Incremental sync of the articles folder into the store: one run, and the index's status.

One run:

1. takes the index lock (two indexers never interleave; an OS lock, so a killed
   run never leaves it held);
2. re-embeds everything if the embedding model or the chunker changed;
3. hashes every file and compares with the manifest: new, changed, removed,
   unchanged (unchanged files are not even decoded; when nothing changed the
   embedding model is never loaded, and Chroma not even opened: the fast no-op,
   ``rag/index_state.py``);
4. new or changed files are loaded and chunked, and their chunks embedded and
   written in groups that span files (``rag/index_writes.py``);
5. removes the chunks, then the records, of files that are gone.

A run killed at any point is repaired by the next (``rag/index_repair.py``); what a
run reports is ``rag/index_report.py``.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from typing import TYPE_CHECKING

from filelock import FileLock, Timeout

from rag.chunking import Chunk, chunk
from rag.config import Settings
from rag.documents import Document, DocumentError, FileEntry, content_hash, iter_files, load
from rag.documents import read_bytes as read_file_bytes
from rag.embeddings import Embedder
from rag.index_repair import manifest_disagrees, open_store, repair
from rag.index_report import IndexingError, IndexReport, Progress, Skipped, Status, kept
from rag.index_state import (
    METADATA_VERSION,
    forget_state,
    index_signature,
    save_state,
    unchanged,
)
from rag.index_writes import GROUP_BATCHES, DimensionChanged, group_progress, write_group
from rag.metadata import date_warning
from rag.store import Store

if TYPE_CHECKING:
    from rag.lexical import KeywordIndex


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
        if not rebuild and (report := unchanged(settings, progress or _no_progress)):
            return report
        forget_state(settings)  # written again only by a run that ends well
        embedder = embedder or Embedder(settings.embedding_model, settings.embedding_batch_size)
        _load_early(embedder)
        try:
            return _run_locked(settings, rebuild, progress or _no_progress, embedder)
        except DimensionChanged:
            return _run_locked(settings, True, progress or _no_progress, embedder)
    finally:
        lock.release()


def yield_cpu(settings: Settings) -> None:
    """Lower this process's CPU priority by ``settings.index_nice`` (``rag index``,
    ``rag watch``): indexing beside a page or a running search then takes the CPU they
    leave, and as much as it likes when they are idle.  Call it before the embedding
    model loads: on Linux the priority is per thread, and the model's worker threads
    take the priority of the thread that starts them."""
    if settings.index_nice <= 0 or not hasattr(os, "nice"):
        return
    with contextlib.suppress(OSError):  # never a reason not to index
        os.nice(settings.index_nice)


def _no_progress(done: int, total: int, message: str) -> None:
    pass


def _load_early(embedder: Embedder) -> None:
    """Load the model in a thread while the store opens and the files are hashed.

    In a fresh process the model's load is most of a small run; started here it
    overlaps the rest instead of following it.  A failure is not lost: the first
    embedding tries again and raises it.
    """

    def load() -> None:
        with contextlib.suppress(Exception):
            embedder.model  # noqa: B018 - loading is the point

    threading.Thread(target=load, name="load-embedding-model", daemon=True).start()


def _run_locked(
    settings: Settings, rebuild: bool, progress: Progress, embedder: Embedder
) -> IndexReport:
    from rag import lexical

    keywords = lexical.open_index(settings)
    with keywords.writing():  # searches go on reading it; catch-ups elsewhere wait
        return _sync(settings, rebuild, progress, embedder, keywords)


def _sync(
    settings: Settings,
    rebuild: bool,
    progress: Progress,
    embedder: Embedder,
    keywords: KeywordIndex,
) -> IndexReport:
    started = time.perf_counter()
    report = IndexReport()
    store = open_store(settings, rebuild)

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
    if not dirty and not new_store and manifest_disagrees(store, records):
        dirty = True  # a damaged manifest or lost chunks: the same sweep as after a crash
    if dirty:
        progress(0, 0, "repairing the store after an interrupted run")
        records = repair(store, records)
    # The keyword index follows the store file by file; one behind (a run killed
    # between the two writes, a deleted database) is brought level first.
    keywords.catch_up(store, records)

    # Hash every file; only new or changed ones are decoded and chunked (all of them when
    # the chunk records lack fields this version stores: their vectors are reused).
    reread = not new_store and meta.get("metadata_version") != METADATA_VERSION
    present: set[str] = set()
    todo: list[tuple[FileEntry, bytes]] = []
    entries = list(iter_files(settings.articles_dir))
    for i, entry in enumerate(entries):
        progress(i, len(entries), f"checking {entry.source}")
        present.add(entry.source)  # an unreadable file keeps what was indexed before
        try:
            data = read_file_bytes(entry, settings.max_file_bytes)
        except DocumentError as exc:
            report.skipped.append(Skipped(entry.source, kept(str(exc), entry.source, records)))
            continue
        old = records.get(entry.source)
        if (
            not reread
            and old is not None
            and old.state == "done"
            and old.content_hash == content_hash(data)
        ):
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

    failed: dict[str, tuple[str, str]] = {}  # source -> (content hash, reason)
    group: list[tuple[Document, list[Chunk]]] = []
    group_chunks = 0
    for n, (entry, data) in enumerate(todo):
        progress(n, len(todo), f"reading {entry.source}")
        try:
            doc = load(entry, settings.max_file_bytes, data=data)
        except (DocumentError, OSError) as exc:
            reason = str(exc) if isinstance(exc, DocumentError) else f"cannot be read ({exc})"
            reason = kept(reason, entry.source, records)
            report.skipped.append(Skipped(entry.source, reason))
            failed[entry.source] = (content_hash(data), reason)
            continue
        if note := doc.date_note or date_warning(doc.published, settings.current_date):
            report.flagged.append(Skipped(entry.source, note))
        pieces = chunk(doc, settings.chunk_chars, settings.chunk_overlap_sentences)
        group.append((doc, pieces))
        group_chunks += len(pieces)
        if group_chunks >= GROUP_BATCHES * settings.embedding_batch_size:
            step = group_progress(progress, n, len(todo))
            dimension = write_group(
                store, keywords, group, reuse, embedder, dimension, records, report, step
            )
            group, group_chunks = [], 0
    if group:
        step = group_progress(progress, len(todo), len(todo))
        dimension = write_group(
            store, keywords, group, reuse, embedder, dimension, records, report, step
        )

    if gone:
        progress(len(todo), len(todo), f"removing {len(gone)} deleted files")
        store.delete_sources(gone)
        keywords.remove(gone)
        report.removed = len(gone)
        report.removed_files = gone

    if work or new_store:
        store.bump_generation(
            **signature,
            dimension=dimension,
            run_state="clean",
            last_indexed=time.time(),
            metadata_version=METADATA_VERSION,
        )
    keywords.mark(store.generation)

    report.documents = store.file_count()
    report.chunks = store.count()
    removed = set(gone)
    final = {s: r for s, r in records.items() if s not in removed}
    save_state(
        settings,
        {
            "collection": settings.collection,
            "signature": signature,
            "metadata_version": METADATA_VERSION,
            "generation": store.generation,
            "files": {s: r.content_hash for s, r in final.items() if r.state == "done"},
            "failed": failed,
            "documents": report.documents,
            "chunks": report.chunks,
        },
    )
    report.seconds = round(time.perf_counter() - started, 3)
    return report


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
        # Undated articles fall outside every date window ("last week", --since ...).
        undated=sum(r.published is None for r in store.file_records().values()),
    )
