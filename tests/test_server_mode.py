"""A real `chroma run` server, and several processes sharing one store.

Every process here is real: a Chroma server started from the installed package,
`rag index` and `rag status` as subprocesses, and long-lived readers holding a
Retriever in processes of their own, exactly as two chat pages and an indexer
would share a store.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import run_process, start_process

from rag import indexer
from rag.config import Settings
from rag.embeddings import Embedder
from rag.retrieval import Retriever
from rag.store import Store, StoreError

CHROMA = Path(sys.executable).with_name("chroma")
QUESTION = "What reasons did Kremlin officials give for rejecting Trump's peace plan?"
QUESTION_SOURCE = "000_577bfc99f1868438.txt"

NEW_ARTICLE = """Quillon Bay approves a tidal desalination plant
Published: 2024-03-14

The harbour council of Quillon Bay voted on Tuesday to build a tidal-powered
desalination plant on the northern breakwater, ending a four-year dispute over the
town's drinking water.

The plant, designed by the engineering cooperative Marrowind, will turn seawater into
eleven million litres of fresh water a day using turbines driven by the tide.
Fishermen had opposed an earlier design that would have closed the oyster beds.
"""
NEW_SOURCE = "quillon-bay.txt"
NEW_QUESTION = "Who designed the tidal desalination plant at Quillon Bay?"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ChromaServer:
    """`chroma run` on loopback, on a free port, persisting to ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = path.with_suffix(".log")
        self.address = ["--host", "127.0.0.1", "--port", str(self.port)]
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> None:
        with self.log.open("ab") as log:
            self.process = start_process(
                [str(CHROMA), "run", "--path", str(self.path), *self.address],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"chroma run exited: {self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/v2/heartbeat", timeout=1):
                    return
            except OSError:
                time.sleep(0.2)
        pytest.fail(f"chroma run did not answer within {timeout}s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[ChromaServer]:
    server = ChromaServer(tmp_path / "chroma-server")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def rag_env(settings: Settings, url: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(
        RAG_HOME=str(settings.home),
        RAG_ARTICLES_DIR=str(settings.articles_dir),
        HF_HUB_OFFLINE="1",
        PYTHONWARNINGS="ignore",
    )
    if url:
        env["RAG_CHROMA_URL"] = url
    return env


def rag_cli(
    env: dict[str, str], *args: str, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return run_process(
        [sys.executable, "-m", "rag.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_one_sentence(stderr: str) -> None:
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr


# --- a real server ---------------------------------------------------------------------


def test_server_mode_indexes_searches_and_keeps_data_across_a_restart(
    chroma_server: ChromaServer,
    settings: Settings,
    embedder: Embedder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RAG_CHROMA_URL", chroma_server.url)
    s = Settings(home=settings.home, articles_dir=settings.articles_dir)
    assert s.chroma_url == chroma_server.url

    report = indexer.run(s, embedder=embedder)
    assert report.added == 2 and report.chunks > 0
    assert not s.store_dir.exists(), "server mode must not write an embedded store"
    assert indexer.status(s).store == chroma_server.url

    retriever = Retriever(s, embedder=embedder)
    assert retriever.search(QUESTION, k=3)[0].source == QUESTION_SOURCE

    chroma_server.stop()
    with pytest.raises(StoreError) as down:
        retriever.search(QUESTION, k=3)
    assert chroma_server.url in str(down.value)
    assert "\n" not in str(down.value)

    chroma_server.start()  # same folder, same port
    # The long-lived retriever reconnects by itself, a new one finds the same data,
    # and the manifest survived too: nothing needs re-indexing.
    assert retriever.search(QUESTION, k=3)[0].source == QUESTION_SOURCE
    assert Store(s).count() == report.chunks
    again = indexer.run(s, embedder=embedder)
    assert (again.added, again.updated, again.unchanged, again.chunks) == (0, 0, 2, report.chunks)


def test_a_server_that_is_down_is_one_sentence(settings: Settings) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    with pytest.raises(StoreError) as exc:
        Store(settings.model_copy(update={"chroma_url": url}))
    assert time.monotonic() - started < 10
    message = str(exc.value)
    assert url in message and "chroma run" in message and "\n" not in message

    with pytest.raises(StoreError, match="not an http"):
        Store(settings.model_copy(update={"chroma_url": "localhost:8000"}))


def test_cli_with_the_server_down_exits_with_one_line(settings: Settings) -> None:
    env = rag_env(settings, url=f"http://127.0.0.1:{free_port()}")
    for args in (["status"], ["search", "peace plan"], ["index"]):
        done = rag_cli(env, *args, timeout=120)
        assert done.returncode != 0, args
        assert_one_sentence(done.stderr)
        assert "unreachable" in done.stderr and "RAG_CHROMA_URL" in done.stderr, done.stderr


# --- several processes sharing one store -------------------------------------------------

READER = """
import json, sys
from rag import lexical
from rag.config import Settings
from rag.retrieval import Retriever

settings = Settings()
retriever = Retriever(settings)
print(json.dumps({"ready": True}), flush=True)
for line in sys.stdin:
    question = json.loads(line)["question"]
    store = retriever.store
    passages = retriever.search(question, k=3)
    dense = store.query(retriever.embedder.embed_query(question), 3)
    keyword = lexical.refresh(store, settings).search(question, 3)
    source_of = {c.chunk_id: c.source for c in store.get_chunks([cid for cid, _ in keyword])}
    print(json.dumps({
        "generation": store.generation,
        "count": store.count(),
        "passages": [p.source for p in passages],
        "dense": [c.source for c, _ in dense],
        "bm25": [source_of[cid] for cid, _ in keyword],
    }), flush=True)
"""


class Reader:
    """A long-lived process holding one Retriever, answering questions on stdin."""

    def __init__(self, env: dict[str, str]) -> None:
        self.process = start_process(
            [sys.executable, "-c", READER],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert json.loads(self._line())["ready"]

    def _line(self) -> str:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line, "the reader process died"
        return line

    def ask(self, question: str) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"question": question}) + "\n")
        self.process.stdin.flush()
        return dict(json.loads(self._line()))

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def chroma_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str | None]:
    """None for the embedded store, or the URL of a fresh real server."""
    if request.param == "embedded":
        yield None
        return
    server = ChromaServer(tmp_path / "chroma-server")
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.mark.parametrize("chroma_url", ["embedded", "server"], indirect=True)
def test_long_lived_readers_see_what_another_process_indexed(
    chroma_url: str | None, settings: Settings, embedder: Embedder
) -> None:
    s = settings.model_copy(update={"chroma_url": chroma_url})
    indexer.run(s, embedder=embedder)
    # Two long-lived readers: this test process and a subprocess, both warmed up.
    here = Retriever(s, embedder=embedder)
    assert here.search(QUESTION, k=3)[0].source == QUESTION_SOURCE
    env = rag_env(s, chroma_url)
    reader = Reader(env)
    try:
        before = reader.ask(NEW_QUESTION)
        assert NEW_SOURCE not in before["passages"] + before["dense"] + before["bm25"]

        (s.articles_dir / NEW_SOURCE).write_text(NEW_ARTICLE, encoding="utf-8")
        done = rag_cli(env, "index")
        assert done.returncode == 0, done.stderr

        after = reader.ask(NEW_QUESTION)
        assert after["generation"] != before["generation"]
        assert after["count"] > before["count"]
        assert after["passages"][0] == NEW_SOURCE
        # Seen by each index: present at all is what staleness breaks (the approximate
        # vector search's exact order is not this test's business; CI once saw it vary).
        assert NEW_SOURCE in after["dense"], f"the vector index is stale: {after}"
        assert after["bm25"][0] == NEW_SOURCE, "the keyword index did not follow"
        mine = here.search(NEW_QUESTION, k=3)
        assert mine[0].source == NEW_SOURCE
        vector = embedder.embed_query(NEW_QUESTION)
        assert here.store.query(vector, 1)[0][0].source == NEW_SOURCE

        (s.articles_dir / NEW_SOURCE).unlink()
        done = rag_cli(env, "index")
        assert done.returncode == 0, done.stderr

        gone = reader.ask(NEW_QUESTION)
        assert NEW_SOURCE not in gone["passages"] + gone["dense"] + gone["bm25"]
        assert gone["count"] == before["count"]
        assert NEW_SOURCE not in {p.source for p in here.search(NEW_QUESTION, k=3)}

        # A rebuild elsewhere re-creates the collections under the readers' feet.
        done = rag_cli(env, "index", "--rebuild")
        assert done.returncode == 0, done.stderr
        rebuilt = reader.ask(QUESTION)
        assert QUESTION_SOURCE in rebuilt["passages"] and QUESTION_SOURCE in rebuilt["dense"]
        assert rebuilt["count"] == before["count"]
        assert QUESTION_SOURCE in {p.source for p in here.search(QUESTION, k=3)}
    finally:
        reader.close()


@pytest.mark.filterwarnings("ignore:legacy embedding function config")
def test_a_long_lived_process_indexing_again_keeps_another_process_vectors(
    settings: Settings, embedder: Embedder
) -> None:
    """Embedded store: writing through a stale in-memory index would lose vectors.

    Chroma saves an in-memory vector index to disk every ``sync_threshold`` writes
    (1000 by default); a low threshold makes a few articles cross it, as a day's
    worth of them would.
    """
    indexer.run(settings, embedder=embedder)
    Store(settings).chunks.modify(configuration={"hnsw": {"sync_threshold": 2, "batch_size": 2}})
    here = Retriever(settings, embedder=embedder)
    assert here.search(QUESTION, k=3)  # this process has now loaded the vector index

    env = rag_env(settings)
    (settings.articles_dir / NEW_SOURCE).write_text(NEW_ARTICLE, encoding="utf-8")
    done = rag_cli(env, "index")
    assert done.returncode == 0, done.stderr

    # This process indexes again, through the engine it opened before.
    other = "harbour-note.txt"
    (settings.articles_dir / other).write_text(
        "Harbour note\n\nThe ferry timetable for the winter season starts on 2 December, "
        "with crossings every ninety minutes between the two piers.\n",
        encoding="utf-8",
    )
    report = indexer.run(settings, embedder=embedder)
    assert report.added_files == [other]

    for question, source in ((NEW_QUESTION, NEW_SOURCE), ("winter ferry timetable", other)):
        nearest = here.store.query(embedder.embed_query(question), 1)
        assert nearest[0][0].source == source, question

    # A fresh process finds every stored chunk in the vector index, not just the
    # rows: nothing was lost when this process wrote.
    check = run_process(
        [
            sys.executable,
            "-c",
            "from rag.config import Settings; from rag.store import Store\n"
            "s = Store(Settings()); n = s.count(); d = s.meta()['dimension']\n"
            "print(n, len(s.query([1.0] * d, n)))",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    rows, found = map(int, check.stdout.split())
    assert rows == found == Store(settings).count()
