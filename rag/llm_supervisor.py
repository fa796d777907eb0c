"""The embedded LLM server's lifecycle: started on first use, shared, reused, stopped.

The first process that needs the embedded LLM starts llama-cpp-python's
OpenAI-compatible server on loopback as a detached process and records it in
``HOME/llm-server.json`` under a file lock. Later processes (CLI runs, the UI,
tests) reuse it until ``stop`` is called or the model or its options change; a
record whose process died or stopped answering is replaced by a fresh start.
The server stops itself after ``RAG_LLM_IDLE_SECONDS`` without a request, and when
its state file is gone (``rag.llm_server``); the next question starts it again.
Nothing here prints: progress and what ``serve`` is doing go to callbacks the caller
supplies (``rag llm serve`` prints them).  The client is ``rag.llm``; the pid and
port checks are ``rag.llm_process``; how the server is tuned (threads, batch, context,
as measured) is ``rag.llm_options``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from filelock import FileLock, Timeout

from rag.config import Settings
from rag.errors import RagError
from rag.llm_options import server_config, server_options
from rag.llm_process import (
    LOOPBACK,
    alive,
    free_port,
    is_server_process,
    last_line,
    loopback_get,
    port_is_free,
    terminate,
    track,
)
from rag.llm_server import LIFETIME_PATH
from rag.modelfiles import EmbeddedModel, ModelFilesError, Progress, embedded_model, gguf_path

State = Literal["not started", "starting", "ready", "unreachable"]

_HUNG_AFTER = 30.0


class LLMUnavailable(RagError, RuntimeError):
    """The LLM cannot answer; ``str(error)`` is one user-facing sentence naming the fix."""


@dataclass(frozen=True)
class LLMStatus:
    """What the UI shows about the LLM."""

    state: State
    description: str
    """The embedded model's name, or the configured endpoint."""
    url: str | None = None
    pid: int | None = None
    """The embedded server's process."""
    stops_at: datetime | None = None
    """When the embedded server stops itself unless asked something before; None = never
    (``RAG_LLM_IDLE_SECONDS=0``, ``rag llm serve``, or a server started by an older rag)."""


@dataclass(frozen=True)
class EmbeddedServer:
    """One embedded server process, as recorded in ``HOME/llm-server.json``."""

    pid: int
    port: int
    model_id: str
    model_path: str
    model_sha256: str
    options: dict[str, int | bool]
    state: Literal["starting", "ready"] = "starting"

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}/v1"


# --- paths and options --------------------------------------------------------


def state_path(settings: Settings) -> Path:
    return settings.home / "llm-server.json"


def log_path(settings: Settings) -> Path:
    return settings.home / "llm-server.log"


# --- the embedded server --------------------------------------------------------


def ensure_server(settings: Settings, progress: Progress | None = None) -> EmbeddedServer:
    """The embedded server for ``settings``, reused if one is running, else started and awaited."""
    model, path, options = _setup(settings, progress)
    with _server_lock(settings):
        current = read_state(settings)
        if current is not None:
            if _same_setup(current, model, options) and _wait_healthy(current, settings):
                # Counts as use: the request this is for is still to come, and an idle
                # server must not stop in between (it looks at this file's time).
                with suppress(OSError):
                    os.utime(state_path(settings))
                return read_state(settings) or current
            terminate(current.pid)
            state_path(settings).unlink(missing_ok=True)
        _, server = _launch(
            settings, model, path, options, log=log_path(settings), idle=settings.llm_idle_seconds
        )
        try:
            _wait_ready(server, settings, process_log=log_path(settings))
        except BaseException:
            terminate(server.pid)
            state_path(settings).unlink(missing_ok=True)
            raise
        server = replace(server, state="ready")
        _write_state(settings, server)
        return server


def stop(settings: Settings) -> bool:
    """Stop the embedded server; False when none was running."""
    with _server_lock(settings):
        current = read_state(settings)
        if current is None:
            return False
        running = is_server_process(current.pid)
        terminate(current.pid)
        state_path(settings).unlink(missing_ok=True)
        return running


def embedded_status(settings: Settings) -> LLMStatus:
    """Whether the embedded server runs and answers, cheaply enough for a UI to poll."""
    try:
        model = embedded_model(settings)
    except ModelFilesError as e:
        return LLMStatus("unreachable", str(e))
    description = f"embedded {model.model_id} (llama.cpp)"
    current = read_state(settings)
    if (
        current is None
        or not _same_setup(current, model, server_options(settings))
        or not is_server_process(current.pid)
    ):
        return LLMStatus("not started", description)
    lifetime = _lifetime(current)
    if lifetime is not None or _answers(current):  # it answers only once the model is loaded
        stops_at = (lifetime or {}).get("stops_at")
        when = datetime.fromtimestamp(stops_at).astimezone() if stops_at else None
        return LLMStatus("ready", description, current.url, current.pid, when)
    if current.state == "starting":
        return LLMStatus("starting", description, current.url, current.pid)
    return LLMStatus("unreachable", description, current.url, current.pid)


def serve(
    settings: Settings,
    progress: Progress | None = None,
    on_loading: Callable[[EmbeddedModel, Path], None] | None = None,
    on_ready: Callable[[EmbeddedServer], None] | None = None,
) -> None:
    """Run the embedded server in the foreground until Ctrl+C (``rag llm serve``).

    It is recorded like a background one, so other rag processes use it meanwhile.
    It never stops for being idle: whoever runs it in the foreground decides when.
    ``progress`` follows the model file being prepared; ``on_loading`` is called before
    the server starts loading the model, ``on_ready`` once it answers.
    """
    model, path, options = _setup(settings, progress)
    with _server_lock(settings):
        current = read_state(settings)
        if current is not None:
            terminate(current.pid)
            state_path(settings).unlink(missing_ok=True)
        if on_loading is not None:
            on_loading(model, path)
        process, server = _launch(settings, model, path, options, log=None, idle=0)
        try:
            _wait_ready(server, settings, process_log=None)
        except BaseException:
            terminate(server.pid)
            state_path(settings).unlink(missing_ok=True)
            raise
        _write_state(settings, replace(server, state="ready"))
    if on_ready is not None:
        on_ready(server)
    try:
        code = process.wait()
    except KeyboardInterrupt:
        code = 0
    finally:
        terminate(server.pid)
        with _server_lock(settings):
            recorded = read_state(settings)
            if recorded is not None and recorded.pid == server.pid:
                state_path(settings).unlink(missing_ok=True)
    if code not in (0, -signal.SIGINT, -signal.SIGTERM):
        raise LLMUnavailable(
            f"The embedded LLM server exited with code {code}; see its output above."
        )


def read_state(settings: Settings) -> EmbeddedServer | None:
    try:
        return EmbeddedServer(**json.loads(state_path(settings).read_text()))
    except (OSError, ValueError, TypeError):
        return None


def _write_state(settings: Settings, server: EmbeddedServer) -> None:
    path = state_path(settings)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(server), indent=2))
    os.replace(tmp, path)  # readers (the UI's status) never take the lock


@contextmanager
def _server_lock(settings: Settings) -> Iterator[None]:
    """Held while the recorded server is checked, started or stopped."""
    settings.home.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(settings.home / "llm-server.lock"), timeout=settings.llm_start_timeout + 60)
    try:
        lock.acquire()
    except Timeout:
        raise LLMUnavailable(
            "Another process has been starting the embedded LLM for too long; "
            "run `rag llm stop` and try again."
        ) from None
    try:
        yield
    finally:
        lock.release()


def require_model(settings: Settings) -> EmbeddedModel:
    """The configured embedded model; ``LLMUnavailable`` when its files cannot be had."""
    try:
        return embedded_model(settings)
    except ModelFilesError as e:
        raise LLMUnavailable(str(e)) from e


def _setup(
    settings: Settings, progress: Progress | None
) -> tuple[EmbeddedModel, Path, dict[str, int | bool]]:
    """The model, its file (assembled and checked first if need be) and the server options."""
    return require_model(settings), _gguf_path(settings, progress), server_options(settings)


def _gguf_path(settings: Settings, progress: Progress | None) -> Path:
    try:
        return gguf_path(settings, progress)
    except ModelFilesError as e:
        raise LLMUnavailable(str(e)) from e


def _same_setup(
    server: EmbeddedServer, model: EmbeddedModel, options: dict[str, int | bool]
) -> bool:
    return server.model_sha256 == model.sha256 and server.options == options


def _launch(
    settings: Settings,
    model: EmbeddedModel,
    path: Path,
    options: dict[str, int | bool],
    log: Path | None,
    idle: float,
) -> tuple[subprocess.Popen[bytes], EmbeddedServer]:
    """Start the server and record it as starting; ``log=None`` runs it in the foreground,
    ``idle`` is the seconds without a request after which it stops itself (0 = never)."""
    port = settings.llm_port or free_port()
    if settings.llm_port and not port_is_free(port):
        raise LLMUnavailable(
            f"Port {port} on {LOOPBACK} is already in use; set RAG_LLM_PORT to a free port, "
            "or to 0 to pick one automatically."
        )
    config = server_config(path, model.model_id, port, options)
    config_path = settings.home / "llm-server-config.json"
    config_path.write_text(json.dumps(config, indent=2))
    env = {k: v for k, v in os.environ.items() if k not in ("HOST", "PORT", "CONFIG_FILE")}
    command = [
        sys.executable,
        "-m",
        "rag.llm_server",
        "--config_file",
        str(config_path),
        "--state",
        str(state_path(settings).resolve()),
        "--idle",
        str(idle),
    ]
    if log is None:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, env=env)
    else:
        with open(log, "wb") as out:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # outlives this process and its Ctrl+C
            )
    track(process)
    server = EmbeddedServer(
        pid=process.pid,
        port=port,
        model_id=model.model_id,
        model_path=str(path),
        model_sha256=model.sha256,
        options=options,
    )
    _write_state(settings, server)
    return process, server


def _wait_ready(server: EmbeddedServer, settings: Settings, process_log: Path | None) -> None:
    """Poll ``/v1/models`` until the server lists its model; it answers only once loaded."""
    see = f"see {process_log}" if process_log else "see the output above"
    deadline = time.monotonic() + settings.llm_start_timeout
    while time.monotonic() < deadline:
        if not alive(server.pid):
            raise LLMUnavailable(
                f"The embedded LLM server stopped while loading {server.model_id}"
                f"{last_line(process_log)}; "
                f"{see}, and lower RAG_LLM_CONTEXT if memory is short."
            )
        body = loopback_get(f"{server.url}/models")
        if body is not None and server.model_id in body.decode("utf-8", "replace"):
            return
        time.sleep(0.25)
    raise LLMUnavailable(
        f"The embedded LLM server did not become ready within {settings.llm_start_timeout:.0f} s; "
        f"{see}, or raise RAG_LLM_START_TIMEOUT."
    )


def _wait_healthy(server: EmbeddedServer, settings: Settings) -> bool:
    """Whether a recorded server can be reused, waiting for it if it is still loading."""
    if not is_server_process(server.pid):
        return False
    if server.state == "starting":
        # Its starter died before seeing it ready (Ctrl+C); it may still be loading.
        try:
            _wait_ready(server, settings, process_log=None)
        except LLMUnavailable:
            return False
        _write_state(settings, replace(server, state="ready"))
        return True
    # On a busy machine an answer can be late; only a long silence means it hangs,
    # and restarting it would cut off whoever it is answering.
    deadline = time.monotonic() + _HUNG_AFTER
    while alive(server.pid):
        if _answers(server):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)
    return False


def _answers(server: EmbeddedServer) -> bool:
    # Not /v1/models: that waits for the model lock, held for a whole generation.
    return loopback_get(f"http://{LOOPBACK}:{server.port}/openapi.json") is not None


def _lifetime(server: EmbeddedServer) -> dict[str, Any] | None:
    """What the server says about when it stops; None from a server started by an older
    rag (plain ``llama_cpp.server``, no watchdog) or one that does not answer."""
    body = loopback_get(f"http://{LOOPBACK}:{server.port}{LIFETIME_PATH}")
    try:
        lifetime = json.loads(body) if body is not None else None
    except ValueError:
        return None
    if not isinstance(lifetime, dict) or lifetime.get("pid") != server.pid:
        return None  # another server took the port since
    return lifetime
