"""The page's saved chats: save each turn, list, resume, rename, delete (asked first), download.

Glue only, through ``import rag`` (``rag/library.py``): storage is ``rag/chat_store.py``,
recording and staleness ``rag/chats.py``, exports ``rag/chat_export.py``.  The open chat's id
is kept in the address (``?chat=ID``), so a reload carries on where it was.  When the
chats file cannot be used, the page still answers and says once that it is not saving.
"""

from __future__ import annotations

import uuid
from typing import Any

import streamlit as st

import rag
from rag import ChatsError, Settings
from ui import render

SHOWN = 30  # chats listed in the sidebar, newest first


def _state() -> Any:
    state = st.session_state
    state.setdefault("chat_id", None)
    state.setdefault("chats_error", None)  # why saving is off, once it is
    state.setdefault("confirm_delete", None)
    return state


def new_chat() -> None:
    """An empty page; the next question starts a new saved chat."""
    state = _state()
    state.messages = []
    state.chat_id = None
    state.confirm_delete = None
    st.query_params.pop("chat", None)


def messages_of(settings: Settings, chat: rag.Chat) -> list[dict[str, Any]]:
    """A saved chat as the page's messages; each answer knows which of its passages
    changed or vanished since (``stale``), so its cards can say so."""
    messages: list[dict[str, Any]] = []
    for turn in chat.turns:
        answer = turn.to_answer()
        messages.append({"role": "user", "content": turn.question})
        messages.append(
            {
                "role": "assistant",
                "content": answer.answer,
                "answer": answer,
                "key": uuid.uuid4().hex[:8],
                "notices": list(answer.notices),
                "stale": rag.stale_passages(settings, answer),
            }
        )
    return messages


def resume(settings: Settings, chat_id: int) -> None:
    state = _state()
    chat = rag.open_chat(settings, chat_id)
    state.messages = messages_of(settings, chat)
    state.chat_id = chat.id
    state.confirm_delete = None
    st.query_params["chat"] = str(chat.id)


def restore(settings: Settings) -> None:
    """On a fresh session (a reload), reopen the chat named in the address."""
    state = _state()
    wanted = st.query_params.get("chat")
    if not wanted or state.chat_id is not None or state.get("messages"):
        return
    try:
        resume(settings, int(wanted))
    except (ValueError, ChatsError) as exc:
        st.query_params.pop("chat", None)
        st.warning(
            render.md(exc if isinstance(exc, ChatsError) else "That chat address is not valid.")
        )


def save(settings: Settings, answer: Any) -> None:
    """Save a finished answer as the open chat's next turn (a new chat for the first)."""
    state = _state()
    if state.chats_error:
        return
    try:
        state.chat_id = rag.save_turn(settings, state.chat_id, answer)
    except ChatsError as exc:
        state.chats_error = str(exc)
        st.warning(
            render.md(f"{exc} This chat is not being saved; answers go on."),
            icon=":material/warning:",
        )
        return
    st.query_params["chat"] = str(state.chat_id)


def panel(settings: Settings) -> None:
    """The sidebar section: new chat, the saved chats, and the open chat's actions."""
    state = _state()
    st.markdown("### :material/forum: Chats")
    if st.button("New chat", icon=":material/add_comment:", width="stretch", key="new-chat"):
        new_chat()
        st.rerun()
    try:
        saved = rag.saved_chats(settings)
    except ChatsError as exc:
        st.warning(render.md(f"{exc} Answers still work; chats are not saved meanwhile."))
        state.chats_error = str(exc)
        return
    if not saved:
        st.caption("Chats are saved here as you ask.")
    for summary in saved[:SHOWN]:
        current = summary.id == state.chat_id
        if st.button(
            summary.title,
            key=f"chat-{summary.id}",
            type="primary" if current else "secondary",
            width="stretch",
            help=f"{summary.turns} question{'' if summary.turns == 1 else 's'} · last {summary.updated[:16].replace('T', ' ')} UTC",
        ):
            try:
                resume(settings, summary.id)
            except ChatsError as exc:
                st.error(render.md(exc))
                return
            st.rerun()
    if len(saved) > SHOWN:
        st.caption(f"… and {len(saved) - SHOWN} older (`rag chats list`).")
    current = next((c for c in saved if c.id == state.chat_id), None)
    if current is not None:
        actions(settings, current)


EXPORTS = (("md", "Markdown", "text/markdown"), ("json", "JSON", "application/json"))


def _exports(settings: Settings, chat_id: int) -> dict[str, str]:
    formats = [fmt for fmt, _label, _mime in EXPORTS]
    try:
        return rag.export_chat(settings, chat_id, *formats)
    except ChatsError as exc:  # each download then says why it holds no chat
        return dict.fromkeys(formats, f"{exc}\n")


def actions(settings: Settings, current: rag.ChatSummary) -> None:
    """Rename, download and delete the open chat."""
    state = _state()
    with st.expander("This chat", icon=":material/edit_note:"):
        with st.form(f"rename-{current.id}", border=False):
            title = st.text_input("Title", value=current.title, max_chars=200)
            if st.form_submit_button("Rename", width="stretch"):
                try:
                    rag.rename_chat(settings, current.id, title)
                except ChatsError as exc:
                    st.error(render.md(exc))
                else:
                    st.rerun()
        # Built with the page, not on click: Streamlit gives a callable a new id on every
        # rerun, and a click on a button drawn by the run before then saves nothing; the
        # same bytes keep the same address across reruns.
        exported = _exports(settings, current.id)
        for fmt, label, mime in EXPORTS:
            st.download_button(
                f"Download as {label}",
                exported[fmt],
                file_name=f"chat-{current.id}.{fmt}",
                mime=mime,
                icon=":material/download:",
                width="stretch",
                key=f"download-{fmt}-{current.id}",
                on_click="ignore",
            )
        if state.confirm_delete != current.id:
            if st.button(
                "Delete this chat", icon=":material/delete:", width="stretch", key="delete-chat"
            ):
                state.confirm_delete = current.id
                st.rerun()
            return
        st.warning(f"Delete “{render.md(current.title)}” and its {current.turns} answers?")
        yes, no = st.columns(2)
        if yes.button("Delete", type="primary", width="stretch", key="delete-yes"):
            try:
                rag.delete_chat(settings, current.id)
            except ChatsError as exc:
                st.error(render.md(exc))
                return
            new_chat()
            st.rerun()
        if no.button("Keep it", width="stretch", key="delete-no"):
            state.confirm_delete = None
            st.rerun()
