"""Saved chats: real SQLite files, real processes, answers built from real article text.

Migrations, two processes writing at once, a process SIGKILLed inside a turn's
transaction, a damaged or too-new file, the Markdown export's footnotes, and a card
that notices its article changed.  The test at the end asks the real LLM (slow).
"""

from __future__ import annotations

import html
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import REPO, run_process, start_process
from typer.testing import CliRunner

from rag import chat_export, chat_store, chats
from rag.answering import Answer
from rag.chat_store import ChatsError, ChatStore
from rag.chunking import chunk
from rag.citations import Citation, Sentence
from rag.cli import app
from rag.config import Settings
from rag.documents import FileEntry, load
from rag.retrieval import Passage

TALKS = "004_3c5e144f33afb4e5.txt"  # a seed article about the Istanbul talks


def passages_of(settings: Settings, source: str, count: int = 3) -> list[Passage]:
    """The first chunks of a real article as passages, with their exact offsets."""
    doc = load(FileEntry(settings.articles_dir / source, source), settings.max_file_bytes)
    return [
        Passage(
            source=c.source,
            chunk_id=c.chunk_id,
            start=c.start,
            end=c.end,
            text=c.text,
            title=doc.title,
            published=doc.published,
            score=0.5,
        )
        for c in chunk(doc, settings.chunk_chars, settings.chunk_overlap_sentences)[:count]
    ]


def make_answer(settings: Settings, question: str, source: str = TALKS) -> Answer:
    """An answer citing the first sentence of the first two passages of ``source``."""
    passages = passages_of(settings, source)
    citations = []
    sentences = []
    for n, p in enumerate(passages[:2], 1):
        end = p.text.find(". ") + 1 or len(p.text)
        citations.append(Citation.of(n, p, supported=True, score=0.9, quote=(0, end)))
        sentences.append(Sentence(text=f"Claim {n}.", citations=[n], supported=True))
    return Answer(
        question=question,
        query=question,
        answer="Claim 1 [1]. Claim 2 [2].",
        refused=False,
        fallback=None,
        citations=citations,
        passages=passages,
        sentences=sentences,
        timings={"retrieval": 0.25, "total": 1.5},
    )


def quote_of(c: Citation) -> str:
    return c.text[c.quote_start - c.start : c.quote_end - c.start]


@pytest.fixture
def store(settings: Settings) -> ChatStore:
    return ChatStore.from_settings(settings)


def one_sentence(message: str) -> None:
    assert "\n" not in message and message.endswith(".")
    assert "Traceback" not in message


# --- storage ------------------------------------------------------------------------------


def test_turns_round_trip_and_list_newest_first(settings: Settings, store: ChatStore) -> None:
    first = make_answer(settings, "Where were the peace talks held?")
    chat_id = chats.record_turn(settings, store, None, first)
    chats.record_turn(settings, store, chat_id, make_answer(settings, "Who attended them?"))
    other = chats.record_turn(settings, store, None, make_answer(settings, "What did Putin say?"))

    listed = store.summaries()
    assert [c.id for c in listed] == [other, chat_id]  # newest first
    assert listed[1].title == "Where were the peace talks held?"  # the first question
    assert listed[1].turns == 2

    saved = store.get(chat_id)
    assert [t.position for t in saved.turns] == [1, 2]
    assert saved.turns[0].to_answer() == first  # every field comes back as it was
    assert saved.turns[0].sources[TALKS]["hash"]  # the article's content hash
    assert saved.history()[:2] == [
        {"role": "user", "content": "Where were the peace talks held?"},
        {"role": "assistant", "content": first.answer},
    ]

    con = sqlite3.connect(store.path)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert con.execute("PRAGMA user_version").fetchone()[0] == chat_store.SCHEMA_VERSION


def test_reading_creates_nothing(settings: Settings, store: ChatStore) -> None:
    assert store.summaries() == []
    with pytest.raises(ChatsError) as missing:
        store.get(1)
    one_sentence(str(missing.value))
    assert not store.path.exists()


def test_rename_and_delete(settings: Settings, store: ChatStore) -> None:
    chat_id = chats.record_turn(settings, store, None, make_answer(settings, "Where?"))
    store.rename(chat_id, "  Istanbul   talks ")
    assert store.get(chat_id).title == "Istanbul talks"
    store.delete(chat_id)
    assert store.summaries() == []
    with pytest.raises(ChatsError) as missing:
        store.get(chat_id)
    one_sentence(str(missing.value))
    with pytest.raises(ChatsError):  # a page still showing the deleted chat cannot add to it
        store.add_turn(chat_id, make_answer(settings, "Again?"))


def test_an_old_schema_is_migrated_in_order(
    settings: Settings, store: ChatStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    chat_id = chats.record_turn(settings, store, None, make_answer(settings, "Where?"))

    def add_pinned(con: sqlite3.Connection) -> None:
        con.execute("ALTER TABLE chats ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0")

    monkeypatch.setattr(chat_store, "MIGRATIONS", [*chat_store.MIGRATIONS, add_pinned])
    monkeypatch.setattr(chat_store, "SCHEMA_VERSION", 2)
    assert store.get(chat_id).turns[0].question == "Where?"  # the data survives the upgrade
    con = sqlite3.connect(store.path)
    assert con.execute("PRAGMA user_version").fetchone()[0] == 2
    assert "pinned" in [row[1] for row in con.execute("PRAGMA table_info(chats)")]


def test_a_damaged_file_gives_one_sentence_and_is_left_alone(store: ChatStore) -> None:
    store.path.parent.mkdir(parents=True, exist_ok=True)
    garbage = b"this is not a database, just some bytes someone wrote\n" * 200
    store.path.write_bytes(garbage)
    with pytest.raises(ChatsError) as damaged:
        store.summaries()
    one_sentence(str(damaged.value))
    assert "move it aside" in str(damaged.value)
    assert store.path.read_bytes() == garbage  # nothing the user had is touched


def test_a_too_new_file_gives_one_sentence_and_is_left_alone(store: ChatStore) -> None:
    store.path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(store.path)
    con.execute("CREATE TABLE future (x)")
    con.execute("PRAGMA user_version = 99")
    con.commit()
    con.close()
    before = store.path.read_bytes()
    with pytest.raises(ChatsError) as too_new:
        store.summaries()
    one_sentence(str(too_new.value))
    assert "newer version" in str(too_new.value)
    assert store.path.read_bytes() == before


def test_recorder_saves_goes_on_after_a_delete_and_never_stops_answers(
    settings: Settings, store: ChatStore
) -> None:
    recorder = chats.Recorder(settings)
    assert recorder.save(make_answer(settings, "First?")) is None
    first = recorder.chat_id
    store.delete(first)  # from another tab, or `rag chats delete`
    assert recorder.save(make_answer(settings, "Second?")) is None
    assert recorder.chat_id != first
    assert [t.question for t in store.get(recorder.chat_id).turns] == ["Second?"]

    store.path.unlink()
    for suffix in ("-wal", "-shm"):
        Path(f"{store.path}{suffix}").unlink(missing_ok=True)
    store.path.write_bytes(b"\x00garbage" * 512)
    damaged = chats.Recorder(settings)
    problem = damaged.save(make_answer(settings, "Third?"))
    assert problem and "move it aside" in problem and "not being saved" in problem
    assert damaged.save(make_answer(settings, "Fourth?")) is None  # said once


# --- processes ---------------------------------------------------------------------------

WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    sys.path.insert(0, {tests!r})
    from rag.chat_store import ChatStore
    from rag.chats import record_turn
    from rag.config import Settings
    from test_chats import make_answer

    settings = Settings(home=Path({home!r}), articles_dir=Path({articles!r}))
    store = ChatStore.from_settings(settings)
    shared, name, count = int(sys.argv[1]) or None, sys.argv[2], int(sys.argv[3])
    own = None
    for i in range(count):
        record_turn(settings, store, shared, make_answer(settings, f"{{name}} shared {{i}}"))
        own = record_turn(settings, store, own, make_answer(settings, f"{{name}} own {{i}}"))
    """
)


def writer_script(settings: Settings) -> str:
    return WRITER.format(
        tests=str(REPO / "tests"), home=str(settings.home), articles=str(settings.articles_dir)
    )


def test_two_processes_write_at_once(settings: Settings, store: ChatStore) -> None:
    shared = chats.record_turn(settings, store, None, make_answer(settings, "Shared chat"))
    script = writer_script(settings)
    count = 15
    children = [
        start_process([sys.executable, "-c", script, str(shared), name, str(count)], cwd=REPO)
        for name in ("a", "b")
    ]
    for child in children:
        assert child.wait(timeout=300) == 0
    turns = store.get(shared).turns
    assert [t.position for t in turns] == list(range(1, 2 * count + 2))  # no gap, no clash
    questions = {t.question for t in turns}
    assert {f"{n} shared {i}" for n in "ab" for i in range(count)} <= questions
    own = [c for c in store.summaries() if c.id != shared]
    assert sorted(c.turns for c in own) == [count, count]


def test_a_new_file_created_by_processes_and_threads_at_once(
    settings: Settings, store: ChatStore
) -> None:
    """No file yet: two processes (the CLI, another page) and two threads (two tabs of one
    page) create it, migrate it and write at the same moment."""
    import threading

    script = writer_script(settings)
    count = 8
    children = [
        start_process([sys.executable, "-c", script, "0", name, str(count)], cwd=REPO)
        for name in ("a", "b")
    ]
    failures: list[BaseException] = []

    def tab(name: str) -> None:
        try:
            own = None
            for i in range(count):
                answer = make_answer(settings, f"{name} {i}")
                own = chats.record_turn(settings, ChatStore.from_settings(settings), own, answer)
        except BaseException as exc:  # reported below, in the test's thread
            failures.append(exc)

    tabs = [threading.Thread(target=tab, args=(name,)) for name in ("tab1", "tab2")]
    for t in tabs:
        t.start()
    for t in tabs:
        t.join(timeout=300)
    for child in children:
        assert child.wait(timeout=300) == 0
    assert not failures, failures
    listed = store.summaries()
    # Each process: `count` one-turn chats (shared=None) plus one chat of `count` turns.
    assert sum(c.turns for c in listed) == 2 * (2 * count) + 2 * count
    con = sqlite3.connect(store.path)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert con.execute("PRAGMA user_version").fetchone()[0] == chat_store.SCHEMA_VERSION


KILLED = textwrap.dedent(
    """
    import sys, time
    from collections.abc import Mapping
    from pathlib import Path
    sys.path.insert(0, {tests!r})
    from rag.chat_store import ChatStore
    from rag.chats import record_turn
    from rag.config import Settings
    from test_chats import make_answer

    class Stuck(Mapping):
        # Read inside the turn's transaction, after its chat row is written: hang there.
        def __getitem__(self, key): raise KeyError(key)
        def __len__(self): return 1
        def __iter__(self):
            print("inside", flush=True)
            time.sleep(600)
            return iter(())

    settings = Settings(home=Path({home!r}), articles_dir=Path({articles!r}))
    store = ChatStore.from_settings(settings)
    kept = record_turn(settings, store, None, make_answer(settings, "Committed first"))
    print(kept, flush=True)
    store.add_turn(None, make_answer(settings, "Never finished"), sources=Stuck())
    """
)


def test_sigkill_inside_a_turn_leaves_a_clean_database(
    settings: Settings, store: ChatStore
) -> None:
    before = chats.record_turn(settings, store, None, make_answer(settings, "Before"))
    script = KILLED.format(
        tests=str(REPO / "tests"), home=str(settings.home), articles=str(settings.articles_dir)
    )
    child = start_process(
        [sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        kept = int(child.stdout.readline())
        assert child.stdout.readline().strip() == "inside"  # mid-transaction
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL

    con = sqlite3.connect(store.path)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()
    listed = {c.id: c for c in store.summaries()}
    assert set(listed) == {before, kept}  # no chat row without its turn
    assert all(c.turns == 1 for c in listed.values())
    assert store.get(kept).turns[0].question == "Committed first"
    # And writing goes on.
    chats.record_turn(settings, store, kept, make_answer(settings, "After"))
    assert store.get(kept).turns[-1].question == "After"


# --- staleness and export ------------------------------------------------------------------


def test_a_changed_or_vanished_article_is_noticed(settings: Settings, store: ChatStore) -> None:
    answer = make_answer(settings, "Where were the peace talks held?")
    assert chats.staleness(settings, answer) == {}  # the passages are there, as cited

    path = settings.articles_dir / TALKS
    original = path.read_text(encoding="utf-8")
    path.write_text(original + "\nA paragraph added at the end.\n", encoding="utf-8")
    assert chats.staleness(settings, answer) == {}  # an edit after the passages moves nothing

    path.write_text("Editor's note: corrected.\n" + original, encoding="utf-8")
    stale = chats.staleness(settings, answer)
    assert {c.chunk_id for c in answer.citations} <= set(stale)
    assert set(stale.values()) == {"changed"}

    path.unlink()
    assert set(chats.staleness(settings, answer).values()) == {"vanished"}


def test_markdown_export_footnotes_quote_the_checked_passages(
    settings: Settings, store: ChatStore
) -> None:
    first = make_answer(settings, "Where were the peace talks held?")
    second = make_answer(settings, "Who attended them?")
    chat_id = chats.record_turn(settings, store, None, first)
    chats.record_turn(settings, store, chat_id, second)
    doc = load(FileEntry(settings.articles_dir / TALKS, TALKS), settings.max_file_bytes)

    md = chat_export.export_markdown(store.get(chat_id))
    assert md.startswith("# Where were the peace talks held?\n")
    assert "## 1. Where were the peace talks held?" in md
    assert "Claim 1 [^1-1]. Claim 2 [^1-2]." in md
    assert "Claim 1 [^2-1]." in md  # footnote ids unique over the whole chat
    for position in (1, 2):
        for c in first.citations:
            quote = quote_of(c)
            assert quote == doc.text[c.quote_start : c.quote_end]  # the exact text of the file
            line = next(x for x in md.splitlines() if x.startswith(f"[^{position}-{c.n}]: "))
            assert f"“{' '.join(quote.split())}”" in line
            assert f"`{TALKS}`" in line
            if doc.published:
                assert doc.published in line

    # Edited since: the footnote keeps the quote as checked and says the article changed.
    (settings.articles_dir / TALKS).write_text("New first line.\n" + doc.text, encoding="utf-8")
    saved = store.get(chat_id)
    md = chat_export.export_markdown(saved, chats.chat_staleness(settings, saved))
    assert md.count("(the article has changed since this answer)") == 4

    data = json.loads(chat_export.export_json(saved, chats.chat_staleness(settings, saved)))
    assert data["id"] == chat_id and len(data["turns"]) == 2
    turn = data["turns"][0]
    assert turn["answer"]["citations"][0]["text"] == first.citations[0].text
    assert turn["stale"][first.citations[0].chunk_id] == "changed"


def test_outlet_from_front_matter_appears_in_the_footnote(
    settings: Settings, store: ChatStore
) -> None:
    body = "The talks were held in Istanbul on Friday. Both delegations attended.\n"
    (settings.articles_dir / "talks.md").write_text(
        f"---\ntitle: Talks\noutlet: The Daily Example\ndate: 2025-05-16\n---\n{body}",
        encoding="utf-8",
    )
    answer = make_answer(settings, "Where?", source="talks.md")
    chat_id = chats.record_turn(settings, store, None, answer)
    md = chat_export.export_markdown(store.get(chat_id))
    footnote = next(x for x in md.splitlines() if x.startswith("[^1-1]: "))
    assert "The Daily Example" in footnote and "2025-05-16" in footnote


# --- the command line -----------------------------------------------------------------------


def test_cli_list_export_delete(settings: Settings, store: ChatStore, tmp_path: Path) -> None:
    env = {"RAG_ARTICLES_DIR": str(settings.articles_dir)}
    older = chats.record_turn(settings, store, None, make_answer(settings, "Where were talks?"))
    newer = chats.record_turn(settings, store, None, make_answer(settings, "Who is Putin?"))
    runner = CliRunner()

    listed = runner.invoke(app, ["chats", "list", "--json"], env=env)
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.stdout)
    assert [r["id"] for r in rows] == [newer, older]
    assert set(rows[0]) == {"id", "title", "turns", "created", "updated"}

    md = runner.invoke(app, ["chats", "export", str(older), "--format", "md"], env=env)
    assert md.exit_code == 0 and md.stdout.startswith("# Where were talks?")
    out = tmp_path / "chat.json"
    written = runner.invoke(
        app, ["chats", "export", str(older), "--format", "json", "--out", str(out)], env=env
    )
    assert written.exit_code == 0, written.output
    assert json.loads(out.read_text(encoding="utf-8"))["title"] == "Where were talks?"

    bad = runner.invoke(app, ["chats", "export", str(older), "--format", "pdf"], env=env)
    assert bad.exit_code != 0 and "md or json" in bad.output

    deleted = runner.invoke(app, ["chats", "delete", str(older)], env=env)
    assert deleted.exit_code == 0, deleted.output
    gone = runner.invoke(app, ["chats", "export", str(older)], env=env)
    assert gone.exit_code == 1
    assert "rag chats list" in gone.output and "Traceback" not in gone.output


def test_cli_damaged_database_is_one_sentence(settings: Settings, store: ChatStore) -> None:
    store.path.parent.mkdir(parents=True, exist_ok=True)
    store.path.write_bytes(b"\x00garbage" * 512)
    result = run_process(
        [str(REPO / ".venv" / "bin" / "rag"), "chats", "list"],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "move it aside" in lines[0]


def test_cli_resume_shows_the_saved_turns_and_what_changed(
    settings: Settings, store: ChatStore
) -> None:
    chat_id = chats.record_turn(settings, store, None, make_answer(settings, "Where were talks?"))
    chats.record_turn(settings, store, chat_id, make_answer(settings, "Who attended?"))
    path = settings.articles_dir / TALKS
    path.write_text("Correction.\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
    env = {**os.environ, "RAG_ARTICLES_DIR": str(settings.articles_dir)}
    result = run_process(  # an empty line ends the chat before any question is asked
        [str(REPO / ".venv" / "bin" / "rag"), "chat", "--resume", str(chat_id)],
        env=env,
        input="\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert f"Resuming chat {chat_id}: Where were talks?" in result.stdout
    assert "You: Who attended?" in result.stdout
    assert f"[1] {TALKS}  (changed since)" in result.stdout
    assert f"--resume {chat_id}" in result.stderr
    assert len(store.get(chat_id).turns) == 2  # nothing asked, nothing added


# --- the page (Streamlit's AppTest; a saved chat, so no question is asked) ---------------

APP = REPO / "ui" / "app.py"


def page(settings: Settings, monkeypatch: pytest.MonkeyPatch, **params: str) -> object:
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("RAG_ARTICLES_DIR", str(settings.articles_dir))
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.query_params.update(params)
    return at.run()


def cards_of(at: object) -> list[str]:
    """Cited cards: the ones carrying a number badge (related passages have none)."""
    return [
        h.value
        for h in at.html  # type: ignore[attr-defined]
        if 'class="rag-card' in h.value and '<div class="rag-head"><sup' in h.value
    ]


def sidebar_button(at: object, key: str) -> object:
    return next(b for b in at.sidebar.button if b.key == key)  # type: ignore[attr-defined]


def test_page_lists_resumes_renames_and_deletes(
    settings: Settings, store: ChatStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = make_answer(settings, "Where were the peace talks held?")
    chat_id = chats.record_turn(settings, store, None, first)
    chats.record_turn(settings, store, chat_id, make_answer(settings, "Who attended?"))
    other = chats.record_turn(settings, store, None, make_answer(settings, "What did Putin say?"))

    at = page(settings, monkeypatch)
    assert not at.exception, [e.value for e in at.exception]
    listed = [b.label for b in at.sidebar.button if str(b.key).startswith("chat-")]
    assert listed == ["What did Putin say?", "Where were the peace talks held?"]  # newest first

    sidebar_button(at, f"chat-{chat_id}").click().run()
    assert not at.exception
    assert at.session_state.chat_id == chat_id
    assert at.query_params["chat"] in (str(chat_id), [str(chat_id)])  # a reload reopens it
    assert [m["content"] for m in at.session_state.messages][::2] == [
        "Where were the peace talks held?",
        "Who attended?",
    ]
    shown = cards_of(at)
    assert len(shown) == 4  # two cited cards per answer, as when answered
    assert html.escape(quote_of(first.citations[0])) in shown[0]
    assert any("sup" in h.value and "rag-cite" in h.value for h in at.html)  # badges

    assert len(at.sidebar.get("download_button")) == 2  # Markdown and JSON

    # Renamed, it is listed under its new title.
    at.sidebar.text_input[0].set_value("Istanbul talks")
    next(b for b in at.sidebar.button if b.label == "Rename").click().run()
    assert store.get(chat_id).title == "Istanbul talks"

    # Delete asks first, then removes.
    sidebar_button(at, "delete-chat").click().run()
    assert store.get(chat_id)  # not yet
    assert any("Delete" in w.value for w in at.sidebar.warning)
    sidebar_button(at, "delete-yes").click().run()
    assert [c.id for c in store.summaries()] == [other]
    assert at.session_state.messages == [] and at.session_state.chat_id is None


def test_reloaded_page_shows_that_an_article_changed(
    settings: Settings, store: ChatStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    answer = make_answer(settings, "Where were the peace talks held?")
    chat_id = chats.record_turn(settings, store, None, answer)
    path = settings.articles_dir / TALKS
    path.write_text("Correction: see below.\n" + path.read_text(encoding="utf-8"), "utf-8")

    at = page(settings, monkeypatch, chat=str(chat_id))  # a reload: the address names it
    assert not at.exception, [e.value for e in at.exception]
    shown = cards_of(at)
    assert len(shown) == 2 and all("rag-stale" in card for card in shown)
    assert all("changed since" in card for card in shown)
    for c in answer.citations:  # the passage text is not shown as if it were still there
        assert not any(html.escape(c.text[-60:]) in card for card in shown)


def test_page_answers_on_with_a_damaged_chats_file(
    settings: Settings, store: ChatStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.path.parent.mkdir(parents=True, exist_ok=True)
    store.path.write_bytes(b"\x00garbage" * 512)
    at = page(settings, monkeypatch)
    assert not at.exception, [e.value for e in at.exception]
    notes = " ".join(w.value for w in at.sidebar.warning)
    assert "move it aside" in notes and "Answers still work" in notes
    assert at.chat_input  # the question box is there


# --- with the real LLM (slow: not run while another job holds the cores) -------------------


@pytest.mark.slow
def test_resumed_chat_condenses_with_saved_history(
    indexed: Settings, default_llm: tuple[str, str], embedder: object
) -> None:
    from rag.answering import Answerer
    from rag.retrieval import Retriever

    url, model = default_llm
    s = indexed.model_copy(update={"llm_base_url": url, "llm_model": model})
    answerer = Answerer(s, retriever=Retriever(s, embedder=embedder))  # type: ignore[arg-type]
    store = ChatStore.from_settings(s)
    first = answerer.ask("Where were the Russia-Ukraine peace talks held?")
    chat_id = chats.record_turn(s, store, None, first)
    assert chats.staleness(s, store.get(chat_id).turns[0].to_answer()) == {}

    resumed = store.get(chat_id)  # as a new process would, from the file
    follow = answerer.ask("Who led the Russian delegation there?", resumed.history())
    assert "istanbul" in follow.query.lower() or "peace talks" in follow.query.lower()
    chats.record_turn(s, store, chat_id, follow)
    assert [t.question for t in store.get(chat_id).turns][1].startswith("Who led")
