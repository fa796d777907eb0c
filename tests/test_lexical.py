"""The keyword side: tokenizer, BM25 scores, an index that changes with the store.

Real Chroma store, real embedding model, real processes; nothing mocked.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import run_process, start_process

from rag import indexer, lexical
from rag.config import Settings
from rag.embeddings import Embedder
from rag.keyword_updates import indexed_text
from rag.retrieval import Retriever
from rag.store import Store


def test_tokenize_stems_folds_accents_and_drops_stopwords() -> None:
    assert lexical.tokenize("The Élections were ELECTED by the café") == ["elect", "elect", "cafe"]
    assert lexical.tokenize("universities") == lexical.tokenize("University")
    assert lexical.tokenize("What is it?") == []
    # Query and passage words meet at the same stem.
    assert set(lexical.tokenize("negotiators negotiating")) == set(lexical.tokenize("negotiate"))


def test_scores_search_and_filter(indexed: Settings) -> None:
    lex = lexical.refresh(Store(indexed), indexed)

    hits = lex.search("Istanbul memorandum", 3)
    assert hits and [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)
    assert lex.scores("Istanbul memorandum").of([hits[0][0]]) == {hits[0][0]: hits[0][1]}

    files = lex.files()
    allowed = files.ids[[s.startswith("000_") for s in files.sources]]
    masked = lex.search("Istanbul memorandum peace", 50, allowed)
    source_of = {c.chunk_id: c.source for c in Store(indexed).iter_chunks()}
    assert masked and all(source_of[cid].startswith("000_") for cid, _ in masked)
    assert lex.search("zzzqqq unknownword", 5) == []


def test_scores_are_bm25_of_the_stemmed_tokens(indexed: Settings) -> None:
    """The same Lucene BM25 (k1 0.9, b 0.4) the in-memory bm25s index computed."""
    store = Store(indexed)
    chunks = {c.chunk_id: c for c in store.iter_chunks()}
    docs = {
        cid: lexical.tokenize(indexed_text(c.title, c.start, c.text)) for cid, c in chunks.items()
    }
    avg = sum(map(len, docs.values())) / len(docs)
    query = "Istanbul peace memorandum talks"
    expected: dict[str, float] = {}
    for term in dict.fromkeys(lexical.tokenize(query)):
        df = sum(term in d for d in docs.values())
        idf = np.log(1 + (len(docs) - df + 0.5) / (df + 0.5))
        for cid, d in docs.items():
            tf = d.count(term)
            norm = lexical.BM25_K1 * (1 - lexical.BM25_B + lexical.BM25_B * len(d) / avg)
            expected[cid] = expected.get(cid, 0.0) + idf * tf / (norm + tf)

    got = lexical.refresh(store, indexed).scores(query).of(list(docs))

    assert got == pytest.approx(expected)


def test_idf_prefers_rare_words(indexed: Settings) -> None:
    lex = lexical.refresh(Store(indexed), indexed)
    idf = lex.idf(["istanbul", "peac", "not-a-word"])

    assert set(idf) == {"istanbul", "peac"}
    assert idf["istanbul"] > idf["peac"] > 0


LIGHTHOUSE = "Lighthouse keepers\n\nThe lighthouse keepers of Skerryvore kept a logbook.\n"


def test_adding_and_deleting_a_file_changes_only_that_file(
    indexed: Settings, embedder: Embedder
) -> None:
    store = Store(indexed)
    lex = lexical.refresh(store, indexed)
    before = lex.row_ids([c.chunk_id for c in store.iter_chunks()])
    (indexed.articles_dir / "extra.txt").write_text(LIGHTHOUSE, encoding="utf-8")

    indexer.run(indexed, embedder=embedder)

    assert lex.generation() == store.generation
    extra = {c.chunk_id for c in store.iter_chunks() if c.source == "extra.txt"}
    assert lex.search("Skerryvore logbook", 1)[0][0] in extra
    # Nothing else was indexed again: every other chunk keeps its row.
    assert lex.row_ids(list(before)) == before
    assert lex.count() == store.count()

    (indexed.articles_dir / "extra.txt").unlink()
    indexer.run(indexed, embedder=embedder)

    assert lex.search("Skerryvore logbook", 5) == []
    assert lex.row_ids(list(before)) == before
    assert lex.count() == store.count() == len(before)


def test_a_database_left_behind_catches_up_with_only_what_changed(
    indexed: Settings, embedder: Embedder
) -> None:
    """As after a run killed between its Chroma write and the keyword write."""
    (indexed.articles_dir / "extra.txt").write_text(LIGHTHOUSE, encoding="utf-8")
    indexer.run(indexed, embedder=embedder)
    store = Store(indexed)
    lex = lexical.refresh(store, indexed)
    rows = lex.row_ids([c.chunk_id for c in store.iter_chunks() if c.source != "extra.txt"])
    with lex.writing():
        lex.remove(["extra.txt"])
        lex.mark(1)
    assert lex.search("Skerryvore logbook", 1) == []

    with lex.writing():
        assert lex.catch_up(store) == 1  # the one file missing, nothing else

    assert lex.generation() == store.generation
    assert lex.search("Skerryvore logbook", 1)
    assert lex.row_ids(list(rows)) == rows


def test_a_searching_process_catches_up_in_the_background(
    indexed: Settings, embedder: Embedder
) -> None:
    store = Store(indexed)
    lex = lexical.refresh(store, indexed)
    with lex.writing():
        lex.remove(
            [s for s in lex.files().sources if s.startswith("000_")]
        )  # behind: what a killed run leaves
        lex.mark(1)
    assert not any(s.startswith("000_") for s in lex.files().sources)

    lexical.refresh(store, indexed)  # answers at once; the catch-up runs beside it
    deadline = time.monotonic() + 30
    while lex.generation() != store.generation and time.monotonic() < deadline:
        time.sleep(0.1)

    assert lex.generation() == store.generation
    assert any(s.startswith("000_") for s in lex.files().sources)


def test_a_database_of_another_tokenizer_is_rebuilt(indexed: Settings) -> None:
    path = lexical.database_path(indexed)
    lexical._indexes.clear()
    con = sqlite3.connect(path)
    con.execute("UPDATE meta SET value = 'fts5-0/plural-fold-0' WHERE key = 'schema'")
    con.commit()
    con.close()

    lex = lexical.refresh(Store(indexed), indexed)

    assert lex.count() == Store(indexed).count()
    assert lex.search("Istanbul memorandum", 1)


@pytest.mark.parametrize("damage", ["garbage", "missing"])
def test_a_damaged_or_missing_database_is_rebuilt_without_a_traceback(
    indexed: Settings, damage: str
) -> None:
    path = lexical.database_path(indexed)
    lexical._indexes.clear()
    for f in path.parent.iterdir():
        if f.name.startswith(path.name) and not f.name.endswith(".lock"):
            if damage == "garbage":
                f.write_bytes(b"SQLite format 3\x00" + os.urandom(4000))
            else:
                f.unlink()
    old_cache = indexed.home / "bm25" / indexed.collection  # what earlier versions saved
    old_cache.mkdir(parents=True)

    done = run_process(
        [sys.executable, "-m", "rag.cli", "search", "Istanbul memorandum", "-k", "3", "--json"],
        env=_env(indexed),
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    passages = json.loads(done.stdout)["passages"]
    assert any("Istanbul" in p["text"] and p["scores"]["bm25"] > 0 for p in passages)
    assert not old_cache.exists()


HALF_RUN = """
from rag import lexical
from rag.config import Settings
from rag.keyword_updates import KeywordFile
from rag.schema import StoredChunk
from rag.store import Store

settings = Settings()
text = "The lighthouse keepers of Skerryvore kept a logbook."
chunk = StoredChunk(
    chunk_id="half-run-00000", source="half.txt", start=0, end=len(text), text=text,
    title="Half", published=None, content_hash="h",
)
Store(settings).add_chunks([chunk], [[384 ** -0.5] * 384])
index = lexical.open_index(settings)
with index.writing():
    index.put([KeywordFile.of("half.txt", "h", None, "Half", [chunk])])
"""


def test_a_search_during_another_process_run_never_fails(
    indexed: Settings, embedder: Embedder
) -> None:
    """Half-way through a run elsewhere the keyword index holds chunks this process's
    vector index (loaded before they were written) does not: no error, they count."""
    retriever = Retriever(indexed, embedder=embedder)
    assert retriever.search("Skerryvore logbook", k=3)  # the vector index is loaded
    done = run_process(
        [sys.executable, "-c", HALF_RUN], env=_env(indexed), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr

    passages = retriever.search("Skerryvore logbook", k=3)

    assert passages[0].source == "half.txt"


HALF_DELETE = """
import sys
from rag.config import Settings
from rag.store import Store

Store(Settings()).delete_chunks(sys.argv[1])
"""


def test_a_search_while_another_process_deletes_never_fails(
    indexed: Settings, embedder: Embedder
) -> None:
    """Deleted by another process's run half-way: this process's vector index (loaded
    before) still finds the chunks, the store has no record of them: left out."""
    retriever = Retriever(indexed, embedder=embedder)
    first = retriever.search("Istanbul memorandum", k=3)[0].source
    done = run_process(
        [sys.executable, "-c", HALF_DELETE, first],
        env=_env(indexed),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr

    passages = retriever.search("Istanbul memorandum", k=3)

    assert passages and first not in {p.source for p in passages}


SEARCHER = """
import json, sys, time
from pathlib import Path
from rag import lexical
from rag.config import Settings
from rag.retrieval import Retriever

settings = Settings()
retriever = Retriever(settings)
out, stop = Path(sys.argv[1]), Path(sys.argv[2])
with out.open("a") as log:
    while not stop.exists():
        row = {"t": time.time()}
        try:
            keyword = lexical.refresh(retriever.store, settings).search(sys.argv[3], 3)
            chunks = retriever.store.get_chunks([cid for cid, _ in keyword])
            row["keyword"] = [c.source for c in chunks]
            row["passages"] = [p.source for p in retriever.search(sys.argv[3], k=3)]
        except Exception as exc:
            row["error"] = f"{exc.__class__.__name__}: {exc}"
        log.write(json.dumps(row) + "\\n")
        log.flush()
"""


def _env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(
        RAG_HOME=str(settings.home),
        RAG_ARTICLES_DIR=str(settings.articles_dir),
        RAG_MODELS_DIR=os.environ.get("RAG_MODELS_DIR", ""),
        HF_HUB_OFFLINE="1",
        PYTHONWARNINGS="ignore",
    )
    return env


def _rows(path: Path) -> list[dict[str, object]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.endswith("}")]


def test_a_searching_process_sees_what_an_indexing_process_adds(
    indexed: Settings, tmp_path: Path
) -> None:
    log, stop = tmp_path / "searches.jsonl", tmp_path / "stop"
    query = "Skerryvore lighthouse logbook"
    searcher = start_process(
        [sys.executable, "-c", SEARCHER, str(log), str(stop), query],
        env=_env(indexed),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while len(_rows(log)) < 3 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(_rows(log)) >= 3, "the searcher did not start"
        for i in range(12):  # a run long enough for searches to land inside it
            text = LIGHTHOUSE if i == 0 else f"Harbour note {i}\n\nThe ferry {i} left late.\n"
            (indexed.articles_dir / f"new-{i:02d}.txt").write_text(text, encoding="utf-8")
        started = time.time()
        done = run_process(
            [sys.executable, "-m", "rag.cli", "index"],
            env=_env(indexed),
            capture_output=True,
            text=True,
            timeout=300,
        )
        ended = time.time()
        assert done.returncode == 0, done.stderr
        while time.monotonic() < deadline + 60:
            after = [r for r in _rows(log) if float(r["t"]) > ended]  # type: ignore[arg-type]
            if len(after) >= 2:
                break
            time.sleep(0.2)
    finally:
        stop.touch()
        searcher.wait(timeout=60)
    rows = _rows(log)
    assert not [r for r in rows if "error" in r], rows
    assert "Traceback" not in (searcher.stderr.read() if searcher.stderr else "")
    before = [r for r in rows if float(r["t"]) < started]  # type: ignore[arg-type]
    after = [r for r in rows if float(r["t"]) > ended]  # type: ignore[arg-type]
    assert before and all("new-00.txt" not in r["keyword"] for r in before)  # type: ignore[operator]
    assert after and all(r["keyword"][0] == "new-00.txt" for r in after)  # type: ignore[index]
    assert all(r["passages"][0] == "new-00.txt" for r in after)  # type: ignore[index]
