"""The page's "Add from a link" field and feed list, driven with Streamlit's AppTest.

A real page run, a real HTTP server on 127.0.0.1 and the real indexer; the LLM
points at a closed loopback port, so nothing is answered or started here.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from website import Route, Site, article_html

from rag import feeds, indexer
from rag.config import Settings

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "ui" / "app.py"

STORY = [
    "The harbour of Testville reopened on Tuesday after the storm closed it for nine days.",
    "Mayor Ada Quill said repairs to the northern pier would cost 4.2 million euros.",
    "Fishing boats were the first to leave, followed by two ferries to the islands.",
]


@pytest.fixture
def page_env(tmp_path: Path, rag_env: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    folder = tmp_path / "articles"
    folder.mkdir()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}/v1"
    monkeypatch.setenv("RAG_ARTICLES_DIR", str(folder))
    monkeypatch.setenv("RAG_FETCH_ALLOW_PRIVATE", "1")
    monkeypatch.setenv("RAG_LLM_BASE_URL", closed)  # never start the embedded LLM here
    return Settings(home=rag_env, articles_dir=folder)


def test_a_link_added_in_the_page_is_saved_and_indexed(page_env: Settings, site: Site) -> None:
    site.routes["/story"] = Route(article_html("Harbour reopens", STORY, published="2024-03-05"))
    at = AppTest.from_file(str(APP), default_timeout=300)
    at.run()
    field = next(t for t in at.sidebar.text_input if t.label == "Add from a link")
    field.input(f"{site.url('/story')} {site.url('/missing')}")
    next(b for b in at.sidebar.button if b.label == "Fetch and add").click()
    at.run()
    assert not at.exception
    successes = [s.value for s in at.sidebar.success]
    assert any("Saved `2024-03-05-harbour-reopens.md`" in s for s in successes), successes
    errors = [e.value for e in at.sidebar.error]
    assert any("was not found \\(HTTP 404\\); check the address." in e for e in errors), errors
    assert (page_env.articles_dir / "2024-03-05-harbour-reopens.md").is_file()
    assert indexer.status(page_env).documents == 1


def test_the_page_lists_feeds_with_their_errors(page_env: Settings, site: Site) -> None:
    site.routes["/feed"] = Route(
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>Testville Post</title>'
        b"</channel></rss>",
        type="application/rss+xml",
    )
    s = page_env.model_copy(update={"fetch_allow_private": True})
    feeds.add_feed(s, site.url("/feed"))
    site.routes["/feed"] = Route(b"down", status=500)
    feeds.sync(s)
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.run()
    assert not at.exception
    [panel] = [e for e in at.sidebar.expander if e.label == "Feeds (1)"]
    shown = " ".join(m.value for m in panel.markdown)
    assert "Testville Post" in shown and "0 articles" in shown
    [warning] = panel.warning
    assert "failed \\(HTTP 500\\); try again later." in warning.value


def test_the_article_view_of_a_pdf_names_the_page(page_env: Settings, embedder: object) -> None:
    from pdfs import text_pdf

    from rag.documents import FileEntry, load

    pages = [STORY[:1], STORY[1:2], ["The lighthouse keeper logged winds of 140 km per hour."]]
    path = page_env.articles_dir / "report.pdf"
    path.write_bytes(text_pdf(pages, {"Title": "Harbour report"}))
    indexer.run(page_env, embedder=embedder)  # type: ignore[arg-type]
    doc = load(FileEntry(path, "report.pdf"), page_env.max_file_bytes)
    at_ = doc.text.index("The lighthouse")
    at = AppTest.from_file(str(APP), default_timeout=120)
    for key, value in {
        "article": "report.pdf",
        "start": at_,
        "end": at_ + 40,
        "qs": at_,
        "qe": at_ + 40,
    }.items():
        at.query_params[key] = str(value)
    at.run()
    assert not at.exception
    assert any("The cited passage (p. 3) is tinted" in c.value for c in at.caption)


def test_a_feed_followed_and_synced_in_the_page(page_env: Settings, site: Site) -> None:
    site.routes["/story"] = Route(article_html("Harbour reopens", STORY, published="2024-03-05"))
    site.routes["/feed"] = Route(
        (
            '<?xml version="1.0"?><rss version="2.0"><channel><title>Testville Post</title>'
            f"<item><guid>1</guid><title>Harbour reopens</title><link>{site.url('/story')}</link>"
            "</item></channel></rss>"
        ).encode(),
        type="application/rss+xml",
    )
    at = AppTest.from_file(str(APP), default_timeout=300)
    at.run()
    follow = next(t for t in at.sidebar.text_input if t.label == "Follow a feed")
    follow.input(site.url("/story"))  # a page, not a feed
    next(b for b in at.sidebar.button if b.label == "Follow").click()
    at.run()
    assert any("not an RSS or Atom feed" in e.value for e in at.sidebar.error)
    follow = next(t for t in at.sidebar.text_input if t.label == "Follow a feed")
    follow.input(site.url("/feed"))
    next(b for b in at.sidebar.button if b.label == "Follow").click()
    at.run()
    assert any("Following Testville Post" in s.value for s in at.sidebar.success)
    next(b for b in at.sidebar.button if b.label == "Sync the feeds now").click()
    at.run()
    assert not at.exception
    assert any("1 new, 0 updated articles" in s.value for s in at.sidebar.success)
    assert (page_env.articles_dir / "2024-03-05-harbour-reopens.md").is_file()
    assert indexer.status(page_env).documents == 1
