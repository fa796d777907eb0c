"""The chat page in a real browser: `rag ui` as a subprocess, Debian's Chromium via Playwright.

The page is served exactly as a user starts it (`rag ui --server.headless true
--server.port N`) over a temp RAG_HOME holding the seed articles and a hostile
article whose <script> and <img onerror> would rename the tab if they ever ran.

The test answers with the small SmolLM2 model: it checks the page's plumbing
(sources, badges, cards, the article view, escaping), which does not depend on
answer quality, and the small model keeps it to seconds.  With RAG_SCREENSHOT set
it uses the default Qwen2.5-Coder-1.5B instead and saves docs/screenshot.png, so
the committed screenshot shows a real answer.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser import CHROMIUM, CHROMIUM_FLAGS, playwright, rag_ui, user_env

from rag import indexer, llm_supervisor
from rag.config import Settings
from rag.embeddings import Embedder

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
# Read at import: the autouse fixture clears RAG_* variables before each test runs.
SCREENSHOT = bool(os.environ.get("RAG_SCREENSHOT"))
LLM = "qwen2.5-coder-1.5b" if SCREENSHOT else "smollm2-135m"
ANSWER_TIMEOUT_MS = (900 if SCREENSHOT else 300) * 1000
TITLE = "Ask the articles"
QUESTION = "What did Russia demand at the peace talks in Istanbul?"
TALKS_SOURCE = "004_3c5e144f33afb4e5.txt"
HOSTILE = (
    "Lantern parade returns to Port Zorblat\n"
    "The Port Zorblat lantern parade opens on Saturday with a procession of fishing boats. "
    "<script>document.title='HACKED'</script> "
    "Organisers expect twelve thousand visitors at the Zorblat harbour. "
    "<img src=x onerror=\"document.title='HACKED'\"> "
    "The mayor said the lantern parade ends at the old lighthouse.\n"
)
playwright_api = playwright()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[str]:
    """`rag ui` serving an indexed temp library; yields the page's URL."""
    base = tmp_path_factory.mktemp("browser")
    articles = base / "articles"
    articles.mkdir()
    for f in SEEDS.glob("*.txt"):
        shutil.copy(f, articles / f.name)
    if not SCREENSHOT:  # the committed screenshot shows the seed articles alone
        (articles / "zorblat.txt").write_text(HOSTILE, encoding="utf-8")
    settings = Settings(home=base / "home", articles_dir=articles, embedded_llm=LLM)
    indexer.run(settings, embedder=embedder)

    env = user_env(  # relative to the server's working directory, as a user would write them
        RAG_HOME="home",
        RAG_ARTICLES_DIR="articles",
        RAG_EMBEDDED_LLM=LLM,
        RAG_MODELS_DIR=os.environ.get("RAG_TEST_MODELS_DIR", "/tmp/rag-models"),
    )
    log = base / "rag-ui.log"
    try:
        with rag_ui(base, env, log) as url:
            assert url in log.read_text().splitlines()[0]  # says where
            yield url
    finally:
        llm_supervisor.stop(settings)  # the page started the embedded server in this home


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[object]:
    with playwright_api.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path / "profile"),  # a fresh profile every time
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1400, "height": 1100},
        )
        try:
            yield context
        finally:
            context.close()


def ask(page: object, question: str) -> None:
    box = page.get_by_test_id("stChatInputTextArea")  # type: ignore[attr-defined]
    box.fill(question)
    box.press("Enter")


def finished(page: object) -> object:
    """The timing line under a finished answer (present whatever the answer was)."""
    return page.get_by_text("Answered in").first  # type: ignore[attr-defined]


def final_cards(page: object) -> object:
    """Source cards of finished answers carry a number badge; retrieval previews do not."""
    return page.locator(".rag-card:has(.rag-head sup.rag-cite)")  # type: ignore[attr-defined]


def test_ask_cite_open_and_no_script_runs(served: str, browser: object, tmp_path: Path) -> None:
    page = browser.new_page()  # type: ignore[attr-defined]
    page.goto(served)
    page.get_by_test_id("stChatInput").wait_for(timeout=60_000)
    assert page.title() == TITLE

    started = time.monotonic()
    ask(page, QUESTION)
    found = page.locator(".rag-found")  # the sources, listed before the answer is written
    found.wait_for(timeout=180_000)
    sources_after = time.monotonic() - started
    assert TALKS_SOURCE in found.inner_text()
    finished(page).wait_for(timeout=ANSWER_TIMEOUT_MS)
    answered_after = time.monotonic() - started
    page.wait_for_timeout(1_000)

    cards = final_cards(page)
    names = [cards.nth(i).locator("code").first.inner_text() for i in range(cards.count())]
    assert TALKS_SOURCE in names, names
    answer = page.get_by_test_id("stChatMessage").nth(1)
    assert answer.locator("sup.rag-cite").count() >= 1  # [n] drawn as a badge
    assert not page.get_by_test_id("stException").count()
    page.screenshot(path=str(tmp_path / "answer.png"))
    if SCREENSHOT:
        shutil.copy(tmp_path / "answer.png", ROOT / "docs" / "screenshot.png")
    print(f"sources after {sources_after:.1f} s, answer after {answered_after:.1f} s")

    # Open the cited article: the whole text, scrolled to the passage.
    link = answer.get_by_role("link", name="Open the article at this passage").nth(
        names.index(TALKS_SOURCE)
    )
    with browser.expect_page() as opened:  # type: ignore[attr-defined]
        link.click()  # a new tab: the chat stays as it was
    article = opened.value
    cited = article.locator("#rag-cited")
    cited.wait_for(timeout=60_000)
    article.wait_for_function(
        "() => { const r = document.getElementById('rag-cited').getBoundingClientRect();"
        " return r.top >= 0 && r.bottom <= window.innerHeight; }",
        timeout=10_000,
    )  # scrolled into view
    assert "Istanbul" in article.locator(".rag-article").inner_text()
    assert cited.locator("mark").count() == 1  # the cited sentence inside the passage
    assert article.title() == TITLE
    article.screenshot(path=str(tmp_path / "article.png"))
    assert page.title() == TITLE


@pytest.mark.skipif(SCREENSHOT, reason="the screenshot run serves the seed articles alone")
def test_hostile_article_never_runs(served: str, browser: object, tmp_path: Path) -> None:
    page = browser.new_page()  # type: ignore[attr-defined]
    page.goto(served)
    page.get_by_test_id("stChatInput").wait_for(timeout=60_000)
    ask(page, "When does the Port Zorblat lantern parade open?")
    page.locator(".rag-found", has_text="zorblat.txt").wait_for(timeout=ANSWER_TIMEOUT_MS)
    finished(page).wait_for(timeout=ANSWER_TIMEOUT_MS)
    assert page.locator(".rag-card", has_text="zorblat.txt").count() >= 1
    page.wait_for_timeout(1_500)  # time for an onerror handler to fire, if it could
    assert page.title() == TITLE
    assert page.locator("img[src=x]").count() == 0
    assert page.get_by_text("<script>document.title='HACKED'</script>").count() >= 1

    page.goto(f"{served}/?article=zorblat.txt&start=0&end=60")
    page.locator("#rag-cited").wait_for(timeout=60_000)
    page.wait_for_timeout(1_500)
    assert page.title() == TITLE
    assert page.locator("img[src=x]").count() == 0
    assert "<script>document.title='HACKED'</script>" in page.locator(".rag-article").inner_text()
    page.screenshot(path=str(tmp_path / "hostile-article.png"))


FOLLOW_UP = "Who led the Russian delegation there?"


def sidebar(page: object) -> object:
    return page.get_by_test_id("stSidebar")  # type: ignore[attr-defined]


def test_chat_is_saved_resumed_exported_and_deleted(
    served: str, browser: object, tmp_path: Path
) -> None:
    """Ask two questions, reload: the chat is listed, resumes with working cards, exports
    Markdown whose footnotes quote the cited passages, and is deleted after asking."""
    import re

    page = browser.new_page()  # type: ignore[attr-defined]
    page.goto(served)
    page.get_by_test_id("stChatInput").wait_for(timeout=60_000)
    ask(page, QUESTION)
    finished(page).wait_for(timeout=ANSWER_TIMEOUT_MS)
    ask(page, FOLLOW_UP)
    # The fourth chat message (the follow-up's answer) finished: while a run is under way,
    # Streamlit keeps faded copies of the earlier answer, "Answered in" line included.
    second = page.get_by_test_id("stChatMessage").nth(3)
    second.get_by_text("Answered in").wait_for(timeout=ANSWER_TIMEOUT_MS)
    page.wait_for_function("() => location.search.includes('chat=')", timeout=30_000)
    saved_url = page.url
    chat_id = re.search(r"chat=(\d+)", saved_url).group(1)  # type: ignore[union-attr]
    # Other tests of this module asked the same first question: find this chat by its id.
    entry = sidebar(page).locator(f".st-key-chat-{chat_id}").get_by_role("button").first

    # A new visit: the chat is in the list, titled by the first question; it resumes.
    page.goto(served)
    entry.wait_for(timeout=60_000)
    assert entry.inner_text().strip() == QUESTION
    entry.click()
    page.get_by_text("Answered in").nth(1).wait_for(timeout=60_000)
    messages = page.get_by_test_id("stChatMessage")
    assert messages.count() == 4
    assert QUESTION in messages.nth(0).inner_text()
    assert FOLLOW_UP in messages.nth(2).inner_text()
    cards = final_cards(page)
    assert cards.count() >= 1
    assert messages.nth(1).locator("sup.rag-cite").count() >= 1
    badge = messages.nth(1).locator("a.rag-cite-link").first
    target = badge.get_attribute("href")
    assert target and page.locator(target).count() == 1  # the badge's card is there
    assert page.get_by_role("link", name="Open the article at this passage").count() >= 1
    quotes = [
        " ".join(cards.nth(i).locator("mark").first.inner_text().split())
        for i in range(cards.count())
        if cards.nth(i).locator("mark").count()
    ]
    assert quotes

    # A reload of the chat's address reopens it as it was.
    page.goto(saved_url)
    page.get_by_text("Answered in").nth(1).wait_for(timeout=60_000)
    assert page.get_by_test_id("stChatMessage").count() == 4

    # Export: a Markdown file whose footnotes quote the cited passages exactly.
    sidebar(page).get_by_text("This chat", exact=True).click()
    with page.expect_download() as download:
        sidebar(page).get_by_role("button", name="Download as Markdown").click()
    exported = tmp_path / "chat.md"
    download.value.save_as(exported)
    md = exported.read_text(encoding="utf-8")
    assert md.startswith(f"# {QUESTION}")
    footnotes = [line for line in md.splitlines() if re.match(r"\[\^\d+-\d+\]: ", line)]
    assert footnotes
    for quote in quotes:  # each card's marked sentence is a footnote's quote
        assert any(quote.strip("… ") in line for line in footnotes), quote

    # Delete asks first, then removes.
    sidebar(page).get_by_role("button", name="Delete this chat").click()
    sidebar(page).get_by_text("and its").wait_for(timeout=30_000)
    assert entry.count() == 1  # not yet
    sidebar(page).get_by_role("button", name="Delete", exact=True).click()
    entry.wait_for(state="detached", timeout=30_000)
    assert page.get_by_test_id("stChatMessage").count() == 0
    assert not page.get_by_test_id("stException").count()
    page.screenshot(path=str(tmp_path / "chats.png"))
