"""The sidebar's LLM panel: which model answers, and whether it is starting, ready or down.

The embedded server is warmed up in the background as soon as there is something to ask
about, so the first answer does not wait for the model to load.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import streamlit as st

import rag
from ui import render
from ui.cached import settings_key

log = logging.getLogger("rag.ui")

STATE_COLOURS = {
    "ready": "#1a7f37",
    "starting": "#d9822b",
    "not started": "#8a94a6",
    "unreachable": "#cf222e",
}


@dataclass
class Warmup:
    """The embedded LLM being started in the background, so the first answer is quick."""

    error: str | None = None
    done: bool = False


@st.cache_resource(show_spinner=False, hash_funcs={rag.Settings: settings_key})
def llm_warmup(settings: rag.Settings) -> Warmup:
    warm = Warmup()
    if settings.llm_base_url:
        warm.done = True
        return warm

    def start() -> None:
        try:
            rag.start_llm(settings)
        except Exception as exc:  # shown in the sidebar; answers fall back meanwhile
            warm.error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            log.warning("embedded LLM did not start: %s", warm.error)
        finally:
            warm.done = True

    threading.Thread(target=start, name="rag-llm-warmup", daemon=True).start()
    return warm


@st.cache_data(ttl=5, show_spinner=False, hash_funcs={rag.Settings: settings_key})
def llm_status(settings: rag.Settings) -> rag.LLMStatus:
    return rag.llm_status(settings)


def llm_panel(settings: rag.Settings, warm_up: bool) -> None:
    st.markdown("### :material/smart_toy: LLM")
    warm = llm_warmup(settings) if warm_up else None

    @st.fragment(run_every=2 if warm is not None and not warm.done else None)
    def panel() -> None:
        status = llm_status(settings)
        state = status.state
        if state == "not started" and warm is not None and not warm.done:
            state = "starting"
        label = {
            "ready": "ready",
            "starting": "starting (loading the model)…",
            "not started": "starts with the first question",
            "unreachable": "unreachable",
        }[state]
        st.html(
            f"<div>{render.dot(STATE_COLOURS[state])}<b>{render.text(label)}</b></div>"
            f'<div style="color:#5b6475;font-size:.8rem">{render.text(status.description)}</div>'
        )
        if warm is not None and warm.error:
            st.error(render.md(warm.error))
        elif state == "unreachable":
            st.warning(render.md(unreachable_hint(settings)))

    panel()


def unreachable_hint(settings: rag.Settings) -> str:
    if settings.llm_base_url:
        return (
            f"The LLM at {settings.llm_base_url} does not answer; start it or unset "
            "RAG_LLM_BASE_URL to use the embedded model. Meanwhile answers quote the best "
            "passages."
        )
    return (
        "The embedded LLM does not answer; run `rag llm stop` and reload the page. "
        "Meanwhile answers quote the best passages."
    )
