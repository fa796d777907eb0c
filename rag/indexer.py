"""Incremental sync of the articles folder into the store: hashes, lock, crash repair.

One run:

1. takes the index lock (two indexers never interleave; an OS lock, so a killed
   run never leaves it held);
2. re-embeds everything if the embedding model or the chunker changed;
3. hashes every file and compares with the manifest: new, changed, removed,
   unchanged (unchanged files are not even decoded; when nothing changed the
   embedding model is never loaded, and Chroma not even opened: see "the fast
   no-op" below);
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
reused, not re-embedded.  The same sweep runs when the manifest cannot be right
(a record left ``pending``, or chunk counts that do not add up to the store's), and
``--rebuild`` moves an embedded store that no longer opens aside and starts afresh.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Callable, Container
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from filelock import FileLock, Timeout

from rag.chunking import CHUNKER_VERSION, Chunk, chunk
from rag.config import Settings
from rag.documents import Document, DocumentError, FileEntry, content_hash, iter_files, load
from rag.documents import read_bytes as read_file_bytes
from rag.embeddings import Embedder
from rag.errors import RagError
from rag.metadata import date_warning
from rag.schema import from_document
from rag.store import FileRecord, Store, StoreDamaged, peek_generation, text_hash

if TYPE_CHECKING:
    from rag.lexical import KeywordIndex

Progress = Callable[[int, int, str], None]


class IndexingError(RagError):
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
    flagged: list[Skipped] = field(default_factory=list)  # indexed, with a date to check
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
    undated: int = 0  # indexed articles whose publication date could not be read


# What a chunk record holds besides its text and vector (rag/schema.py).  A store of
# an older layout has every file read again and its chunks rewritten with their
# vectors reused: nothing is embedded again.  2: news metadata (author, outlet ...).
# 3: a byline's outlet, the language detected when none is declared.
METADATA_VERSION = 3


def index_signature(settings: Settings) -> dict[str, Any]:
    """What the stored vectors depend on: when any of it changes, re-embed everything."""
    return {
        "embedding_model": settings.embedding_model,
        "chunker_version": CHUNKER_VERSION,
        "chunk_chars": settings.chunk_chars,
        "chunk_overlap": settings.chunk_overlap_sentences,
    }


# Files are embedded and written in groups of about this many model batches.  Big
# groups spanning files matter: the model pads every batch to its longest text, and
# sorting a big group by length first wastes little (about 2 % more tokens than
# sorting the whole corpus at once, against 8 % for 256-chunk groups and 24 % for
# one file at a time, measured on news-sized articles).
GROUP_BATCHES = 32
# Model batches embedded per progress update inside a group.
PROGRESS_BATCHES = 4


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
        if not rebuild and (report := _unchanged(settings, progress or _no_progress)):
            return report
        _forget_state(settings)  # written again only by a run that ends well
        embedder = embedder or Embedder(settings.embedding_model, settings.embedding_batch_size)
        _load_early(embedder)
        try:
            return _run_locked(settings, rebuild, progress or _no_progress, embedder)
        except _DimensionChanged:
            return _run_locked(settings, True, progress or _no_progress, embedder)
    finally:
        lock.release()


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
    store = _open_store(settings, rebuild)

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
    if not dirty and not new_store and _manifest_disagrees(store, records):
        dirty = True  # a damaged manifest or lost chunks: the same sweep as after a crash
    if dirty:
        progress(0, 0, "repairing the store after an interrupted run")
        records = _repair(store, records)
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
            report.skipped.append(Skipped(entry.source, _kept(str(exc), entry.source, records)))
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
            reason = _kept(reason, entry.source, records)
            report.skipped.append(Skipped(entry.source, reason))
            failed[entry.source] = (content_hash(data), reason)
            continue
        if note := doc.date_note or date_warning(doc.published, settings.current_date):
            report.flagged.append(Skipped(entry.source, note))
        pieces = chunk(doc, settings.chunk_chars, settings.chunk_overlap_sentences)
        group.append((doc, pieces))
        group_chunks += len(pieces)
        if group_chunks >= GROUP_BATCHES * settings.embedding_batch_size:
            step = _group_progress(progress, n, len(todo))
            dimension = _write_group(
                store, keywords, group, reuse, embedder, dimension, records, report, step
            )
            group, group_chunks = [], 0
    if group:
        step = _group_progress(progress, len(todo), len(todo))
        dimension = _write_group(
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
    _save_state(
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


# --- the fast no-op ------------------------------------------------------------
# After a run that ended well, a small JSON file beside the store remembers what the
# folder looked like.  The next run hashes the files; if nothing differs and the
# store is still at that generation, it answers without starting Chroma (a second
# or two of imports) or the model.  A run that goes on to change anything deletes
# the file first, so a killed run never leaves it behind.


def _state_path(settings: Settings) -> Path:
    return settings.home / f"{settings.collection}-index-state.json"


def _forget_state(settings: Settings) -> None:
    with contextlib.suppress(FileNotFoundError):
        _state_path(settings).unlink()


def _save_state(settings: Settings, state: dict[str, Any]) -> None:
    if settings.chroma_url:  # a shared server can change under us: always ask it
        return
    path = _state_path(settings)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    try:
        tmp.write_text(json.dumps(state))
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()


def _unchanged(settings: Settings, progress: Progress) -> IndexReport | None:
    """The report of a no-op run, if the folder and the store are as last left; else None."""
    started = time.perf_counter()
    if settings.chroma_url:
        return None
    try:
        state = json.loads(_state_path(settings).read_text())
        if (
            state["collection"] != settings.collection
            or state["signature"] != index_signature(settings)
            or state.get("metadata_version") != METADATA_VERSION
            or state["generation"] != peek_generation(settings)
        ):
            return None
        files: dict[str, str] = state["files"]
        failed: dict[str, list[str]] = state["failed"]
        report = IndexReport(documents=int(state["documents"]), chunks=int(state["chunks"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    seen: set[str] = set()
    entries = list(iter_files(settings.articles_dir))
    for i, entry in enumerate(entries):
        progress(i, len(entries), f"checking {entry.source}")
        seen.add(entry.source)
        try:
            data = read_file_bytes(entry, settings.max_file_bytes)
        except DocumentError as exc:
            report.skipped.append(Skipped(entry.source, _kept(str(exc), entry.source, files)))
            continue
        digest = content_hash(data)
        if files.get(entry.source) == digest:
            report.unchanged += 1
        elif entry.source in failed and failed[entry.source][0] == digest:
            report.skipped.append(Skipped(entry.source, failed[entry.source][1]))
        else:
            return None
    if not seen.issuperset(files):
        return None  # a file was deleted
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _open_store(settings: Settings, rebuild: bool) -> Store:
    """The store; for a rebuild, a damaged embedded store is moved aside first (kept)."""
    try:
        return Store(settings)
    except StoreDamaged:
        if not rebuild or settings.chroma_url:
            raise
    aside = settings.store_dir.with_name(f"{settings.store_dir.name}.damaged-{time.time_ns()}")
    try:
        os.replace(settings.store_dir, aside)
    except OSError as exc:
        raise IndexingError(
            f"Cannot move the damaged store {settings.store_dir} aside ({exc.strerror}); "
            "delete it and run `rag index` again."
        ) from None
    return Store(settings)


def _manifest_disagrees(store: Store, records: dict[str, FileRecord]) -> bool:
    """Whether the manifest cannot be right: a record left half-done, or chunk counts
    that do not add up to the chunks stored (a cheap check: no chunk is read)."""
    if any(r.state != "done" for r in records.values()):
        return True
    return sum(r.chunks for r in records.values()) != store.count()


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


def _kept(reason: str, source: str, indexed: Container[str]) -> str:
    if source in indexed:
        return f"{reason} (its previously indexed version is kept)"
    return reason


def _group_progress(progress: Progress, files_done: int, files: int) -> Callable[[int, int], None]:
    def step(done: int, total: int) -> None:
        progress(files_done, files, f"embedding {done}/{total} chunks")

    return step


def _write_group(
    store: Store,
    keywords: KeywordIndex,
    group: list[tuple[Document, list[Chunk]]],
    reuse: dict[str, list[float]],
    embedder: Embedder,
    dimension: int | None,
    records: dict[str, FileRecord],
    report: IndexReport,
    step: Callable[[int, int], None],
) -> int | None:
    """Embed the chunks of several files together, then write them file-safely."""
    missing: dict[str, str] = {}
    for _doc, pieces in group:
        for p in pieces:
            h = text_hash(p.text)
            if h not in reuse:
                missing.setdefault(h, p.text)
    # Longest first, in slices: the same batches as one call, with progress between.
    order = sorted(missing, key=lambda h: -len(missing[h]))
    size = PROGRESS_BATCHES * max(1, embedder.batch_size)
    for i in range(0, len(order), size):
        step(i, len(order))
        hashes = order[i : i + size]
        fresh = embedder.embed([missing[h] for h in hashes])
        if dimension is None:
            dimension = len(fresh[0])
        elif len(fresh[0]) != dimension:
            raise _DimensionChanged()
        reuse.update(zip(hashes, fresh, strict=True))
    total = sum(len(pieces) for _doc, pieces in group)
    report.embedded += len(missing)
    report.reused += total - len(missing)

    now = time.time()
    pending = [_record(doc, len(pieces), "pending", now) for doc, pieces in group]
    store.put_files(pending)
    stored = [from_document(doc, p) for doc, pieces in group for p in pieces]
    store.add_chunks(stored, [reuse[text_hash(c.text)] for c in stored])
    for doc, _pieces in group:
        if doc.source in records:  # only a known file can have an older version stored
            store.delete_chunks(doc.source, keep_hash=doc.content_hash)
    from rag.lexical import KeywordFile

    keywords.put(
        KeywordFile.of(doc.source, doc.content_hash, doc.published, doc.title, pieces)
        for doc, pieces in group
    )
    done = [FileRecord(**{**asdict(r), "state": "done"}) for r in pending]
    store.put_files(done)
    for record in done:
        if record.source in records:
            report.updated += 1
            report.updated_files.append(record.source)
        else:
            report.added += 1
            report.added_files.append(record.source)
        records[record.source] = record  # the manifest as it now stands
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
