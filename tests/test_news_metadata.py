"""News metadata through indexing: kept with every chunk, odd dates flagged, never a crash."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rag import indexer
from rag.cli import app
from rag.config import Settings
from rag.embeddings import Embedder
from rag.retrieval import Retriever
from rag.store import Store

ARTICLES = {
    "byline.md": (
        "---\ntitle: Harbour reopens\ndate: 2025-05-03\nauthor: Jane Roe\noutlet: Harbour Gazette\n"
        "url: https://gazette.example/harbour\nlanguage: en\n---\n# Harbour reopens\n\n"
        "The harbour reopened on Saturday after the storm repairs were finished.\n"
    ),
    "undated.txt": "Ferry timetable\n\nThe ferry to the islands now leaves at nine.\n",
    "impossible.md": "---\ndate: 2025-02-30\n---\n# Quay works\n\nThe quay works began.\n",
    "future.md": "---\ndate: 2091-01-02\n---\n# Far ahead\n\nA date nobody has reached.\n",
    "published-line.txt": (
        "Grain exports resume\nBy Marco Silva\nPublished: February 30, 2025\n\n"
        "Grain exports resumed from the north quay.\n"
    ),
}


def folder_of(tmp_path: Path) -> Path:
    folder = tmp_path / "news"
    folder.mkdir()
    for name, text in ARTICLES.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_odd_dates_are_indexed_and_flagged_never_a_crash(
    tmp_path: Path, rag_env: Path, embedder: Embedder
) -> None:
    s = Settings(home=rag_env, articles_dir=folder_of(tmp_path), today="2025-06-16")
    report = indexer.run(s, embedder=embedder)
    assert report.added == len(ARTICLES) and not report.skipped
    flagged = {f.path: f.reason for f in report.flagged}
    assert set(flagged) == {"impossible.md", "future.md", "published-line.txt"}
    assert "'2025-02-30' is not a real date" in flagged["impossible.md"]
    assert "dated 2091-01-02, after today (2025-06-16)" in flagged["future.md"]
    records = Store(s).file_records()
    assert records["future.md"].published == "2091-01-02"  # kept as written
    assert records["impossible.md"].published is None
    assert records["undated.txt"].published is None
    assert indexer.status(s).undated == 3  # undated, impossible, published-line


def test_metadata_reaches_every_chunk_and_passage(
    tmp_path: Path, rag_env: Path, embedder: Embedder
) -> None:
    s = Settings(home=rag_env, articles_dir=folder_of(tmp_path))
    indexer.run(s, embedder=embedder)
    chunks = [c for c in Store(s).iter_chunks() if c.source == "byline.md"]
    assert chunks and all(
        (c.author, c.outlet, c.url, c.language)
        == ("Jane Roe", "Harbour Gazette", "https://gazette.example/harbour", "en")
        for c in chunks
    )
    undated = [c for c in Store(s).iter_chunks() if c.source == "undated.txt"]
    assert all(c.author is None and c.outlet is None for c in undated)
    top = Retriever(s, embedder=embedder).search("When did the harbour reopen?", k=1)[0]
    assert (top.source, top.author, top.outlet) == ("byline.md", "Jane Roe", "Harbour Gazette")
    line = next(c for c in Store(s).iter_chunks() if c.source == "published-line.txt")
    assert line.author == "Marco Silva"


def test_an_older_chunk_layout_is_read_again_without_embedding_anything(
    tmp_path: Path, rag_env: Path, embedder: Embedder
) -> None:
    s = Settings(home=rag_env, articles_dir=folder_of(tmp_path))
    first = indexer.run(s, embedder=embedder)
    # As a store, and the no-op check's state file, written before news metadata.
    Store(s).set_meta(metadata_version=1)
    for state in rag_env.glob("*-index-state.json"):
        saved = json.loads(state.read_text())
        del saved["metadata_version"]
        state.write_text(json.dumps(saved))
    again = indexer.run(s, embedder=embedder)
    assert (again.updated, again.embedded, again.reused) == (len(ARTICLES), 0, first.chunks)
    assert not again.rebuilt and again.chunks == first.chunks
    assert indexer.run(s, embedder=embedder).unchanged == len(ARTICLES)


def test_index_json_and_lines_say_what_was_flagged(
    tmp_path: Path, rag_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAG_ARTICLES_DIR", str(folder_of(tmp_path)))
    monkeypatch.setenv("RAG_TODAY", "2025-06-16")
    out = CliRunner().invoke(app, ["index", "--json"])
    assert out.exit_code == 0, out.output
    flagged = {f["path"] for f in json.loads(out.stdout)["flagged"]}
    assert flagged == {"impossible.md", "future.md", "published-line.txt"}
    (tmp_path / "news" / "future2.md").write_text("---\ndate: 2092-01-01\n---\nHi there.\n")
    out = CliRunner().invoke(app, ["index"])
    assert out.exit_code == 0 and "indexed future2.md, but dated 2092-01-01" in out.stderr
