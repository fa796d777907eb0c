"""The heavy objects the page keeps across reruns: the embedding model and the answerer."""

from __future__ import annotations

import streamlit as st

import rag


def settings_key(settings: rag.Settings) -> str:
    return settings.model_dump_json()


@st.cache_resource(show_spinner="Loading the embedding model (first start only)…")
def embedder(name: str, batch_size: int) -> rag.Embedder:
    model = rag.Embedder(name, batch_size)
    _ = model.model  # load now, under the spinner, not in the middle of the first question
    return model


@st.cache_resource(show_spinner=False, hash_funcs={rag.Settings: settings_key})
def answerer(settings: rag.Settings) -> rag.Answerer:
    shared = embedder(settings.embedding_model, settings.embedding_batch_size)
    return rag.Answerer(settings, retriever=rag.Retriever(settings, embedder=shared))
