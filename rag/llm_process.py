"""The embedded LLM server's process and port, seen from the process that manages it.

``rag.llm_supervisor`` starts, reuses and stops the server; this module answers the
operating-system questions it asks on the way: is that pid still alive, is it really
our server (a recorded pid may have been reused since), stop it politely then not,
which loopback port is free, and a plain GET to the server that never goes through a
proxy.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from contextlib import suppress
from pathlib import Path

LOOPBACK = "127.0.0.1"
PROBE_TIMEOUT = 3.0
"""Seconds a status probe waits for the server."""
_STOP_TIMEOUT = 10.0

# A child we started stays a zombie until reaped; keeping its Popen lets us poll it.
_children: dict[int, subprocess.Popen[bytes]] = {}


def track(process: subprocess.Popen[bytes]) -> None:
    """Remember a server this process started, so it is polled (and reaped), not guessed at."""
    _children[process.pid] = process


def alive(pid: int) -> bool:
    """Whether ``pid`` runs; a zombie nobody reaped yet counts as dead."""
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


def is_server_process(pid: int) -> bool:
    """Alive and really a llama.cpp server: a recorded pid may have been reused since."""
    if not alive(pid):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        # rag.llm_server runs llama_cpp's server; servers started by an older rag ran it bare.
        return b"rag.llm_server" in cmdline or b"llama_cpp.server" in cmdline
    except FileNotFoundError:
        return not Path("/proc/self").exists()  # no /proc (macOS): trust the pid
    except OSError:
        return False


def terminate(pid: int) -> None:
    """Stop a server process: politely, then not."""
    child = _children.pop(pid, None)
    if child is None and not is_server_process(pid):
        return  # gone, or the pid now belongs to something else

    def running() -> bool:
        return child.poll() is None if child is not None else alive(pid)

    for sig, grace in ((signal.SIGTERM, _STOP_TIMEOUT), (signal.SIGKILL, 2.0)):
        if not running():
            break
        with suppress(ProcessLookupError):
            os.kill(pid, sig)
        deadline = time.monotonic() + grace
        while running() and time.monotonic() < deadline:
            time.sleep(0.1)


def free_port() -> int:
    """A loopback port nobody listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def port_is_free(port: int) -> bool:
    """Whether ``port`` on loopback can be listened on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


def loopback_get(url: str, timeout: float = PROBE_TIMEOUT) -> bytes | None:
    """The body of a GET to the local server; None when it does not answer."""
    # Only for loopback URLs: these must never go through a configured proxy.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as response:
            return response.read()
    except (OSError, ValueError):
        return None


def last_line(log: Path | None) -> str:
    """The last non-blank line of a server log as `` (line)``, for an error message; else ""."""
    if log is None:
        return ""
    try:
        lines = [
            line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()
        ]
    except OSError:
        return ""
    return f" ({lines[-1][:200]})" if lines else ""
