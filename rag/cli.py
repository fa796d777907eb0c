"""The `rag` command: a thin layer over the library.

Every command is a few lines calling the Python API.  Errors a user can cause end
in one sentence on stderr and a non-zero exit status, never a traceback.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import typer

from rag.config import Settings

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Ask questions about a folder of news articles; every answer cites its sources.",
    pretty_exceptions_enable=False,
)


def settings(**overrides: Any) -> Settings:
    return Settings(**{k: v for k, v in overrides.items() if v is not None})


def fail(message: str, code: int = 1) -> None:
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(code)


def user_errors() -> tuple[type[Exception], ...]:
    """Exceptions whose message is already one clear sentence for the user."""
    from rag.documents import DocumentError
    from rag.embeddings import EmbeddingModelError
    from rag.indexer import IndexingError
    from rag.store import StoreError

    errors: list[type[Exception]] = [DocumentError, EmbeddingModelError, IndexingError, StoreError]
    for module, name in (
        ("rag.retrieval", "RetrievalError"),
        ("rag.llm", "LLMUnavailable"),
        ("rag.llm", "ModelFilesError"),
    ):
        with suppress(ImportError, AttributeError):
            errors.append(getattr(__import__(module, fromlist=[name]), name))
    return tuple(errors)


@contextmanager
def friendly_errors() -> Iterator[None]:
    try:
        yield
    except typer.Exit:
        raise
    except KeyboardInterrupt:
        fail("Interrupted; nothing already indexed was lost.", code=130)
    except user_errors() as exc:
        fail(str(exc))
    except ValueError as exc:  # settings validation and bad arguments
        fail(str(exc).splitlines()[0])


def echo_json(obj: Any) -> None:
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


@app.command("index")
def index_cmd(
    path: Path | None = typer.Argument(None, help="Articles folder (default RAG_ARTICLES_DIR)."),
    rebuild: bool = typer.Option(False, "--rebuild", help="Re-embed everything from scratch."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Index the articles folder: only new, changed and deleted files are processed."""
    from rag import indexer

    with friendly_errors():
        s = settings(articles_dir=path)
        with progress_bar(not as_json) as progress:
            report = indexer.run(s, rebuild=rebuild, progress=progress)
    if as_json:
        echo_json(report.to_dict())
        return
    for skipped in report.skipped:
        typer.echo(f"skipped {skipped.path}: {skipped.reason}", err=True)
    typer.echo(
        f"{report.added} added, {report.updated} updated, {report.removed} removed, "
        f"{report.unchanged} unchanged, {len(report.skipped)} skipped; "
        f"{report.documents} documents, {report.chunks} chunks in {report.seconds:.1f}s"
        + (" (rebuilt)" if report.rebuilt else "")
    )


@app.command("status")
def status_cmd(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """What is indexed: documents, chunks, embedding model, store, last run."""
    from dataclasses import asdict

    from rag import indexer

    with friendly_errors():
        st = indexer.status(settings())
    if as_json:
        echo_json(asdict(st))
        return
    for key, value in asdict(st).items():
        typer.echo(f"{key:16} {value}")


def _print_passages(passages: list[Any]) -> None:
    if not passages:
        typer.echo("No passage matches the question.")
    for i, p in enumerate(passages, 1):
        when = f", {p.published}" if p.published else ""
        typer.secho(
            f"[{i}] {p.source}{when}  chars {p.start}-{p.end}  score {p.score:.4f}", bold=True
        )
        typer.echo(f"    {p.title}" if p.title else "", nl=bool(p.title))
        typer.echo("    " + " ".join(p.text.split()))
        typer.echo("")


def _lines(batch: Path) -> list[str]:
    text = sys.stdin.read() if str(batch) == "-" else batch.read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip()]


@app.command("search")
def search_cmd(
    question: str | None = typer.Argument(None, help="The question or keywords."),
    k: int = typer.Option(5, "-k", help="How many passages."),
    source: str | None = typer.Option(None, "--source", help="File name or glob."),
    after: str | None = typer.Option(None, "--after", help="Published on or after YYYY-MM-DD."),
    before: str | None = typer.Option(None, "--before", help="Published on or before YYYY-MM-DD."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    batch: Path | None = typer.Option(
        None, "--batch", help="File of questions, one a line; - = stdin."
    ),
) -> None:
    """Find the passages that answer a question (hybrid dense + keyword search)."""
    from rag.retrieval import Filters, Retriever

    with friendly_errors():
        if batch is None and not question:
            fail("Give a question, or --batch FILE with one question per line.")
        if batch is not None and str(batch) != "-" and not batch.is_file():
            fail(f"{batch} is not a file; give a file with one question per line, or - for stdin.")
        filters = Filters.parse(source, after, before)
        retriever = Retriever(settings())
        questions = _lines(batch) if batch is not None else [question or ""]
        for q in questions:
            passages = retriever.search(q, k=k, filters=filters)
            if as_json or batch is not None:
                echo_json({"query": q, "passages": [p.to_dict() for p in passages]})
            else:
                _print_passages(passages)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
