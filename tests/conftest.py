"""Shared fixtures: every test gets its own RAG_HOME; heavy models load once."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from website import Site

from rag.config import Settings
from rag.embeddings import Embedder

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "seeds"
# One place for the assembled GGUF weights, shared by all tests and runs.
MODELS_DIR = Path(os.environ.get("RAG_TEST_MODELS_DIR", "/tmp/rag-models"))


def sigint_default() -> None:
    """``preexec_fn`` of every child a test starts: SIGINT back to its default action.

    A suite started with SIGINT ignored (``nohup pytest &`` from a script) passes the
    ignore on through fork and exec, and Python keeps an inherited ignore, so a child
    would never see Ctrl-C and a test stopping it with SIGINT would wait out its timeout.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_process(args: Sequence[str], **kwargs: Any) -> subprocess.Popen[Any]:
    """``subprocess.Popen`` for tests: the child starts with SIGINT's default action."""
    return subprocess.Popen(args, preexec_fn=sigint_default, **kwargs)


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def closed_port_url() -> str:
    """An OpenAI-style URL on loopback where nothing listens."""
    return f"http://127.0.0.1:{closed_port()}/v1"


def run_process(args: Sequence[str], **kwargs: Any) -> subprocess.CompletedProcess[Any]:
    """``subprocess.run`` for tests: the child starts with SIGINT's default action."""
    return subprocess.run(args, preexec_fn=sigint_default, **kwargs)


@pytest.fixture(autouse=True)
def rag_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point RAG_HOME at a temp dir and drop any RAG_* settings from the environment."""
    for key in list(os.environ):
        if key.startswith("RAG_") or key == "OPENAI_API_KEY":
            monkeypatch.delenv(key, raising=False)
    home = tmp_path / "rag-home"
    monkeypatch.setenv("RAG_HOME", str(home))
    monkeypatch.setenv("RAG_MODELS_DIR", str(MODELS_DIR))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)  # a stray .env in the repo must not leak into tests
    return home


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real embedding model, loaded once per test session."""
    return Embedder(Settings().embedding_model)


@pytest.fixture
def articles(tmp_path: Path) -> Path:
    """A fresh articles folder holding copies of the seed articles."""
    folder = tmp_path / "articles"
    folder.mkdir()
    for f in SEEDS.glob("*.txt"):
        shutil.copy(f, folder / f.name)
    return folder


@pytest.fixture
def settings(rag_env: Path, articles: Path) -> Settings:
    return Settings(home=rag_env, articles_dir=articles)


@pytest.fixture
def indexed(settings: Settings, embedder: Embedder) -> Iterator[Settings]:
    """Settings whose store already holds the seed articles."""
    from rag import indexer

    indexer.run(settings, embedder=embedder)
    yield settings


@pytest.fixture
def site() -> Iterator[Site]:
    """A real HTTP server on 127.0.0.1 serving the routes a test adds (tests/website.py)."""
    server = Site().start()
    yield server
    server.stop()


@pytest.fixture
def web(settings: Settings) -> Settings:
    """The test's settings with loopback fetching allowed (the site is local), 3 s a fetch."""
    return settings.model_copy(update={"fetch_allow_private": True, "fetch_timeout": 3.0})


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file in the folder, hidden ones included: a failure must change none."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*")}


@pytest.fixture
def unprivileged() -> Callable[[list[str]], list[str]]:
    """Wrap a command so file permissions apply to it, even when the tests run as root.

    Root reads a chmod 000 file and writes a read-only folder regardless; ``setpriv``
    drops the capabilities that allow that (the uid stays 0, so the interpreter
    under /root stays reachable).
    """
    if os.geteuid() != 0:
        return lambda cmd: cmd
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: file permissions cannot be enforced")
    caps = "-dac_override,-dac_read_search"
    return lambda cmd: [setpriv, f"--inh-caps={caps}", f"--bounding-set={caps}", *cmd]


def _embedded_llm(root: Path, name: str) -> Iterator[tuple[str, str]]:
    """Start a real llama.cpp server for ``name`` on loopback; yield (base URL, model id)."""
    from rag import llm_supervisor

    s = Settings(home=root / "home", embedded_llm=name, models_dir=MODELS_DIR, llm_base_url=None)
    server = llm_supervisor.ensure_server(s)
    try:
        yield server.url, server.model_id
    finally:
        llm_supervisor.stop(s)


@pytest.fixture(scope="session")
def small_llm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(base URL, model id) of one SmolLM2-135M server shared by the session (plumbing)."""
    yield from _embedded_llm(tmp_path_factory.mktemp("small-llm"), "smollm2-135m")


@pytest.fixture(scope="session")
def default_llm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(base URL, model id) of one server with the default Qwen2.5-Coder-1.5B (behaviour)."""
    yield from _embedded_llm(tmp_path_factory.mktemp("default-llm"), "qwen2.5-coder-1.5b")
