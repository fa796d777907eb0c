"""The Chroma store: chunks with offsets, the manifest, generations, clear failures."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.config import Settings
from rag.store import ChunkFilter, FileRecord, Store, StoredChunk, StoreError, text_hash


def record(source: str, digest: str = "h1", chunks: int = 2, state: str = "done") -> FileRecord:
    return FileRecord(
        source=source,
        content_hash=digest,
        size=10,
        modified=1.5,
        title=f"Title of {source}",
        published="2024-01-02",
        chunks=chunks,
        state=state,
        indexed_at=2.5,
    )


def add(store: Store, source: str, digest: str, texts: list[str], vecs: list[list[float]]) -> None:
    store.add_chunks(
        [
            StoredChunk(
                chunk_id=f"{source}-{digest}-{i}",
                source=source,
                start=10 * i,
                end=10 * i + len(t),
                text=t,
                title=f"Title of {source}",
                published="2024-01-02",
                content_hash=digest,
                index=i,
            )
            for i, t in enumerate(texts)
        ],
        vecs,
    )


@pytest.fixture
def store(rag_env: Path) -> Store:
    return Store(Settings())


def test_chunks_round_trip_with_offsets_and_nearest_first(store: Store) -> None:
    add(store, "a.txt", "h1", ["north wind", "south sea"], [[1, 0, 0], [0, 1, 0]])
    add(store, "b.txt", "h9", ["east coast"], [[0, 0, 1]])
    assert store.count() == 3
    [got] = store.get_chunks(["a.txt-h1-1"])
    assert (got.source, got.start, got.end, got.text, got.title, got.published) == (
        "a.txt",
        10,
        19,
        "south sea",
        "Title of a.txt",
        "2024-01-02",
    )
    hits = store.query([0.1, 0.9, 0.0], 2)
    assert [c.chunk_id for c, _ in hits] == ["a.txt-h1-1", "a.txt-h1-0"]
    assert hits[0][1] > hits[1][1] and hits[0][1] == pytest.approx(0.9 / (0.82**0.5), abs=1e-3)
    only_b = store.query([0.1, 0.9, 0.0], 5, ChunkFilter.source("b.txt"))
    assert [c.chunk_id for c, _ in only_b] == ["b.txt-h9-0"]
    assert sorted(c.chunk_id for c in store.iter_chunks(ChunkFilter.source("a.txt"))) == [
        "a.txt-h1-0",
        "a.txt-h1-1",
    ]


def test_no_default_embedding_function_is_ever_used(store: Store) -> None:
    # Chroma's default would download a model: texts without vectors must be refused.
    with pytest.raises(ValueError, match="embedding function"):
        store.chunks.add(ids=["x"], documents=["text only"])
    assert store.count() == 0


def test_replacing_a_file_keeps_only_its_new_version(store: Store) -> None:
    add(store, "a.txt", "old", ["one", "two"], [[1, 0], [0, 1]])
    add(store, "a.txt", "new", ["one", "three"], [[1, 0], [1, 1]])
    add(store, "b.txt", "old", ["other"], [[1, 0]])
    reuse = store.vectors_for(["a.txt"])
    assert reuse[text_hash("two")] == pytest.approx([0.0, 1.0])
    store.delete_chunks("a.txt", keep_hash="new")
    assert sorted(c.chunk_id for c in store.iter_chunks()) == [
        "a.txt-new-0",
        "a.txt-new-1",
        "b.txt-old-0",
    ]
    assert store.chunk_versions() == {
        ("a.txt", "new"): ["a.txt-new-0", "a.txt-new-1"],
        ("b.txt", "old"): ["b.txt-old-0"],
    }
    store.delete_chunk_ids(["a.txt-new-1"])
    assert store.count() == 2


def test_manifest_records_round_trip_and_removal(store: Store) -> None:
    store.put_file(record("a.txt", state="pending"))
    store.put_files([record("a.txt"), record("sub/b.md", "h2", 1)])
    add(store, "a.txt", "h1", ["x", "y"], [[1, 0], [0, 1]])
    add(store, "sub/b.md", "h2", ["z"], [[1, 1]])
    records = store.file_records()
    assert records == {"a.txt": record("a.txt"), "sub/b.md": record("sub/b.md", "h2", 1)}
    assert store.file_count() == 2
    store.delete_sources(["a.txt"])
    assert list(store.file_records()) == ["sub/b.md"]
    assert [c.source for c in store.iter_chunks()] == ["sub/b.md"]


def test_many_records_and_chunks_page_correctly(store: Store) -> None:
    n = 2050  # more than one page of Chroma results
    store.put_files([record(f"f{i:04d}.txt", chunks=1) for i in range(n)])
    add(store, "big.txt", "h", [f"t{i}" for i in range(n)], [[1.0, i / n] for i in range(n)])
    assert len(store.file_records()) == n
    assert len(list(store.iter_chunks())) == n
    assert len(store.vectors_for(["big.txt"])) == n


def test_generation_only_moves_forward_even_across_a_reset(store: Store) -> None:
    first = store.bump_generation(run_state="running")
    assert store.meta()["run_state"] == "running"
    add(store, "a.txt", "h1", ["x"], [[1.0, 0.0]])
    store.put_file(record("a.txt", chunks=1))
    store.reset(embedding_model="m")
    assert store.count() == 0 and store.file_records() == {}
    after_reset = store.generation
    assert after_reset > first
    assert store.meta()["embedding_model"] == "m"
    # A fresh handle (another process, say) sees the same metadata.
    assert Store(Settings()).generation == after_reset
    assert store.bump_generation() > after_reset


def test_an_unusable_server_address_is_one_clear_sentence(rag_env: Path) -> None:
    with pytest.raises(StoreError, match="not an http"):
        Store(Settings(chroma_url="ftp://example"))
    with pytest.raises(StoreError, match="unreachable"):
        Store(Settings(chroma_url="http://127.0.0.1:9"))
