"""The store layer's contract with chromadb: the pinned version, its private internals,
the chunk schema and the neutral filters."""

from __future__ import annotations

import re
import tomllib
from dataclasses import fields
from importlib.metadata import version
from pathlib import Path

import pytest
from conftest import REPO

from rag import chroma
from rag.config import Settings
from rag.schema import (
    DATE_ORDINAL,
    TEXT_HASH,
    ChunkFilter,
    StoredChunk,
    from_metadata,
    text_hash,
    to_metadata,
)
from rag.store import Store


def test_chromadb_is_the_version_the_private_internals_were_checked_against() -> None:
    pinned = [
        d
        for d in tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
        if re.match(r"chromadb\b", d)
    ]
    what = "\n  - ".join(chroma.PRIVATE_INTERNALS)
    advice = (
        f"rag/chroma.py uses chromadb internals checked against chromadb "
        f"{chroma.CHROMADB_VERSION} only. Check each of these still exists and means the "
        f"same in the new version, then set rag.chroma.CHROMADB_VERSION:\n  - {what}"
    )
    assert pinned == [f"chromadb=={chroma.CHROMADB_VERSION}"], f"pyproject pins {pinned}. {advice}"
    assert version("chromadb") == chroma.CHROMADB_VERSION, (
        f"chromadb {version('chromadb')} is installed. {advice}"
    )


def test_the_engine_cache_is_where_forget_engine_looks(rag_env: Path) -> None:
    from chromadb.api.shared_system_client import SharedSystemClient

    settings = Settings()
    Store(settings).count()
    path = str(settings.store_dir.resolve())
    assert path in SharedSystemClient._identifier_to_system, chroma.PRIVATE_INTERNALS[0]
    assert path in SharedSystemClient._identifier_to_refcount, chroma.PRIVATE_INTERNALS[0]
    chroma.forget_engines()
    assert path not in SharedSystemClient._identifier_to_system, chroma.PRIVATE_INTERNALS[0]
    assert Store(settings).count() == 0  # and a fresh engine opens


def test_peek_generation_reads_what_chroma_wrote(rag_env: Path) -> None:
    settings = Settings()
    assert chroma.peek_generation(settings) is None  # no store yet
    store = Store(settings)
    first = store.bump_generation()
    assert chroma.peek_generation(settings) == first, chroma.PRIVATE_INTERNALS[2]
    store.reset(embedding_model="m")
    assert chroma.peek_generation(settings) == store.generation, chroma.PRIVATE_INTERNALS[2]


def test_every_field_of_a_chunk_survives_the_store(rag_env: Path) -> None:
    chunk = StoredChunk(
        chunk_id="a-1",
        source="dir/a.pdf",
        start=12,
        end=480,
        text="A passage over a page break.",
        title="A title",
        published="2024-05-06",
        page=3,
        page_breaks=(200, 400),
        content_hash="abc",
        index=1,
    )
    assert {f.name for f in fields(StoredChunk)} == {
        *to_metadata(chunk),
        "chunk_id",
        "text",
    } - {TEXT_HASH, DATE_ORDINAL}, "a field is not written"
    meta = to_metadata(chunk)
    assert meta[TEXT_HASH] == text_hash(chunk.text) and meta[DATE_ORDINAL] == 20240506
    assert from_metadata("a-1", meta, chunk.text) == chunk
    store = Store(Settings())
    store.add_chunks([chunk], [[1.0, 0.0]])
    assert store.get_chunks(["a-1"]) == [chunk]
    # Undated, without pages: Chroma takes no None, and it reads back as None.
    plain = StoredChunk("b-0", "b.txt", 0, 5, "Plain", "B", None)
    store.add_chunks([plain], [[0.0, 1.0]])
    assert list(store.iter_chunks(ChunkFilter.source("b.txt"))) == [plain]


def test_a_record_written_before_a_field_existed_reads_its_default() -> None:
    old = {"source": "a.txt", "start": 0, "end": 4, "title": "T", "published": ""}
    assert from_metadata("a-0", old, "text") == StoredChunk("a-0", "a.txt", 0, 4, "text", "T", None)


@pytest.mark.parametrize(
    ("only", "where"),
    [
        (None, None),
        (ChunkFilter(), None),
        (ChunkFilter.source("a.txt"), {"source": "a.txt"}),
        (ChunkFilter(sources=("a", "b")), {"source": {"$in": ["a", "b"]}}),
        (
            ChunkFilter(after="2024-01-02"),
            {"$and": [{DATE_ORDINAL: {"$gte": 20240102}}, {DATE_ORDINAL: {"$gt": 0}}]},
        ),
        (
            ChunkFilter(sources=("a",), before="2024-03-04"),
            {
                "$and": [
                    {DATE_ORDINAL: {"$lte": 20240304}},
                    {DATE_ORDINAL: {"$gt": 0}},
                    {"source": "a"},
                ]
            },
        ),
    ],
)
def test_neutral_filters_become_chroma_where_clauses(
    only: ChunkFilter | None, where: dict | None
) -> None:
    assert chroma.where_clause(only) == where


def test_filters_select_chunks_in_a_real_store(rag_env: Path) -> None:
    store = Store(Settings())
    rows = [("a.txt", "2024-01-05"), ("b.txt", "2024-02-10"), ("c.txt", None)]
    store.add_chunks(
        [StoredChunk(f"{s}-0", s, 0, 4, f"text {s}", s, day) for s, day in rows],
        [[1.0, 0.1 * i] for i in range(len(rows))],
    )

    def found(only: ChunkFilter) -> list[str]:
        return sorted(c.source for c, _ in store.query([1.0, 0.0], 10, only))

    assert found(ChunkFilter(after="2024-02-01")) == ["b.txt"]
    assert found(ChunkFilter(before="2024-01-31")) == ["a.txt"]  # undated: outside every window
    assert found(ChunkFilter(sources=("a.txt", "c.txt"))) == ["a.txt", "c.txt"]
    assert found(ChunkFilter(sources=())) == []
    assert list(store.iter_chunks(ChunkFilter(sources=()))) == []
