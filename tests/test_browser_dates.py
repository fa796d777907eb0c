"""Questions about time in a real browser: the date chip, "Any date", the sidebar's dates.

`rag ui` as a subprocess (as a user starts it) over the dated suite's fictional
articles (eval/dated/articles) with today pinned to Monday 16 June 2025, Debian's
Chromium via Playwright.  The LLM points at a closed loopback port, so each answer is
the one quoted from the passages, cited and checked like any other: the tests look at
what the page says about the date window and which articles the sources come from,
never at the wording of an answer, and start no model server.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser import CHROMIUM, CHROMIUM_FLAGS, free_port, playwright, rag_ui, user_env

from rag import indexer
from rag.config import Settings
from rag.embeddings import Embedder

pytestmark = pytest.mark.browser

DATED = Path(__file__).resolve().parents[1] / "eval" / "dated" / "articles"
TODAY = "2025-06-16"  # a Monday: "last week" is 9-15 June 2025
QUESTION = "What happened at the port of Valmora last week?"
ANSWER_TIMEOUT_MS = 180_000

playwright_api = playwright()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[str]:
    """`rag ui` over the dated articles, indexed, today pinned; yields the page's URL."""
    base = tmp_path_factory.mktemp("browser-dates")
    shutil.copytree(DATED, base / "articles")
    indexer.run(Settings(home=base / "home", articles_dir=base / "articles"), embedder=embedder)
    env = user_env(
        RAG_HOME="home",
        RAG_ARTICLES_DIR="articles",
        RAG_TODAY=TODAY,
        RAG_LLM_BASE_URL=f"http://127.0.0.1:{free_port()}/v1",  # nothing listens: quoted answer
    )
    with rag_ui(base, env, base / "rag-ui.log") as url:
        yield url


@pytest.fixture
def page(served: str, tmp_path: Path) -> Iterator[object]:
    """A fresh tab (a new session of the page) showing the question box."""
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS
        )
        try:
            tab = browser.new_page(viewport={"width": 1400, "height": 1100})
            tab.goto(served)
            tab.get_by_test_id("stChatInput").wait_for(timeout=60_000)
            yield tab
            tab.screenshot(path=str(tmp_path / "page.png"), full_page=True)
            assert not tab.get_by_test_id("stException").count()
        finally:
            browser.close()


def ask(page: object, question: str) -> None:
    box = page.get_by_test_id("stChatInputTextArea")  # type: ignore[attr-defined]
    box.fill(question)
    box.press("Enter")


def answer(page: object, n: int) -> object:
    """The ``n``-th answer (from 0) once it is finished: its "Answered in" line is drawn.

    While a new question runs, Streamlit keeps faded copies of the earlier answers, so
    each answer is waited for in its own place among the chat messages."""
    message = page.get_by_test_id("stChatMessage").nth(2 * n + 1)  # type: ignore[attr-defined]
    message.get_by_text("Answered in").wait_for(timeout=ANSWER_TIMEOUT_MS)
    return message


def sources(message: object) -> set[str]:
    """The articles an answer's cards come from, cited or only retrieved (the expander's
    cards are in the page, folded): the first file name on each card."""
    cards = message.locator(".rag-card")  # type: ignore[attr-defined]
    names = {cards.nth(i).locator("code").first.text_content() for i in range(cards.count())}
    assert names, "the answer shows no source card"
    return names


def published(name: str) -> str:
    """The date the dated articles' file names start with ("" for the undated guide)."""
    m = re.match(r"\d{4}-\d\d-\d\d", name)
    return m.group(0) if m else ""


def test_a_relative_date_is_a_chip_and_any_date_asks_again_without_it(page: object) -> None:
    ask(page, QUESTION)
    first = answer(page, 0)
    chip = first.locator(".rag-chip")  # type: ignore[attr-defined]
    assert chip.count() == 1
    assert "Published: 9–15 Jun 2025" in chip.inner_text()
    assert "last week" in chip.inner_text()
    within = sources(first)
    assert all("2025-06-09" <= published(s) <= "2025-06-15" for s in within), within

    first.get_by_role("button", name="Any date").click()  # type: ignore[attr-defined]
    again = answer(page, 1)
    messages = page.get_by_test_id("stChatMessage")  # type: ignore[attr-defined]
    assert messages.nth(2).inner_text().strip().endswith(QUESTION)  # the same question
    assert again.locator(".rag-chip").count() == 0  # type: ignore[attr-defined]
    # Asked as it was first asked, not as a follow-up of its own first answer.
    assert "follow-up" not in again.inner_text()  # type: ignore[attr-defined]
    assert again.get_by_role("button", name="Any date").count() == 0  # type: ignore[attr-defined]
    anywhen = sources(again)
    # Every date now: the strike's earlier reports come back.
    assert any(published(s) < "2025-06-09" for s in anywhen), anywhen
    assert first.locator(".rag-chip").count() == 1  # type: ignore[attr-defined]


def set_date(page: object, label: str, value: str) -> None:
    """Type a date into one of the sidebar's date fields, as a user does, and leave it."""
    sidebar = page.get_by_test_id("stSidebar")  # type: ignore[attr-defined]
    sidebar.get_by_role("spinbutton", name=f"year, {label}").click()
    page.keyboard.type(value.replace("-", ""))  # type: ignore[attr-defined]
    page.keyboard.press("Tab")  # type: ignore[attr-defined]
    field = sidebar.get_by_role("group", name=label)
    assert "".join(field.inner_text().split()) == value
    # The whole date is in view, not cut off by the sidebar's width.
    assert field.evaluate("e => e.scrollWidth <= e.clientWidth + 1")


def test_the_sidebar_dates_choose_the_articles_over_the_question(page: object) -> None:
    set_date(page, "Published from", "2025-05-01")
    set_date(page, "Published to", "2025-05-31")
    page.wait_for_timeout(1_000)  # type: ignore[attr-defined]  # the page takes the dates
    ask(page, QUESTION)  # "last week" gives way to the dates the user set
    first = answer(page, 0)
    assert first.locator(".rag-chip").count() == 0  # type: ignore[attr-defined]
    assert "published 2025-05-01 to 2025-05-31" in first.inner_text()  # type: ignore[attr-defined]
    in_may = sources(first)
    assert all("2025-05-01" <= published(s) <= "2025-05-31" for s in in_may), in_may
    # The .txt report's "By Marco Silva | Northern Post" line gives its card's outlet.
    report = first.locator(".rag-card", has_text="2025-05-20-strike-halts")  # type: ignore[attr-defined]
    assert "Northern Post · Marco Silva · 2025-05-20" in report.first.inner_text()

    # Other dates, a new chat (so the question is not read as a follow-up of the first).
    set_date(page, "Published from", "2025-03-01")
    set_date(page, "Published to", "2025-03-31")
    sidebar = page.get_by_test_id("stSidebar")  # type: ignore[attr-defined]
    sidebar.get_by_role("button", name="Clear chat").click()
    page.get_by_test_id("stChatMessage").first.wait_for(state="detached", timeout=30_000)  # type: ignore[attr-defined]
    ask(page, "What did the Serin council decide about the flood wall?")
    march = sources(answer(page, 0))
    assert march == {"2025-03-04-serin-flood-wall-proposed.md"}, march
