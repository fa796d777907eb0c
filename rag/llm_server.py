"""The embedded LLM server process: llama-cpp-python's server plus a watchdog.

``rag.llm_supervisor`` starts this module (``python -m rag.llm_server``) as a detached process
and records it in ``HOME/llm-server.json``. Whoever started it may be long gone (a
CLI run, a closed page), so the process looks after itself instead of relying on
any client to stop it:

- **Idle**: after ``--idle`` seconds without a request it removes its state file and
  exits, freeing the model's memory; the next question starts a fresh server as
  usual. Only POST requests (completions, chat, embeddings) count as use: status
  probes (``/openapi.json``, ``/v1/models``, ``/rag/lifetime``) must not keep it
  alive. A client reusing the server touches the state file (``rag.llm_supervisor``), so the
  moment between reusing it and sending the first request counts as use too.
- **Orphaned**: when its state file is gone (``RAG_HOME`` removed) or names another
  process, nobody can find or stop it, so it exits.

It stops under the same file lock ``rag.llm_supervisor`` holds while checking or starting a
server, so a client never reuses a server that is just stopping; a request racing
the stop fails to connect, and the client starts a new server (its reconnect path).

``GET /rag/lifetime`` tells ``rag llm status`` when the server will stop.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

LIFETIME_PATH = "/rag/lifetime"
_STOP_GRACE = 10.0
"""Seconds an idle stop waits for the server to close before the process just exits."""

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class Usage:
    """ASGI middleware: counts requests in flight and when the last one began or ended,
    and answers ``GET /rag/lifetime`` itself (without waiting for the model's lock)."""

    def __init__(self, app: ASGIApp, state: Path, idle_seconds: float) -> None:
        self.app = app
        self.state = state
        self.idle_seconds = idle_seconds
        self.active = 0
        self.last_used = time.time()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
        elif scope["path"] == LIFETIME_PATH:
            await self._lifetime(send)
        elif scope["method"] != "POST":
            await self.app(scope, receive, send)
        else:
            # Both ends count: a long streamed answer is use until its last token.
            self.active += 1
            self.last_used = time.time()
            try:
                await self.app(scope, receive, send)
            finally:
                self.active -= 1
                self.last_used = time.time()

    def idle_since(self) -> float:
        """The time of the last use, by a request or by a client reusing the server."""
        try:
            touched = self.state.stat().st_mtime
        except OSError:
            touched = 0.0
        return max(self.last_used, touched)

    def stops_at(self) -> float | None:
        if not self.idle_seconds:
            return None
        if self.active:
            return time.time() + self.idle_seconds
        return self.idle_since() + self.idle_seconds

    def is_idle(self) -> bool:
        stops_at = self.stops_at()
        return stops_at is not None and not self.active and time.time() >= stops_at

    async def _lifetime(self, send: Send) -> None:
        body = json.dumps(
            {
                "pid": os.getpid(),
                "idle_seconds": self.idle_seconds,
                "active": self.active,
                "last_used": self.idle_since(),
                "stops_at": self.stops_at(),
            }
        ).encode()
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def recorded_pid(state: Path) -> int | None:
    """The pid in the state file; 0 when it is gone, None when it cannot be read just now."""
    try:
        return int(json.loads(state.read_text())["pid"])
    except FileNotFoundError:
        return 0
    except (OSError, ValueError, KeyError, TypeError):
        return None  # being replaced or damaged: decide on a later look


class Watchdog(threading.Thread):
    """Stops the server when it is idle or orphaned (see the module docstring)."""

    def __init__(self, server: Any, usage: Usage, state: Path) -> None:
        super().__init__(name="rag-llm-watchdog", daemon=True)
        self.server = server
        self.usage = usage
        self.state = state
        self.closed = threading.Event()
        """Set by the main thread once the server has stopped serving."""
        idle = usage.idle_seconds
        # A stat every couple of seconds costs nothing; short idle times (tests) look
        # more often so the stop comes close to the promised time.
        self.interval = max(0.1, min(2.0, idle / 4)) if idle else 2.0

    def run(self) -> None:
        while not self.closed.wait(self.interval):
            if self._orphaned():
                _say(f"{self.state} is gone or names another server: stopping.")
                self._stop()
                return
            if self.usage.is_idle() and self._stop_if_idle():
                return

    def _orphaned(self) -> bool:
        pid = recorded_pid(self.state)
        return pid is not None and pid != os.getpid()

    def _stop_if_idle(self) -> bool:
        from filelock import FileLock, Timeout

        lock = FileLock(str(self.state.parent / "llm-server.lock"), timeout=0)
        try:
            lock.acquire()
        except Timeout:
            return False  # a client is checking or starting the server: look again later
        except OSError:
            return False  # the home is going away: the orphan check ends it next round
        try:
            # Under the lock no client can be about to reuse us; look again, since a
            # request or a client's touch may have come since the unlocked look.
            if not self.usage.is_idle() or self._orphaned():
                return False
            _say(f"No request for {self.usage.idle_seconds:g} s: stopping to free memory.")
            if recorded_pid(self.state) == os.getpid():
                self.state.unlink(missing_ok=True)
            self._stop()
            return True
        finally:
            lock.release()

    def _stop(self) -> None:
        self.server.should_exit = True
        if not self.closed.wait(_STOP_GRACE):
            _say("The server did not close in time; exiting.")
            os._exit(0)


def _say(message: str) -> None:
    print(f"rag.llm_server: {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--config_file", required=True, help="llama_cpp.server's config (JSON).")
    parser.add_argument("--state", required=True, type=Path, help="HOME/llm-server.json.")
    parser.add_argument("--idle", type=float, default=0.0, help="Seconds; 0 = never stop.")
    args = parser.parse_args(argv)

    import uvicorn
    from llama_cpp.server.app import create_app
    from llama_cpp.server.settings import ConfigFileSettings, ServerSettings

    # As llama_cpp.server's own main does for a config file (rag.llm_supervisor writes it).
    config = ConfigFileSettings.model_validate_json(Path(args.config_file).read_bytes())
    server_settings = ServerSettings.model_validate(config)
    app = create_app(server_settings=server_settings, model_settings=config.models)  # loads
    usage = Usage(app, args.state, args.idle)
    server = uvicorn.Server(
        uvicorn.Config(
            usage,
            host=server_settings.host,
            port=server_settings.port,
            timeout_graceful_shutdown=int(_STOP_GRACE),
        )
    )
    watchdog = Watchdog(server, usage, args.state)
    watchdog.start()
    try:
        server.run()
    finally:
        watchdog.closed.set()
        watchdog.join(timeout=_STOP_GRACE)  # let it release the lock before we exit


if __name__ == "__main__":
    main()
