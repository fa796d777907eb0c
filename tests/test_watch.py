"""`rag watch`: files dropped into a watched folder become searchable, and go away.

A real watchdog observer on a temp folder, the real indexer, store and model; the
watcher runs in a thread here (as the chat page runs it) and as `rag watch` in a
subprocess stopped with Ctrl-C.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from conftest import start_process

from rag.config import Settings
from rag.embeddings import Embedder
from rag.index_report import IndexReport
from rag.retrieval import Retriever
from rag.watch import Watcher

DEBOUNCE = 1.0


class Running:
    """A Watcher running in a background thread, with every report it produced."""

    def __init__(self, settings: Settings, embedder: Embedder) -> None:
        self.reports: list[IndexReport] = []
        self.errors: list[str] = []
        self.watcher = Watcher(
            settings,
            debounce=DEBOUNCE,
            embedder=embedder,
            on_run=self.reports.append,
            on_error=self.errors.append,
        )
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.watcher.run, args=(self.stop,), daemon=True)
        self.thread.start()

    def wait_for(
        self, condition: Callable[[IndexReport], bool], since: int = 0, timeout: float = 120
    ) -> IndexReport:
        """The first report from number ``since`` on that meets ``condition``."""
        deadline = time.monotonic() + timeout
        seen = since
        while time.monotonic() < deadline:
            assert self.thread.is_alive(), "the watcher stopped"
            for report in self.reports[seen:]:
                if condition(report):
                    return report
            seen = len(self.reports)
            time.sleep(0.1)
        pytest.fail(f"no matching run within {timeout}s: {self.reports} {self.errors}")

    def idle(self, seconds: float) -> None:
        """Wait until no run has started for ``seconds`` (well past the debounce)."""
        count = -1
        while count != len(self.reports):
            count = len(self.reports)
            time.sleep(seconds)


@pytest.fixture
def running(settings: Settings, embedder: Embedder) -> Iterator[Running]:
    run = Running(settings, embedder)
    try:
        run.wait_for(lambda r: r.added == 2)  # the catch-up run indexed the seeds
        yield run
    finally:
        run.stop.set()
        run.thread.join(timeout=60)
        assert not run.thread.is_alive(), "the watcher did not stop"


def sources(settings: Settings, embedder: Embedder, question: str) -> list[str]:
    return [p.source for p in Retriever(settings, embedder=embedder).search(question, k=3)]


def test_dropped_changed_and_deleted_files_follow_the_folder(
    running: Running, settings: Settings, embedder: Embedder
) -> None:
    article = settings.articles_dir / "desk" / "quillon-bay.md"
    article.parent.mkdir()
    article.write_text(
        "# Quillon Bay approves a tidal desalination plant\n\n"
        "The harbour council of Quillon Bay voted to build a tidal-powered desalination "
        "plant designed by the engineering cooperative Marrowind.\n",
        encoding="utf-8",
    )
    running.wait_for(lambda r: r.added_files == ["desk/quillon-bay.md"])
    question = "Who designed the desalination plant in Quillon Bay?"
    assert sources(settings, embedder, question)[0] == "desk/quillon-bay.md"

    with article.open("a", encoding="utf-8") as f:
        f.write("\nConstruction of the plant is led by the contractor Brennock Ironworks.\n")
    running.wait_for(lambda r: r.updated_files == ["desk/quillon-bay.md"])
    passages = Retriever(settings, embedder=embedder).search("Brennock Ironworks contractor", k=3)
    assert passages[0].source == "desk/quillon-bay.md" and "Brennock" in passages[0].text

    article.unlink()
    running.wait_for(lambda r: r.removed_files == ["desk/quillon-bay.md"])
    assert "desk/quillon-bay.md" not in sources(settings, embedder, question)
    assert not running.errors


def test_a_burst_of_100_files_is_one_run(
    running: Running, settings: Settings, embedder: Embedder
) -> None:
    running.idle(2 * DEBOUNCE)
    runs_before = running.watcher.runs
    reports_before = len(running.reports)
    started = time.monotonic()
    for i in range(100):
        folder = settings.articles_dir / ("batch" if i % 2 else "")
        folder.mkdir(exist_ok=True)
        (folder / f"brief-{i:03d}.txt").write_text(
            f"Brief {i}\n\nThe lighthouse keeper logged vessel number {i} passing the cape "
            f"at dawn, carrying cargo code QX{i:03d}.\n",
            encoding="utf-8",
        )
    assert time.monotonic() - started < DEBOUNCE / 2, "the burst was too slow to be a burst"

    report = running.wait_for(lambda r: True, since=reports_before)
    running.idle(3 * DEBOUNCE)
    assert report.added == 100
    assert running.watcher.runs == runs_before + 1, [r.added for r in running.reports]
    passages = Retriever(settings, embedder=embedder).search("cargo code QX042", k=3)
    assert passages[0].source == "brief-042.txt"
    # Reading the files to index them is not a change: the watcher stays quiet.
    assert running.watcher.runs == runs_before + 1


def test_rag_watch_stops_cleanly_on_ctrl_c(settings: Settings) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(RAG_HOME=str(settings.home), HF_HUB_OFFLINE="1", PYTHONWARNINGS="ignore")
    process = start_process(
        [sys.executable, "-m", "rag.cli", "watch", str(settings.articles_dir), "--debounce", "0.5"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().startswith("Watching ")
        first = process.stdout.readline()
        assert "2 added" in first, first
        (settings.articles_dir / "late.txt").write_text(
            "Late edition\n\nThe night desk filed one more story.\n", encoding="utf-8"
        )
        second = process.stdout.readline()
        assert "1 added" in second, second
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=180)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert "Stopped watching" in out
    assert "Traceback" not in err, err
