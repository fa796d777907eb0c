"""Children started by tests stop on SIGINT even when the suite runs with SIGINT ignored.

``nohup pytest &`` from a script starts the suite with SIGINT ignored, and an ignore is
inherited through fork and exec; conftest's ``start_process`` must undo it for the child.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent

# Runs with SIGINT ignored, as under nohup: starts one grandchild through the shared
# helper and one with plain Popen (the control: it must show the ignore is inherited),
# interrupts both and reports how each ended.
PARENT = """
import json, signal, subprocess, sys
sys.path.insert(0, sys.argv[1])
from conftest import start_process

SLEEPER = ["import time", "print('ready', flush=True)", "time.sleep(30)"]
cmd = [sys.executable, "-c", "; ".join(SLEEPER)]
helped = start_process(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
plain = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
try:
    for child in (helped, plain):
        assert child.stdout.readline() == "ready\\n"
        child.send_signal(signal.SIGINT)
    helped_code = helped.wait(timeout=5)
    try:
        plain.wait(timeout=0.5)
    except subprocess.TimeoutExpired:
        pass
    print(json.dumps({
        "parent_ignores": signal.getsignal(signal.SIGINT) == signal.SIG_IGN,
        "helped": helped_code,
        "plain": plain.poll(),
    }))
finally:
    for child in (helped, plain):
        child.kill()
        child.wait()
"""


def ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def test_helper_children_die_of_sigint_under_an_inherited_ignore() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PARENT, str(TESTS)],
        preexec_fn=ignore_sigint,  # what nohup-from-a-script does to the suite
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert done.returncode == 0, done.stderr
    ended = json.loads(done.stdout)
    assert ended["parent_ignores"], "the parent did not start with SIGINT ignored"
    assert ended["plain"] is None, "the control child did not inherit the ignore"
    assert ended["helped"] == -signal.SIGINT, ended
