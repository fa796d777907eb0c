"""The heavy objects the page keeps across reruns: the embedding model and the answerer."""

from __future__ import annotations

from typing import Any

import streamlit as st

from rag.config import Settings
from rag.embeddings import Embedder


def settings_key(settings: Settings) -> str:
    return settings.model_dump_json()


@st.cache_resource(show_spinner="Loading the embedding model (first start only)…")
def embedder(name: str, batch_size: int) -> Embedder:
    model = Embedder(name, batch_size)
    _ = model.model  # load now, under the spinner, not in the middle of the first question
    return model


@st.cache_resource(show_spinner=False, hash_funcs={Settings: settings_key})
def answerer(settings: Settings) -> Any:
    from rag.answering import Answerer
    from rag.retrieval import Retriever

    shared = embedder(settings.embedding_model, settings.embedding_batch_size)
    return Answerer(settings, retriever=Retriever(settings, embedder=shared))
