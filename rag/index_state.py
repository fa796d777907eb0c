"""What an index was built with, and the fast no-op run that skips Chroma and the model.

After a run that ended well, a small JSON file beside the store remembers what the
folder looked like.  The next run hashes the files; if nothing differs and the
store is still at that generation, it answers without starting Chroma (a second
or two of imports) or the model.  A run that goes on to change anything deletes
the file first, so a killed run never leaves it behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path
from typing import Any

from rag.chunking import CHUNKER_VERSION
from rag.config import Settings
from rag.documents import DocumentError, content_hash, iter_files
from rag.documents import read_bytes as read_file_bytes
from rag.index_report import IndexReport, Progress, Skipped, kept
from rag.store import peek_generation

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


def _state_path(settings: Settings) -> Path:
    return settings.home / f"{settings.collection}-index-state.json"


def forget_state(settings: Settings) -> None:
    """Delete the note of the last good run (a run about to change the store)."""
    with contextlib.suppress(FileNotFoundError):
        _state_path(settings).unlink()


def save_state(settings: Settings, state: dict[str, Any]) -> None:
    """Write the note of a run that ended well (embedded store only)."""
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


def unchanged(settings: Settings, progress: Progress) -> IndexReport | None:
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
            report.skipped.append(Skipped(entry.source, kept(str(exc), entry.source, files)))
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
