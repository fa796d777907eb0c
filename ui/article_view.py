"""The article view (``?article=...``): a whole article, the cited passage tinted in it."""

from __future__ import annotations

from typing import Any

import streamlit as st

import rag
from ui import render, style


def _int(value: Any) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def article_view(settings: rag.Settings, params: Any) -> None:
    """The article named by ``?article=``, the passage ``start``-``end`` tinted and its
    quoted sentence ``qs``-``qe`` marked; nothing but the article when they are missing."""
    source = str(params.get("article"))
    start, end = _int(params.get("start")), _int(params.get("end"))
    quote_start, quote_end = _int(params.get("qs")), _int(params.get("qe"))
    try:
        article = rag.open_article(settings, source)
    except rag.ArticleUnreadable as exc:
        st.error(
            f"{render.code(source)} cannot be read ({render.md(exc.reason)}); "
            "re-index the folder to drop it."
        )
        return
    except rag.RagError as exc:  # not indexed, or the index cannot be opened
        st.error(render.md(exc))
        return
    doc = article.document
    meta = [f"<code>{render.text(source)}</code>"]
    if doc.published:
        meta.append(render.text(doc.published))
    meta.append(f"{len(doc.text):,} characters")
    if doc.pages:
        meta.append(f"{len(doc.pages)} pages")
    st.html(
        f'<div class="rag-article-head"><h1>{render.text(render.shorten(doc.title, 160))}</h1>'
        f'<div class="rag-meta">{" · ".join(meta)}</div></div>'
    )
    if article.changed:
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
    st.html(style.SCROLL_TO_PASSAGE, unsafe_allow_javascript=True)
