"""The sidebar's "Add from a link" field and the followed feeds.

A thin layer over ``import rag`` (``rag/library.py``: a page -> an article file, feeds);
``reindex`` is the page's own re-index step (progress bar, summary), so an added
link is indexed exactly as an upload is.  Messages go to the page's activity list.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

import rag
from rag import RagError, Settings
from ui import render

Reindex = Callable[[Settings, str], Any]


def link_panel(settings: Settings, reindex: Reindex) -> None:
    """A text field for article addresses: fetched, saved as Markdown, then indexed."""
    with st.form("add-link", clear_on_submit=True, border=False):
        links = st.text_input(
            "Add from a link",
            placeholder="https://…",
            help="The page's article text is saved into the articles folder, then indexed. "
            "Several addresses may be given, separated by spaces.",
        )
        submitted = st.form_submit_button("Fetch and add", icon=":material/link:")
    if not (submitted and links.strip()):
        return
    with st.spinner("Fetching…"):
        try:
            report = rag.add_links(settings, links.split())
        except RagError as exc:
            st.session_state.activity = [("error", render.md(exc))]
            return
    notes: list[tuple[str, str]] = [("error", render.md(reason)) for _, reason in report.skipped]
    saved = [s for s in report.added if s.state != "unchanged"]
    notes += [
        ("info", f"{render.code(s.path)} is already in the folder, unchanged.")
        for s in report.added
        if s.state == "unchanged"
    ]
    if saved:
        reindex(settings, "Indexing the article")
        names = "; ".join(render.code(s.path) for s in saved)
        notes.insert(0, ("success", f"Saved {names}."))
        notes += list(st.session_state.activity)  # the re-index summary
    st.session_state.activity = notes
    if saved:
        st.rerun()  # the index changed: the page (and its chat box) must see it


def feeds_panel(settings: Settings, reindex: Reindex) -> None:
    """The followed feeds with their last sync and error; follow one more; sync them now."""
    try:
        followed = rag.followed_feeds(settings)
    except RagError as exc:
        st.error(render.md(exc))
        return
    label = f"Feeds ({len(followed)})" if followed else "Feeds"
    with st.expander(label, icon=":material/rss_feed:"):
        with st.form("follow-feed", clear_on_submit=True, border=False):
            url = st.text_input(
                "Follow a feed",
                placeholder="https://…/feed.xml",
                help="An RSS or Atom feed; each sync saves its new articles into the folder.",
            )
            if st.form_submit_button("Follow") and url.strip():
                try:
                    feed = rag.follow_feed(settings, url.strip())
                except RagError as exc:
                    st.session_state.activity = [("error", render.md(exc))]
                else:
                    st.session_state.activity = [
                        ("success", f"Following {render.md(feed.title or feed.url)}.")
                    ]
                st.rerun()
        if not followed:
            return
        for feed in followed:
            when = (
                feed.last_sync.replace("T", " ").rstrip("Z") + " UTC" if feed.last_sync else "never"
            )
            st.markdown(
                f"**{render.md(feed.title or feed.url)}**  \n{render.code(feed.url)}  \n"
                f"last sync {render.md(when)} · {len(feed.entries)} articles"
            )
            if feed.last_error:
                st.warning(render.md(feed.last_error))
        if st.button("Sync the feeds now", key="sync-feeds"):
            with st.spinner("Fetching the feeds…"):
                try:
                    report = rag.sync_feeds(settings)
                except RagError as exc:
                    st.session_state.activity = [("error", render.md(exc))]
                    st.rerun()
            if report.changed:
                reindex(settings, "Indexing the new articles")
            st.session_state.activity = [
                ("success", f"{report.new} new, {report.updated} updated articles."),
                *[("error", render.md(r)) for _, r in report.failed],
                *(st.session_state.activity if report.changed else []),
            ]
            st.rerun()
