"""In a real browser: a link added in the page becomes a cited answer.

`rag ui` as a subprocess (as a user starts it), Debian's Chromium via Playwright, and
a real HTTP server on 127.0.0.1 serving the article (RAG_FETCH_ALLOW_PRIVATE=1, as
the server is local).  The LLM points at a closed loopback port, so the answer is
the one quoted from the passages, cited and checked like any other: this tests the
path from a link to a citation, not answer quality, and starts no model server.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from browser import CHROMIUM, CHROMIUM_FLAGS, free_port, playwright, rag_ui, user_env
from website import Route, Site, article_html

pytestmark = pytest.mark.browser

SAVED = "2024-03-05-quillon-ferry-strike-ends.md"
STORY = [
    "The ferry strike at Port Quillon ended on Monday after eleven days.",
    "The dockworkers' union accepted a pay rise of 6.5 percent, its leader Mara Osei said.",
    "The first ferry to the Quillon islands left at seven in the morning.",
]

playwright_api = playwright()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """`rag ui` over an empty articles folder; yields the page's URL."""

    (tmp_path / "articles").mkdir()
    env = user_env(
        RAG_HOME="home",
        RAG_ARTICLES_DIR="articles",
        RAG_FETCH_ALLOW_PRIVATE="1",
        RAG_LLM_BASE_URL=f"http://127.0.0.1:{free_port()}/v1",  # nothing listens: quoted answer
    )
    with rag_ui(tmp_path, env, tmp_path / "rag-ui.log") as url:
        yield url


def test_a_link_added_in_the_page_becomes_a_cited_answer(
    served: str, site: Site, tmp_path: Path
) -> None:
    site.routes["/story"] = Route(
        article_html("Quillon ferry strike ends", STORY, published="2024-03-05")
    )
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
            page.goto(served)
            page.get_by_test_id("stChatInput").wait_for(timeout=60_000)
            sidebar = page.get_by_test_id("stSidebar")
            sidebar.get_by_role("textbox", name="Add from a link").fill(site.url("/story"))
            sidebar.get_by_role("button", name="Fetch and add").click()
            sidebar.get_by_text(SAVED).first.wait_for(timeout=180_000)  # saved, then indexed
            assert (tmp_path / "articles" / SAVED).is_file()

            box = page.get_by_test_id("stChatInputTextArea")
            box.fill("What pay rise did the dockworkers at Port Quillon accept?")
            box.press("Enter")
            page.get_by_text("Answered in").first.wait_for(timeout=180_000)
            page.wait_for_timeout(1_000)
            cards = page.locator(".rag-card:has(.rag-head sup.rag-cite)")
            names = [cards.nth(i).locator("code").first.inner_text() for i in range(cards.count())]
            assert SAVED in names, names
            answer = page.get_by_test_id("stChatMessage").nth(1)
            assert answer.locator("sup.rag-cite").count() >= 1
            assert "6.5 percent" in answer.inner_text()
            assert not page.get_by_test_id("stException").count()
            page.screenshot(path=str(tmp_path / "link-answer.png"))
        finally:
            browser.close()
