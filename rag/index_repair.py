"""Crash repair: a store left by a killed run, a manifest that cannot be right, a damaged store.

A run that changes anything marks the store ``running`` first and ``clean`` last.
A run killed at any point (kill -9 included) leaves that mark, and the next run
sweeps the store before anything else: chunks of no record, or of a stale version
of a ``done`` record, are deleted; ``done`` records whose chunks are not all there
are re-indexed; ``pending`` records are re-indexed anyway.  The same sweep runs when
the manifest cannot be right (a record left ``pending``, or chunk counts that do not
add up to the store's), and ``--rebuild`` moves an embedded store that no longer
opens aside and starts afresh.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict

from rag.config import Settings
from rag.index_report import IndexingError
from rag.store import FileRecord, Store, StoreDamaged


def open_store(settings: Settings, rebuild: bool) -> Store:
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


def manifest_disagrees(store: Store, records: dict[str, FileRecord]) -> bool:
    """Whether the manifest cannot be right: a record left half-done, or chunk counts
    that do not add up to the chunks stored (a cheap check: no chunk is read)."""
    if any(r.state != "done" for r in records.values()):
        return True
    return sum(r.chunks for r in records.values()) != store.count()


def repair(store: Store, records: dict[str, FileRecord]) -> dict[str, FileRecord]:
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
