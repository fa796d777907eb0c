"""The LLM: any OpenAI-compatible endpoint, or an embedded llama.cpp server.

With ``RAG_LLM_BASE_URL`` set, requests go there (OpenAI, vLLM, Ollama, a llama.cpp
server ...) using ``RAG_LLM_MODEL`` and ``RAG_LLM_API_KEY``; nothing else changes.

Unset, the first process that needs the LLM starts llama-cpp-python's
OpenAI-compatible server on loopback as a detached process and records it in
``HOME/llm-server.json`` under a file lock. Later processes (CLI runs, the UI,
tests) reuse it until ``stop`` is called or the model or its options change; a
record whose process died or stopped answering is replaced by a fresh start.
The server stops itself after ``RAG_LLM_IDLE_SECONDS`` without a request, and when
its state file is gone (``rag.llm_server``); the next question starts it again.

Defaults for the embedded Qwen2.5-Coder-1.5B Q4_K_M, measured on the target
machine (2 cores, no GPU, llama-cpp-python 0.3.36), tokens per second:

    threads (generation/prompt)   quiet machine       other work on both cores
                                  prompt   generate   prompt   generate
    2 / 2                         86       27         7-12     0.3-0.7
    1 / 1                         45       17         15-18    7-8
    1 / 2  (default)              86*      17*        7        4-5

(* taken from the rows above: the machine was never quiet again to measure the
mix itself; "other work" was a load average of 7-15 from parallel benchmarks.)

- ``n_threads = cores - 1`` (1 here): the 2-thread speed-up on a quiet machine
  turns into a 10-20x slowdown as soon as anything else runs (the UI, indexing,
  even the server's own streaming), because llama.cpp's threads wait for each
  other at every token. ``n_threads_batch = cores``: on a quiet machine it halves
  the wait for a 900-token prompt (10 s instead of 20 s); on a busy one it costs
  2x, not 20x. Override with RAG_LLM_THREADS / RAG_LLM_BATCH_THREADS.
- ``n_batch = 512``: 128, 256 and 512 all gave 86 tok/s on a 900-token prompt.
- ``n_ctx = 4096`` (RAG_LLM_CONTEXT): a question with five 600-character
  passages is ~900 tokens, plus up to 400 for the answer; the KV cache costs
  about 115 MB. A typical answer thus takes ~10 s of prompt plus ~1 s per 17 words.
- The server starts in ~5 s (the GGUF is memory-mapped); joining the 22 parts
  into one file takes ~6 s, once.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, TypeVar

import httpx2
import openai
from filelock import FileLock, Timeout

from rag.config import Settings
from rag.errors import RagError
from rag.llm_server import LIFETIME_PATH
from rag.modelfiles import EmbeddedModel, ModelFilesError, Progress, embedded_model, gguf_path
from rag.structured import FORMATS, Format

State = Literal["not started", "starting", "ready", "unreachable"]
Message = Mapping[str, Any]

LOOPBACK = "127.0.0.1"
NO_KEY = "sk-no-key"
_PROBE_TIMEOUT = 3.0
_STOP_TIMEOUT = 10.0
_HUNG_AFTER = 30.0
_T = TypeVar("_T")

# A child we started stays a zombie until reaped; keeping its Popen lets us poll it.
_children: dict[int, subprocess.Popen[bytes]] = {}


class LLMUnavailable(RagError, RuntimeError):
    """The LLM cannot answer; ``str(error)`` is one user-facing sentence naming the fix."""


class LLMRejected(LLMUnavailable):
    """The server refused the request as malformed (HTTP 400/422, or a 500 naming the
    field it could not take), before any reply."""


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


def cpu_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def server_options(settings: Settings) -> dict[str, int | bool]:
    """The llama.cpp options a running server must match to be reused.

    Generation leaves one core free: llama.cpp's threads wait for each other at
    every step, so when anything else needs a core (the server's own streaming,
    the UI, indexing) a thread per core stalls them all (measured 0.5 tok/s
    instead of 7). The prompt uses every core; see the module docstring.
    """
    cores = cpu_cores()
    return {
        "n_ctx": settings.llm_context,
        "n_batch": settings.llm_batch,
        "n_threads": settings.llm_threads or max(1, cores - 1),
        "n_threads_batch": settings.llm_batch_threads or cores,
        # The server's default keeps logits for every context position (for logprobs,
        # which we never ask for): Qwen's server then holds 1.9 GB of RAM, not 0.8 GB.
        "logits_all": False,
    }


# --- the embedded server --------------------------------------------------------


def ensure_server(settings: Settings, progress: Progress | None = None) -> EmbeddedServer:
    """The embedded server for ``settings``, reused if one is running, else started and awaited."""
    model = _embedded_model(settings)
    path = _gguf_path(settings, progress)
    options = server_options(settings)
    with _server_lock(settings):
        current = read_state(settings)
        if current is not None:
            if _same_setup(current, model, options) and _wait_healthy(current, settings):
                # Counts as use: the request this is for is still to come, and an idle
                # server must not stop in between (it looks at this file's time).
                with suppress(OSError):
                    os.utime(state_path(settings))
                return read_state(settings) or current
            _terminate(current.pid)
            state_path(settings).unlink(missing_ok=True)
        _, server = _launch(
            settings, model, path, options, log=log_path(settings), idle=settings.llm_idle_seconds
        )
        try:
            _wait_ready(server, settings, process_log=log_path(settings))
        except BaseException:
            _terminate(server.pid)
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
        running = _is_server_process(current.pid)
        _terminate(current.pid)
        state_path(settings).unlink(missing_ok=True)
        return running


def status(settings: Settings) -> LLMStatus:
    """Where the LLM is and whether it answers, cheaply enough for a UI to poll."""
    if settings.llm_base_url:
        url = settings.llm_base_url
        description = f"{settings.llm_model} at {url}" if settings.llm_model else url
        probe = LLM(
            settings.llm_model, url, settings.llm_api_key, timeout=_PROBE_TIMEOUT, max_retries=0
        )
        try:
            probe.model_ids()
        except LLMUnavailable:
            return LLMStatus("unreachable", description, url)
        finally:
            probe.close()
        return LLMStatus("ready", description, url)

    try:
        model = embedded_model(settings)
    except ModelFilesError as e:
        return LLMStatus("unreachable", str(e))
    description = f"embedded {model.model_id} (llama.cpp)"
    current = read_state(settings)
    if (
        current is None
        or not _same_setup(current, model, server_options(settings))
        or not _is_server_process(current.pid)
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


def serve(settings: Settings) -> None:
    """Run the embedded server in the foreground until Ctrl+C (``rag llm serve``).

    It is recorded like a background one, so other rag processes use it meanwhile.
    It never stops for being idle: whoever runs it in the foreground decides when.
    """
    model = _embedded_model(settings)
    path = _gguf_path(settings, _print_progress)
    options = server_options(settings)
    with _server_lock(settings):
        current = read_state(settings)
        if current is not None:
            _terminate(current.pid)
            state_path(settings).unlink(missing_ok=True)
        print(f"Loading {model.model_id} from {path} ...", flush=True)
        process, server = _launch(settings, model, path, options, log=None, idle=0)
        try:
            _wait_ready(server, settings, process_log=None)
        except BaseException:
            _terminate(server.pid)
            state_path(settings).unlink(missing_ok=True)
            raise
        _write_state(settings, replace(server, state="ready"))
    print(
        f"Serving {model.model_id} at {server.url} (OpenAI-compatible); "
        "rag commands on this machine use it. Press Ctrl+C to stop.",
        flush=True,
    )
    try:
        code = process.wait()
    except KeyboardInterrupt:
        code = 0
    finally:
        _terminate(server.pid)
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


def _embedded_model(settings: Settings) -> EmbeddedModel:
    try:
        return embedded_model(settings)
    except ModelFilesError as e:
        raise LLMUnavailable(str(e)) from e


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
    port = settings.llm_port or _free_port()
    if settings.llm_port and not _port_is_free(port):
        raise LLMUnavailable(
            f"Port {port} on {LOOPBACK} is already in use; set RAG_LLM_PORT to a free port, "
            "or to 0 to pick one automatically."
        )
    # A config file rather than flags: llama_cpp.server's settings otherwise also
    # read same-named environment variables (API_KEY, MODEL, ...) meant for others.
    config = {
        "host": LOOPBACK,
        "port": port,
        # Queue concurrent requests; by default a new request cuts off a running stream.
        "interrupt_requests": False,
        "models": [
            {
                "model": str(path),
                "model_alias": model.model_id,
                "verbose": True,
                **options,
            }
        ],
    }
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
    _children[process.pid] = process
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
        if not _process_alive(server.pid):
            raise LLMUnavailable(
                f"The embedded LLM server stopped while loading {server.model_id}"
                f"{_last_line(process_log)}; "
                f"{see}, and lower RAG_LLM_CONTEXT if memory is short."
            )
        body = _get(f"{server.url}/models")
        if body is not None and server.model_id in body.decode("utf-8", "replace"):
            return
        time.sleep(0.25)
    raise LLMUnavailable(
        f"The embedded LLM server did not become ready within {settings.llm_start_timeout:.0f} s; "
        f"{see}, or raise RAG_LLM_START_TIMEOUT."
    )


def _wait_healthy(server: EmbeddedServer, settings: Settings) -> bool:
    """Whether a recorded server can be reused, waiting for it if it is still loading."""
    if not _is_server_process(server.pid):
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
    while _process_alive(server.pid):
        if _answers(server):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)
    return False


def _answers(server: EmbeddedServer) -> bool:
    # Not /v1/models: that waits for the model lock, held for a whole generation.
    return _get(f"http://{LOOPBACK}:{server.port}/openapi.json") is not None


def _lifetime(server: EmbeddedServer) -> dict[str, Any] | None:
    """What the server says about when it stops; None from a server started by an older
    rag (plain ``llama_cpp.server``, no watchdog) or one that does not answer."""
    body = _get(f"http://{LOOPBACK}:{server.port}{LIFETIME_PATH}")
    try:
        lifetime = json.loads(body) if body is not None else None
    except ValueError:
        return None
    if not isinstance(lifetime, dict) or lifetime.get("pid") != server.pid:
        return None  # another server took the port since
    return lifetime


def _get(url: str, timeout: float = _PROBE_TIMEOUT) -> bytes | None:
    # Only for loopback URLs: these must never go through a configured proxy.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as response:
            return response.read()
    except (OSError, ValueError):
        return None


def _last_line(log: Path | None) -> str:
    if log is None:
        return ""
    try:
        lines = [
            line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()
        ]
    except OSError:
        return ""
    return f" ({lines[-1][:200]})" if lines else ""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


def _process_alive(pid: int) -> bool:
    child = _children.get(pid)
    if child is not None:
        return child.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie nobody reaped yet is dead for our purposes
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _is_server_process(pid: int) -> bool:
    """Alive and really a llama.cpp server: a recorded pid may have been reused since."""
    if not _process_alive(pid):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        # rag.llm_server runs llama_cpp's server; servers started by an older rag ran it bare.
        return b"rag.llm_server" in cmdline or b"llama_cpp.server" in cmdline
    except FileNotFoundError:
        return not Path("/proc/self").exists()  # no /proc (macOS): trust the pid
    except OSError:
        return False


def _terminate(pid: int) -> None:
    """Stop a server process: politely, then not."""
    child = _children.pop(pid, None)
    if child is None and not _is_server_process(pid):
        return  # gone, or the pid now belongs to something else

    def alive() -> bool:
        return child.poll() is None if child is not None else _process_alive(pid)

    for sig, grace in ((signal.SIGTERM, _STOP_TIMEOUT), (signal.SIGKILL, 2.0)):
        if not alive():
            break
        with suppress(ProcessLookupError):
            os.kill(pid, sig)
        deadline = time.monotonic() + grace
        while alive() and time.monotonic() < deadline:
            time.sleep(0.1)


def _print_progress(done: int, total: int) -> None:
    end = "\n" if done >= total else ""
    print(
        f"\rPreparing the model file: {100 * done // max(total, 1)}%",
        end=end,
        file=sys.stderr,
        flush=True,
    )


# --- the client -------------------------------------------------------------------


class LLM:
    """A chat model behind any OpenAI-compatible API (OpenAI, vLLM, Ollama, llama.cpp server).

    ``model_id=None`` uses the first model the server lists, which suits
    single-model servers; set ``RAG_LLM_MODEL`` for the others.
    """

    def __init__(
        self,
        model_id: str | None,
        api_base: str,
        api_key: str | None = None,
        *,
        timeout: float = 120.0,
        max_retries: int = 2,
        max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> None:
        self.model_id = model_id
        self.api_base = api_base.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout
        self.max_retries = max_retries
        self.defaults: dict[str, Any] = {
            k: v
            for k, v in {"max_tokens": max_tokens, "temperature": temperature}.items()
            if v is not None
        }
        self._client: openai.OpenAI | None = None
        # The JSON-constraint request shapes to try, best first; trimmed to the one the
        # server takes once it has refused the others (rag.structured.FORMATS).
        self.json_formats: tuple[Format, ...] = FORMATS

    @classmethod
    def from_settings(cls, settings: Settings) -> LLM:
        """The configured endpoint, or the embedded server (started on the first request)."""
        if not settings.llm_base_url:
            return EmbeddedLLM(settings)
        if not settings.llm_base_url.startswith(("http://", "https://")):
            raise LLMUnavailable(
                f"RAG_LLM_BASE_URL={settings.llm_base_url} is not an http(s) URL; "
                "set it like http://localhost:8000/v1."
            )
        return cls(
            settings.llm_model,
            settings.llm_base_url,
            settings.llm_api_key,
            timeout=settings.llm_timeout,
            max_retries=settings.llm_max_retries,
            max_tokens=settings.llm_max_tokens,
            temperature=settings.llm_temperature,
        )

    def chat(self, messages: Sequence[Message], **opts: Any) -> str:
        """The model's reply; ``opts`` go to the API (``max_tokens``, ``stop`` ...)."""

        def request(client: openai.OpenAI, model: str) -> str:
            response = client.chat.completions.create(
                model=model, messages=list(messages), **{**self.defaults, **opts}
            )
            return (response.choices[0].message.content or "") if response.choices else ""

        return self._call(request)

    def stream(self, messages: Sequence[Message], **opts: Any) -> Iterator[str]:
        """The reply to ``messages`` as text pieces, as the model produces them."""
        started = False
        for attempt in (1, 2):
            try:
                client, model = self._connect()
                with client.chat.completions.create(
                    model=model, messages=list(messages), stream=True, **{**self.defaults, **opts}
                ) as events:
                    for event in events:
                        if event.choices and event.choices[0].delta.content:
                            started = True
                            yield event.choices[0].delta.content
                return
            except (openai.OpenAIError, httpx2.HTTPError) as e:
                if attempt == 1 and not started and self._should_reconnect(e):
                    continue
                raise self._unavailable(e) from e

    def stream_json(
        self, messages: Sequence[Message], spec: dict[str, Any], **opts: Any
    ) -> Iterator[str]:
        """The reply constrained to the JSON schema ``spec``, as text pieces.

        The constraint goes in the first request shape this server takes (see
        ``rag.structured``); a shape it rejects (HTTP 400/422) is not tried again.
        The reply is the server's promise only: validate it.
        """
        from rag.structured import response_format

        while True:
            kind = self.json_formats[0]
            shape = response_format(kind, spec)
            extra = {"response_format": shape} if shape is not None else {}
            started = False
            try:
                for piece in self.stream(messages, **extra, **opts):
                    started = True
                    yield piece
                return
            except LLMRejected:
                if started or len(self.json_formats) == 1:
                    raise
                self.json_formats = self.json_formats[1:]

    def close(self) -> None:
        """Release the HTTP connections (the object stays usable: they reopen on demand)."""
        if self._client is not None:
            self._client.close()
            self._client = None

    def model_ids(self) -> list[str]:
        """The models the server offers."""
        return self._call(
            lambda client, _model: [m.id for m in client.models.list()], need_model=False
        )

    # -- plumbing shared by backends --

    def _call(self, request: Callable[[openai.OpenAI, str], _T], need_model: bool = True) -> _T:
        for attempt in (1, 2):
            try:
                client, model = self._connect(need_model)
                return request(client, model)
            except (openai.OpenAIError, httpx2.HTTPError) as e:
                if attempt == 1 and self._should_reconnect(e):
                    continue
                raise self._unavailable(e) from e
        raise AssertionError("unreachable")

    def _connect(self, need_model: bool = True) -> tuple[openai.OpenAI, str]:
        if self._client is None:
            self._client = self._make_client()
        if self.model_id is None and need_model:
            ids = [m.id for m in self._client.models.list()]
            if not ids:
                raise LLMUnavailable(
                    f"The LLM at {self.api_base} lists no models; "
                    "set RAG_LLM_MODEL to the model to use."
                )
            self.model_id = ids[0]
        return self._client, self.model_id or ""

    def _make_client(self) -> openai.OpenAI:
        return openai.OpenAI(
            base_url=self.api_base,
            api_key=self.api_key or NO_KEY,
            timeout=self.timeout,
            max_retries=self.max_retries,
        )

    def _should_reconnect(self, error: Exception) -> bool:
        return False

    def _unreachable_hint(self) -> str:
        return "start it or unset RAG_LLM_BASE_URL to use the embedded model"

    def _log_hint(self) -> str:
        return "check the server's log"

    def _unavailable(self, error: Exception) -> LLMUnavailable:
        """One user-facing sentence for a failed request."""
        where = f"The LLM at {self.api_base}"
        if isinstance(error, openai.APITimeoutError | httpx2.TimeoutException):
            text = (
                f"{where} did not answer within {self.timeout:.0f} s; "
                "raise RAG_LLM_TIMEOUT or lower RAG_LLM_MAX_TOKENS."
            )
        elif isinstance(error, openai.APIConnectionError | httpx2.HTTPError):
            text = f"{where} is unreachable; {self._unreachable_hint()}."
        elif isinstance(error, openai.AuthenticationError | openai.PermissionDeniedError):
            text = (
                f"{where} rejected the API key; "
                "set RAG_LLM_API_KEY (or OPENAI_API_KEY) to a valid key."
            )
        elif isinstance(error, openai.NotFoundError):
            text = (
                f"{where} has no model '{self.model_id}' or no OpenAI API at that path; "
                "set RAG_LLM_MODEL to a model it serves "
                "and check that RAG_LLM_BASE_URL ends in /v1."
            )
        elif isinstance(error, openai.RateLimitError):
            text = f"{where} is rate-limiting requests (HTTP 429); wait a moment and try again."
        elif _rejects_format(error):
            return LLMRejected(
                f"{where} refused the answer format ({_short(error)}); "
                "use a server that takes a JSON response_format."
            )
        elif isinstance(error, openai.BadRequestError | openai.UnprocessableEntityError):
            text = (
                f"{where} refused the request ({_short(error)}); "
                "shorten the question or raise RAG_LLM_CONTEXT."
            )
        elif isinstance(error, openai.APIStatusError):
            text = (
                f"{where} failed with HTTP {error.status_code}; {self._log_hint()} and try again."
            )
        else:
            text = f"{where} failed ({_short(error)}); {self._log_hint()} and try again."
        return LLMUnavailable(text)


class EmbeddedLLM(LLM):
    """The embedded llama.cpp server: started on the first request, restarted if it went away."""

    def __init__(self, settings: Settings, progress: Progress | None = None) -> None:
        model = _embedded_model(settings)
        super().__init__(
            model.model_id,
            f"http://{LOOPBACK}/v1",  # the real port is known once the server runs
            NO_KEY,
            timeout=settings.llm_timeout,
            # A local server is not flaky: a retry after a timeout only queues the same
            # slow request again. A server that went away is restarted instead.
            max_retries=0,
            max_tokens=settings.llm_max_tokens,
            temperature=settings.llm_temperature,
        )
        self.settings = settings
        self.progress = progress
        # llama-cpp-python's server refuses {"type": "json_schema"} and takes the schema
        # inside {"type": "json_object"}: start there.
        self.json_formats = ("json_object", "none")

    def _make_client(self) -> openai.OpenAI:
        server = ensure_server(self.settings, self.progress)
        self.api_base = server.url
        return openai.OpenAI(
            base_url=server.url,
            api_key=NO_KEY,
            timeout=self.timeout,
            max_retries=self.max_retries,
            http_client=openai.DefaultHttpxClient(trust_env=False),  # loopback: never via a proxy
        )

    def _should_reconnect(self, error: Exception) -> bool:
        # Someone stopped the shared server since we connected: start it again, once.
        if isinstance(error, openai.APIConnectionError) and not isinstance(
            error, openai.APITimeoutError
        ):
            self._client = None
            return True
        return False

    def _unreachable_hint(self) -> str:
        return f"run `rag llm stop` and try again, and see {log_path(self.settings)} if it persists"

    def _log_hint(self) -> str:
        return f"see {log_path(self.settings)}"


def _rejects_format(error: Exception) -> bool:
    """Whether the server refused the request for its ``response_format`` (so another
    shape may pass), not for its size or anything else. llama-cpp-python's server answers
    a shape it does not know with HTTP 500 and its validation error."""
    if not isinstance(
        error,
        openai.BadRequestError | openai.UnprocessableEntityError | openai.InternalServerError,
    ):
        return False
    text = _short(error).lower()
    return any(word in text for word in ("response_format", "json_schema", "schema", "grammar"))


def _short(error: Exception) -> str:
    message = getattr(error, "message", None) or str(error) or type(error).__name__
    return " ".join(str(message).split())[:200]
