"""The `rag` command: a thin layer over the library.

Every command is a few lines calling the Python API.  Errors a user can cause end
in one sentence on stderr and a non-zero exit status, never a traceback.  This module
holds the app and the index, status, ui and eval commands; the others live beside it
(`cli_sources`: watch, add, feed, sync; `cli_ask`: search, ask, chat; `cli_chats`;
`cli_llm`) and are registered below, in the order `rag --help` lists them.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from rag import cli_ask, cli_chats, cli_llm, cli_sources
from rag.cli_common import echo_json, fail, friendly_errors, progress_bar, settings

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Ask questions about a folder of news articles; every answer cites its sources.",
    pretty_exceptions_enable=False,
)


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
        indexer.yield_cpu(s)
        with progress_bar(not as_json) as progress:
            report = indexer.run(s, rebuild=rebuild, progress=progress)
    if as_json:
        echo_json(report.to_dict())
        return
    for skipped in report.skipped:
        typer.echo(f"skipped {skipped.path}: {skipped.reason}", err=True)
    for flagged in report.flagged:  # indexed all the same
        typer.echo(f"indexed {flagged.path}, but {flagged.reason}", err=True)
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


app.command("watch")(cli_sources.watch_cmd)
app.command("add")(cli_sources.add_cmd)
app.command("sync")(cli_sources.sync_cmd)
app.command("search")(cli_ask.search_cmd)


# Streamlit options `rag ui` sets unless the user passes their own.
UI_DEFAULTS = {
    "browser.gatherUsageStats": "false",  # no network, and no first-run e-mail prompt
    "client.showErrorDetails": "none",  # errors are shown as sentences, never tracebacks
    "client.toolbarMode": "minimal",
    "theme.primaryColor": "#2f5bd3",
}


def _flag_value(flags: list[str], name: str) -> str | None:
    """The value of ``--name VALUE`` or ``--name=VALUE`` in Streamlit-style flags (last wins)."""
    value = None
    for i, flag in enumerate(flags):
        if flag == f"--{name}" and i + 1 < len(flags):
            value = flags[i + 1]
        elif flag.startswith(f"--{name}="):
            value = flag.split("=", 1)[1]
    return value


def ui_page() -> Path | None:
    """The Streamlit page: ``app.py`` of the ``ui`` package installed with rag; None without it."""
    import importlib.util

    spec = importlib.util.find_spec("ui")
    page = Path(spec.origin).parent / "app.py" if spec and spec.origin else None
    return page if page is not None and page.is_file() else None


@app.command("ui", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def ui_cmd(ctx: typer.Context) -> None:
    """Start the chat page; Streamlit's own flags pass through (--server.port 8600 ...)."""
    import importlib.util
    import os

    page = ui_page()
    if page is None:
        fail(
            "The chat page (the ui package) is missing; install rag from its source folder "
            "with `pip install -e '.[ui]'`."
        )
    if importlib.util.find_spec("streamlit") is None:
        fail("Streamlit is not installed; run `pip install -e '.[ui]'`.")
    flags = list(ctx.args)
    defaults = [
        part
        for key, value in UI_DEFAULTS.items()
        if _flag_value(flags, key) is None
        for part in (f"--{key}", value)
    ]
    port = _flag_value(flags, "server.port") or "8501"
    host = _flag_value(flags, "server.address") or "localhost"
    typer.echo(f"The chat page will be at http://{host}:{port}  (Ctrl+C stops it)")
    command = [sys.executable, "-m", "streamlit", "run", str(page), *defaults, *flags]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, command)  # Streamlit replaces this process: signals reach it


@app.command("eval")
def eval_cmd(
    suite: str = typer.Option(
        "seeds", "--suite", help="seeds, dated, squad2, or a labelled .jsonl file."
    ),
    limit: int | None = typer.Option(
        None, "--limit", help="A fixed, stratified subset of N items (squad2: 50 unless given)."
    ),
    half: str = typer.Option(
        "test", "--half", help="SQuAD suites: the tune or test half of the questions, or all."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the totals as one JSON object."),
    report: Path | None = typer.Option(
        None, "--report", help="Write report.md, metrics.png and results.json into DIR."
    ),
    articles: Path | None = typer.Option(
        None, "--articles", help="Folder of a PATH suite's sources (default RAG_ARTICLES_DIR)."
    ),
) -> None:
    """Measure answers and citations against a labelled suite (see docs/eval.md)."""
    from rag import eval_report, evaluation

    with friendly_errors():
        s = settings()
        chosen = evaluation.load_suite(suite, articles_dir=articles or s.articles_dir, home=s.home)
        items = evaluation.select(chosen, limit, half)
        with progress_bar(not as_json) as progress:
            run = evaluation.run(chosen, s, items, progress=progress)
        eval_report.save_results(run, s.home / "eval-results" / f"{run.suite}.json")
        written = eval_report.write_report(run, report) if report else None
    if as_json:
        echo_json(run.headline())
        return
    _print_eval(run, written)


def _print_eval(run: Any, written: Path | None) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    from rag import eval_metrics
    from rag.eval_report import fmt, metric_rows

    total = run.totals
    table = Table(title=f"{run.suite}: {total['n']} items, {total['passed']} passed")
    # Metric names are the JSON field names: never wrap them, wrap the meaning instead.
    table.add_column("metric", no_wrap=True)
    table.add_column("value", justify="right", no_wrap=True)
    table.add_column("meaning", overflow="fold")
    for name, value, meaning in metric_rows(total):
        table.add_row(name, fmt(value, name), meaning)
    # The report's columns, without borders: ten columns then fit a 100-column terminal.
    cats = Table(title="by category", box=box.SIMPLE_HEAD)
    columns = eval_metrics.shown("by_category")
    cats.add_column("category")
    for column in ("n", *(m.label for m in columns)):
        cats.add_column(column, justify="right")
    for name, t in run.categories.items():
        cats.add_row(name, str(t["n"]), *(fmt(t[m.name], m.name) for m in columns))
    console = Console()
    console.print(table)
    console.print(cats)
    if total["fallbacks"]:
        console.print(f"{total['fallbacks']} answers came from the extractive fallback.")
    if written:
        console.print(f"Report: {written}")


app.command("ask")(cli_ask.ask_cmd)
app.command("chat")(cli_ask.chat_cmd)
app.add_typer(cli_sources.feed_app, name="feed")
app.add_typer(cli_chats.chats_app, name="chats")
app.add_typer(cli_llm.llm_app, name="llm")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
