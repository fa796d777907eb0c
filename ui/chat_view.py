"""The conversation: the question box, the answer streamed as it is written, then the
finished answer with its badges and source cards; and the date bounds every question takes."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import streamlit as st

from rag import IndexStatus, RagError, Settings, indexed_articles
from ui import cards, chats_panel, render
from ui.cached import answerer
from ui.llm_panel import llm_status

log = logging.getLogger("rag.ui")

TITLE = "Ask the articles"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0].rstrip(".") if text else type(exc).__name__


def dates_panel() -> None:
    """Published-date bounds for every question (empty: time words in the question decide).
    One under the other: side by side, the sidebar cut the dates to "2025 - 0"."""
    st.date_input("Published from", value=None, key="date_from", format="YYYY-MM-DD")
    st.date_input("Published to", value=None, key="date_to", format="YYYY-MM-DD")


def chosen_filters() -> Any:
    """The sidebar's date bounds as retrieval filters (None when neither is set); bounds
    given the wrong way round are swapped rather than refused."""
    from rag import Filters

    bounds = [st.session_state.get("date_from"), st.session_state.get("date_to")]
    if not any(bounds):
        return None
    if all(bounds) and bounds[0] > bounds[1]:
        bounds.reverse()
    after, before = (b.isoformat() if b else None for b in bounds)
    return Filters.parse(after=after, before=before)


def window_words(filters: Any) -> str | None:
    """The sidebar's bounds in words, for the answer they narrowed ("2025-05-01 to 2025-05-31")."""
    after, before = (getattr(filters, "after", None), getattr(filters, "before", None))
    if after and before:
        return f"{after} to {before}"
    return f"from {after}" if after else f"until {before}" if before else None


def chat(settings: Settings, status: IndexStatus | None) -> None:
    st.markdown(f"## :material/newspaper: {TITLE}")
    st.caption(
        "Answers come only from the indexed news articles, and every claim cites the "
        "passage it comes from."
    )
    empty = status is not None and status.documents == 0
    # Read first (it is drawn at the bottom wherever it is called), so the welcome
    # list is left out of the run that answers the first question.
    question = st.chat_input(
        "Add articles to ask about them" if empty else "Ask about the articles…",
        disabled=empty or status is None,
    )
    if empty:
        st.warning(
            "The index is empty: add .txt, .md or .html articles to "
            f"{render.code(settings.articles_dir)} "
            "(or upload them in the sidebar) and press **Re-index the folder**."
        )
    elif status is not None and not st.session_state.messages and not question:
        show_library(settings)
    if status is not None and not empty:
        try:
            answerer(settings)  # the first start loads the embedding model here, with a spinner
        except RagError as exc:
            st.error(render.md(exc))
            return

    for message in st.session_state.messages:
        with st.chat_message(message["role"]):
            if message["role"] == "user":
                st.html(render.answer_html(message["content"]))
            else:
                show_answer(message)

    dates = True
    if not question and st.session_state.get("reask"):  # a date chip was removed
        question, dates = st.session_state.pop("reask"), False
    if not question or not question.strip():
        return
    question = question.strip()
    turns = st.session_state.messages
    if not dates:  # asked again without its window: in the context it was first asked in
        asked = [i for i, m in enumerate(turns) if m["role"] == "user" and m["content"] == question]
        turns = turns[: asked[-1]] if asked else turns
    history = [{"role": m["role"], "content": m["content"]} for m in turns if m.get("content")]
    st.session_state.messages.append({"role": "user", "content": question})
    with st.chat_message("user"):
        st.html(render.answer_html(question))
    with st.chat_message("assistant"):
        message: dict[str, Any] = {
            "role": "assistant",
            "content": "",
            "key": uuid.uuid4().hex[:8],
            "notices": [],
            "error": "Stopped before the answer was finished; ask again.",
        }
        try:
            stream_answer(settings, question, history, message, dates)
        finally:  # also when a new question interrupts this one: keep the turns paired
            st.session_state.messages.append(message)
            llm_status.clear()
        if message.get("answer") is not None:
            chats_panel.save(settings, message["answer"])
        show_answer(message)


def stream_answer(
    settings: Settings,
    question: str,
    history: list[dict[str, str]],
    message: dict[str, Any],
    dates: bool = True,
) -> None:
    """Stream one answer into placeholders, filling ``message`` (the chat turn to keep).

    The sources appear as soon as retrieval is done, then the text as it is written;
    the placeholders are cleared at the end for the finished answer.
    """
    from rag import Checking, Done, Notice, Retrieved, Token

    notices_box, answer_box, sources_box = st.empty(), st.empty(), st.empty()
    answer_box.markdown("*Searching the articles…*")
    text = ""
    try:
        worker = answerer(settings)
        filters = chosen_filters()
        message["window"] = window_words(filters)
        events = worker.stream(
            question,
            history=history,
            k=st.session_state.get("top_k"),
            filters=filters,
            dates=dates,
        )
        for event in events:
            if isinstance(event, Retrieved):
                answer_box.markdown(f"*{waiting_for_llm(settings)}*")
                with sources_box.container():
                    show_retrieved(event.passages)
            elif isinstance(event, Token):
                text += event.text
                answer_box.html(render.answer_html(text, cursor=True))
            elif isinstance(event, Checking):
                answer_box.html(render.answer_html(text) + render.checking_html())
            elif isinstance(event, Notice):
                message["notices"].append(event.message)
                with notices_box.container():
                    for note in message["notices"]:
                        st.warning(render.md(note), icon=":material/warning:")
            elif isinstance(event, Done):
                message["answer"] = event.answer
                message["content"] = event.answer.answer
                message.pop("error", None)
    except RagError as exc:
        message["error"] = str(exc)
    except Exception as exc:  # never a traceback in the page; the log has the details
        log.exception("answering failed")
        message["error"] = (
            f"Answering failed ({_first_line(exc)}); see the terminal running `rag ui` "
            "and try again."
        )
    notices_box.empty()
    answer_box.empty()
    sources_box.empty()


def show_library(settings: Settings) -> None:
    """What can be asked about: the indexed articles, newest first."""
    try:
        records = indexed_articles(settings)
    except RagError:
        return
    shown = records[:6]
    rows = "".join(
        f'<li><span class="rag-title">{render.text(render.shorten(r.title or r.source, 90))}</span>'
        f'<span class="rag-meta"> · <code>{render.text(r.source)}</code>'
        f"{' · ' + render.text(r.published) if r.published else ''}</span></li>"
        for r in shown
    )
    more = (
        f"<li class='rag-meta'>… and {len(records) - len(shown)} more</li>"
        if len(records) > len(shown)
        else ""
    )
    st.html(f'<div class="rag-library"><b>In the index</b><ul>{rows}{more}</ul></div>')
    st.caption("Ask anything about them below; follow-up questions keep the context.")


def waiting_for_llm(settings: Settings) -> str:
    status = llm_status(settings)
    if status.state == "ready":
        return "Writing the answer…"
    if status.state == "unreachable":
        return "The LLM does not answer; quoting the best passages instead…"
    return "Starting the local LLM (first question only)…"


def show_retrieved(passages: list[Any]) -> None:
    """The passages found, listed while the answer is being written."""
    if not passages:
        st.caption("No passage matches the question.")
        return
    st.caption(f"Found {len(passages)} passages:")
    st.html(cards.found_list(passages))


def show_answer(message: dict) -> None:
    """A finished answer: notices, the text with its badges, then one card per source."""
    if message.get("error"):
        st.error(render.md(message["error"]))
        return
    answer = message["answer"]
    key = message["key"]
    for note in message.get("notices", []):
        st.warning(render.md(note), icon=":material/warning:")
    if answer.fallback and not message.get("notices"):
        st.warning(
            "This answer quotes the best passages instead of an LLM answer: "
            + render.md(answer.fallback),
            icon=":material/warning:",
        )

    citations: dict[int, Any] = {}
    for c in sorted(answer.citations, key=lambda c: c.n):
        citations.setdefault(c.n, c)
    labels = {n: f"{c.title or c.source} ({c.source})" for n, c in citations.items()}
    marks = [] if answer.refused else render.sentence_marks(answer.answer, answer.sentences)
    st.html(render.answer_html(answer.answer, labels, marks, anchor_prefix=f"src-{key}"))
    if any(m.kind == "unsupported" for m in marks):
        st.caption("⚠ Underlined sentences are not supported by the passage they cite.")
    elif marks:
        st.caption("Dotted sentences cite no passage.")
    frame = getattr(answer, "timeframe", None)
    if frame is not None:
        date_chip(frame, answer.question, key)
    elif message.get("window"):  # the sidebar's dates win over the question's time words
        st.caption(f"Only articles published {message['window']} (the dates in the sidebar).")
    if answer.as_of:  # a dated question's answer, or a figure's
        st.caption(f"As of {answer.as_of}, the newest article this answer cites.")
    if answer.refused:
        why = getattr(answer, "reason", None)
        st.caption(
            (render.md(why) + " " if why else "")
            + "Try other words, or add articles that cover it."
        )

    published = {p.chunk_id: p.published for p in answer.passages}
    passages = {p.chunk_id: p for p in answer.passages}
    stale = message.get("stale", {})  # a resumed answer's passages no longer in their article
    for n, c in citations.items():
        if c.chunk_id in stale:
            st.html(cards.stale_card(n, c.title, c.source, stale[c.chunk_id], f"src-{key}-{n}"))
            continue
        st.html(
            cards.source_card(
                n,
                c.title,
                c.source,
                published.get(c.chunk_id),
                c.text,
                c.start,
                c.quote_start,
                c.quote_end,
                supported=c.supported,
                anchor=f"src-{key}-{n}",
                page=c.page,
                **cards.news_of(passages.get(c.chunk_id)),
            )
        )
        url = cards.article_url(c.source, c.start, c.end, c.quote_start, c.quote_end)
        st.markdown(f"[Open the article at this passage ↗]({url})")
    cited = {c.chunk_id for c in citations.values()}
    others = [p for p in answer.passages if p.chunk_id not in cited and p.chunk_id not in stale]
    if others and answer.refused:
        # The closest passages, said plainly to be no answer: never badged as support.
        st.markdown("**Related, but not an answer**")
        for p in others[:3]:
            st.html(cards.passage_card(p))
            url = cards.article_url(p.source, p.start, p.end, p.start, p.start)
            st.markdown(f"[Open the article ↗]({url})")
        others = others[3:]
    if others:
        label = "More related passages" if answer.refused else "Other passages retrieved"
        with st.expander(f"{label} ({len(others)})"):
            for p in others:
                st.html(cards.passage_card(p))
                url = cards.article_url(p.source, p.start, p.end, p.start, p.start)
                st.markdown(f"[Open the article ↗]({url})")
    timings = answer.timings or {}
    if timings.get("total"):
        parts = [f"answered in {timings['total']:.1f} s"]
        if timings.get("first_token"):
            parts.append(f"first words after {timings['first_token']:.1f} s")
        if timings.get("retrieval"):
            parts.append(f"search {timings['retrieval']:.2f} s")
        st.caption(" · ".join(parts).capitalize())


def date_chip(frame: Any, question: str, key: str) -> None:
    """The date window read from the question, with a button that asks again without it."""
    left, right = st.columns([3, 1], vertical_alignment="center")
    order = " · newest first" if frame.latest and (frame.after or frame.before) else ""
    left.html(
        f'<span class="rag-chip">Published: {render.text(frame.label)}{render.text(order)}'
        f' <span class="rag-meta">from “{render.text(frame.phrase)}”</span></span>'
    )
    if right.button(
        "Any date",
        key=f"anydate-{key}",
        icon=":material/close:",
        help="Ask the same question again over articles of every date.",
    ):
        st.session_state.reask = question
        st.rerun()
