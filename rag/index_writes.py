"""Writing a group of files: chunks embedded together, then stored file-safely.

New or changed files are embedded in batches that span files (the model is fastest
on big batches); vectors of chunks whose text did not change (a renamed file, an
edited article's untouched paragraphs) are reused, not re-embedded.  Then, per
group: manifest records -> ``pending``; upsert the new chunks (ids carry the content
hash, so they never collide with the old ones); move the store's generation, so that
searching processes re-open and see them; delete those files' other chunks; the
keyword index takes the same files; records -> ``done``.  Queries running meanwhile,
in this process or another, see the old or the new version of a file, never neither.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict
from typing import TYPE_CHECKING

from rag.chunking import Chunk
from rag.documents import Document
from rag.embeddings import Embedder
from rag.index_report import IndexReport, Progress
from rag.schema import from_document
from rag.store import FileRecord, Store, text_hash

if TYPE_CHECKING:
    from rag.lexical import KeywordIndex

# Files are embedded and written in groups of about this many model batches.  Big
# groups spanning files matter: the model pads every batch to its longest text, and
# sorting a big group by length first wastes little (about 2 % more tokens than
# sorting the whole corpus at once, against 8 % for 256-chunk groups and 24 % for
# one file at a time, measured on news-sized articles).
GROUP_BATCHES = 32
# Model batches embedded per progress update inside a group.
PROGRESS_BATCHES = 4


class DimensionChanged(Exception):
    """The model at the same name now gives vectors of another size: rebuild."""


def group_progress(progress: Progress, files_done: int, files: int) -> Callable[[int, int], None]:
    """A group's embedding progress, reported as the run's."""

    def step(done: int, total: int) -> None:
        progress(files_done, files, f"embedding {done}/{total} chunks")

    return step


def write_group(
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
            raise DimensionChanged()
        reuse.update(zip(hashes, fresh, strict=True))
    total = sum(len(pieces) for _doc, pieces in group)
    report.embedded += len(missing)
    report.reused += total - len(missing)

    now = time.time()
    pending = [_record(doc, len(pieces), "pending", now) for doc, pieces in group]
    store.put_files(pending)
    stored = [from_document(doc, p) for doc, pieces in group for p in pieces]
    store.add_chunks(stored, [reuse[text_hash(c.text)] for c in stored])
    # Another process searching an embedded store sees new vectors only once it re-opens
    # (rag.chroma.Embedded): moving the generation here makes it re-open while the old
    # chunks are still there, so its searches find the old version or the new one, never
    # neither, and the new chunks get their real similarity, not 0, for the rest of the run.
    store.bump_generation(run_state="running")
    for doc, _pieces in group:
        if doc.source in records:  # only a known file can have an older version stored
            store.delete_chunks(doc.source, keep_hash=doc.content_hash)
    from rag.keyword_updates import KeywordFile

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
