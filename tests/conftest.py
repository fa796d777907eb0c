"""Shared fixtures: every test gets its own RAG_HOME; heavy models load once."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.config import Settings
from rag.embeddings import Embedder

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "seeds"
# One place for the assembled GGUF weights, shared by all tests and runs.
MODELS_DIR = Path(os.environ.get("RAG_TEST_MODELS_DIR", "/tmp/rag-models"))


@pytest.fixture(autouse=True)
def rag_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point RAG_HOME at a temp dir and drop any RAG_* settings from the environment."""
    for key in list(os.environ):
        if key.startswith("RAG_") or key == "OPENAI_API_KEY":
            monkeypatch.delenv(key, raising=False)
    home = tmp_path / "rag-home"
    monkeypatch.setenv("RAG_HOME", str(home))
    monkeypatch.setenv("RAG_MODELS_DIR", str(MODELS_DIR))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)  # a stray .env in the repo must not leak into tests
    return home


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real embedding model, loaded once per test session."""
    return Embedder(Settings().embedding_model)


@pytest.fixture
def articles(tmp_path: Path) -> Path:
    """A fresh articles folder holding copies of the seed articles."""
    folder = tmp_path / "articles"
    folder.mkdir()
    for f in SEEDS.glob("*.txt"):
        shutil.copy(f, folder / f.name)
    return folder


@pytest.fixture
def settings(rag_env: Path, articles: Path) -> Settings:
    return Settings(home=rag_env, articles_dir=articles)


@pytest.fixture
def indexed(settings: Settings, embedder: Embedder) -> Iterator[Settings]:
    """Settings whose store already holds the seed articles."""
    from rag import indexer

    indexer.run(settings, embedder=embedder)
    yield settings
