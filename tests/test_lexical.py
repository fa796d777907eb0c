"""The BM25 side: tokenizer, scores, persistence, kept in step with the store."""

from __future__ import annotations

import json

import numpy as np

from rag import indexer, lexical
from rag.config import Settings
from rag.embeddings import Embedder
from rag.store import Store


def test_tokenize_stems_folds_accents_and_drops_stopwords() -> None:
    assert lexical.tokenize("The Élections were ELECTED by the café") == ["elect", "elect", "cafe"]
    assert lexical.tokenize("universities") == lexical.tokenize("University")
    assert lexical.tokenize("What is it?") == []
    # Query and passage words meet at the same stem.
    assert set(lexical.tokenize("negotiators negotiating")) == set(lexical.tokenize("negotiate"))


def test_scores_search_and_mask(indexed: Settings) -> None:
    lex = lexical.refresh(Store(indexed), indexed)

    scores = lex.scores("Istanbul memorandum")
    assert scores.shape == (len(lex.ids),)
    hits = lex.search("Istanbul memorandum", 3)
    assert hits and hits[0][1] == float(scores.max())
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)

    mask = np.array([s.startswith("000_") for s in lex.sources], dtype=np.float32)
    masked = lex.search("Istanbul memorandum peace", 50, mask)
    assert masked and all(lex.sources[lex.position(cid)].startswith("000_") for cid, _ in masked)
    assert lex.search("zzzqqq unknownword", 5) == []


def test_idf_prefers_rare_words(indexed: Settings) -> None:
    lex = lexical.refresh(Store(indexed), indexed)
    idf = lex.idf(["istanbul", "peac", "not-a-word"])

    assert set(idf) == {"istanbul", "peac"}
    assert idf["istanbul"] > idf["peac"] > 0


def test_saved_index_is_reused_and_follows_the_generation(
    indexed: Settings, embedder: Embedder
) -> None:
    store = Store(indexed)
    meta_path = indexed.home / "bm25" / indexed.collection / "meta.json"
    meta = json.loads(meta_path.read_text())
    assert meta["generation"] == store.generation
    assert meta["tokenizer"] == lexical.TOKENIZER_VERSION

    lexical._cache.clear()  # a fresh process loads the saved copy
    loaded = lexical.refresh(store, indexed)
    assert loaded.ids == meta["ids"]

    (indexed.articles_dir / "extra.txt").write_text(
        "Lighthouse keepers\n\nThe lighthouse keepers of Skerryvore kept a logbook.\n",
        encoding="utf-8",
    )
    indexer.run(indexed, embedder=embedder)
    fresh = lexical.refresh(store, indexed)
    assert fresh.generation == store.generation != loaded.generation
    extra = {c.chunk_id for c in store.iter_chunks() if c.source == "extra.txt"}
    assert fresh.search("Skerryvore", 1)[0][0] in extra


def test_index_of_an_older_tokenizer_is_rebuilt(indexed: Settings) -> None:
    meta_path = indexed.home / "bm25" / indexed.collection / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta["tokenizer"] = "plural-fold-0"
    meta["ids"] = meta["ids"][:1]  # what an old build would disagree on
    meta_path.write_text(json.dumps(meta))
    lexical._cache.clear()

    lex = lexical.refresh(Store(indexed), indexed)

    assert len(lex.ids) == Store(indexed).count()
    assert json.loads(meta_path.read_text())["tokenizer"] == lexical.TOKENIZER_VERSION
