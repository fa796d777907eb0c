"""The article view (``?article=...``): a whole article, the cited passage tinted in it."""

from __future__ import annotations

from typing import Any

import streamlit as st

from rag.config import Settings
from rag.documents import DocumentError, FileEntry, load
from rag.errors import RagError
from rag.store import Store
from ui import render
from ui.chat_view import _first_line, _short


def _int(value: Any) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def article_view(settings: Settings, params: Any) -> None:
    source = str(params.get("article"))
    start, end = _int(params.get("start")), _int(params.get("end"))
    quote_start, quote_end = _int(params.get("qs")), _int(params.get("qe"))
    try:
        records = Store(settings).file_records()
    except RagError as exc:
        st.error(render.md(exc))
        return
    record = records.get(source)
    path = (settings.articles_dir / source).resolve()
    folder = settings.articles_dir.resolve()
    if record is None or not path.is_relative_to(folder):
        st.error(
            f"{render.md(repr(source))} is not an indexed article; open articles from the "
            "source cards, "
            "or re-index the folder if it was added recently."
        )
        return
    try:
        doc = load(FileEntry(path=path, source=source), settings.max_file_bytes)
    except (DocumentError, OSError) as exc:
        st.error(
            f"{render.code(source)} cannot be read ({render.md(_first_line(exc))}); "
            "re-index the folder to drop it."
        )
        return
    meta = [f"<code>{render.text(source)}</code>"]
    if doc.published:
        meta.append(render.text(doc.published))
    meta.append(f"{len(doc.text):,} characters")
    if doc.pages:
        meta.append(f"{len(doc.pages)} pages")
    st.html(
        f'<div class="rag-article-head"><h1>{render.text(_short(doc.title, 160))}</h1>'
        f'<div class="rag-meta">{" · ".join(meta)}</div></div>'
    )
    if doc.content_hash != record.content_hash:
        st.warning(
            "This article changed since it was indexed, so the highlight may be off; "
            "re-index the folder to refresh it."
        )
    if start is None or end is None:
        st.html(f'<div class="rag-article">{render.text(doc.text)}</div>')
        return
    page = doc.page_at(quote_start if quote_start is not None else start)
    on_page = f" (p. {page})" if page else ""
    st.caption(
        f"The cited passage{on_page} is tinted and its sentence marked; close this tab to return."
    )
    st.html(render.article_body(doc.text, start, end, quote_start, quote_end))
    st.html(render.SCROLL_TO_PASSAGE, unsafe_allow_javascript=True)
