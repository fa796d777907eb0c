"""What every `rag` command shares: settings, errors as one sentence, JSON, progress."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import typer

from rag.config import Settings, load_settings
from rag.errors import RagError


def settings(**overrides: Any) -> Settings:
    """The settings with the given options on top; a bad value raises ``SettingsError``."""
    return load_settings(**{k: v for k, v in overrides.items() if v is not None})


def fail(message: str, code: int = 1) -> NoReturn:
    """End the command with ``Error: message`` on stderr and a non-zero exit status."""
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(code)


@contextmanager
def friendly_errors() -> Iterator[None]:
    """Errors a user can cause (``RagError``, Ctrl-C) end in one sentence, never a traceback."""
    try:
        yield
    except typer.Exit:
        raise
    except KeyboardInterrupt:
        fail("Interrupted; nothing already indexed was lost.", code=130)
    except RagError as exc:  # its message is already one sentence naming the fix
        fail(str(exc))


def echo_json(obj: Any) -> None:
    """One JSON value on a line of stdout."""
    typer.echo(json.dumps(obj, ensure_ascii=False, default=str))


@contextmanager
def progress_bar(enabled: bool) -> Iterator[Callable[[int, int, str], None]]:
    """A rich progress bar on a terminal; silent otherwise."""
    if not enabled or not sys.stderr.isatty():
        yield lambda done, total, message: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), transient=True
    ) as bar:
        task = bar.add_task("indexing", total=None)

        def update(done: int, total: int, message: str) -> None:
            bar.update(task, completed=done, total=total or None, description=message[:60])

        yield update


def page_label(item: Any) -> str:
    """The page label of a PDF passage or citation (", p. N" or ", pp. N-M"); else ""."""
    page, last = getattr(item, "page", None), getattr(item, "last_page", None)
    if not page:
        return ""
    return f", pp. {page}\u2013{last}" if last and last != page else f", p. {page}"


def question_lines(batch: Path) -> list[str]:
    """The non-blank lines of a --batch file, or of stdin for ``-``."""
    text = sys.stdin.read() if str(batch) == "-" else batch.read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip()]
