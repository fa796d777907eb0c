"""The chat page: ask the articles, read the answer as it is written, open every source.

A thin layer over the ``rag`` library (run it with ``rag ui``): retrieval, answering,
citation checking, indexing, uploads and the LLM's lifecycle all live in ``rag/``;
this file only lays the page out from its parts (``chat_view``, ``article_view`` and the
sidebar's ``index_panel``, ``sources_panel``, ``llm_panel``, ``chats_panel``).  Article
and model text is shown as text: it is escaped (``ui/render.py``) before it reaches any HTML.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

import rag
from ui import chats_panel, render, sources_panel, style
from ui.article_view import article_view
from ui.chat_view import TITLE, chat, dates_panel
from ui.index_panel import index_panel, reindex, upload_panel
from ui.llm_panel import llm_panel

# --- the page ------------------------------------------------------------------------


def main() -> None:
    st.set_page_config(page_title=TITLE, page_icon=":material/newspaper:", layout="centered")
    st.html(style.CSS)
    try:
        settings = rag.load_settings()
    except rag.RagError as exc:  # one sentence naming the variable and the allowed values
        st.error(f"{render.md(exc)} Fix it and reload the page.")
        st.stop()

    params = st.query_params
    if params.get("article"):
        article_view(settings, params)
        return

    state = st.session_state
    state.setdefault("messages", [])
    state.setdefault("activity", [])  # what the last re-index or upload did
    state.setdefault("uploader", 0)
    state.setdefault("conflicts", {})

    # The saved chats top the sidebar but are drawn last, so a chat this run saves is listed.
    chats_slot = st.sidebar.container()
    chats_panel.restore(settings)
    status = sidebar(settings)
    chat(settings, status)
    with chats_slot:
        chats_panel.panel(settings)


# --- sidebar ---------------------------------------------------------------------------


def sidebar(settings: rag.Settings) -> rag.IndexStatus | None:
    with st.sidebar:
        st.markdown("### :material/library_books: Articles")
        try:
            status = rag.index_status(settings)
        except rag.RagError as exc:
            st.error(render.md(exc))
            status = None
        if status is not None:
            index_panel(settings, status)
        upload_panel(settings)
        sources_panel.link_panel(settings, reindex)
        sources_panel.feeds_panel(settings, reindex)
        for kind, message in st.session_state.activity:
            getattr(st, kind)(message)
        st.divider()
        llm_panel(settings, warm_up=bool(status and status.documents))
        st.divider()
        st.markdown("### :material/tune: Answering")
        st.slider(
            "Passages per answer (top-k)",
            min_value=1,
            max_value=10,
            value=min(max(settings.top_k, 1), 10),
            key="top_k",
            help="How many retrieved passages the LLM reads for each question.",
        )
        dates_panel()
        if st.button("Clear chat", icon=":material/delete_sweep:", width="stretch"):
            chats_panel.new_chat()  # the saved chat stays in the list
            st.rerun()
        st.divider()
        eval_panel(settings)
    return status


def eval_panel(settings: rag.Settings) -> None:
    """How far the citations can be trusted: the latest `rag eval` run's headline numbers."""
    st.markdown("### :material/fact_check: Citation accuracy")
    path = rag.latest_eval(settings)
    try:
        saved = _eval_summary(str(path), path.stat().st_mtime) if path else None
    except (rag.RagError, OSError) as exc:
        st.caption(render.md(exc))
        return
    if not saved:
        st.caption("No evaluation yet: run `rag eval --report DIR` to measure the citations.")
        return
    totals = saved["totals"]
    rows = "".join(
        f"<li>{label}: <b>{totals[name]:.2f}</b></li>"
        for name, label in saved["shown"]
        if isinstance(totals.get(name), int | float)
    )
    st.html(f'<ul class="rag-eval">{rows}</ul>')
    st.caption(
        render.md(
            f"{saved.get('suite', '?')} suite, {totals.get('n', '?')} questions, "
            f"{str(saved.get('started', ''))[:10]} · `rag eval` to measure again"
        )
    )


@st.cache_data(max_entries=4, show_spinner=False)
def _eval_summary(path: str, mtime: float) -> dict[str, Any]:
    """The saved run's summary, parsed once per file version (a seed run's results.json
    holds every answer: too big to re-read on each rerun of the page)."""
    return rag.eval_summary(Path(path))


main()
