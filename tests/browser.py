"""What the real-browser tests share: Debian's Chromium and `rag ui` started as a user does.

A test module calls ``playwright()`` at import: it skips the module when Chromium or
Playwright is missing and returns ``playwright.sync_api``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

import pytest
from conftest import start_process

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def playwright() -> ModuleType:
    """``playwright.sync_api``; skips the calling test module without Chromium or Playwright."""
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed; run `make browser`.", allow_module_level=True)
    return pytest.importorskip("playwright.sync_api")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def user_env(**rag: str) -> dict[str, str]:
    """This environment without the test's RAG_* variables, plus ``rag`` and offline models."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(rag, HF_HUB_OFFLINE="1")
    return env


def wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"`rag ui` exited with {proc.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"`rag ui` did not answer within {timeout:.0f} s:\n{log.read_text()}")


@contextmanager
def rag_ui(cwd: Path, env: dict[str, str], log: Path) -> Iterator[str]:
    """`rag ui` run headless in ``cwd`` on a free port, its output in ``log``; yields the
    page's URL once it answers, and stops its whole process group afterwards."""
    port = free_port()
    rag = Path(sys.executable).with_name("rag")
    command = [str(rag), "ui", "--server.headless", "true", "--server.port", str(port)]
    with open(log, "wb") as out:
        proc = start_process(
            command, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://localhost:{port}"
    try:
        wait_healthy(url, proc, log, timeout=90)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
