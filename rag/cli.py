"""The `rag` command: a thin layer over the library.

Every command is a few lines calling the Python API.  Errors a user can cause end
in one sentence on stderr and a non-zero exit status, never a traceback.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

from rag.config import Settings, load_settings
from rag.errors import RagError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Ask questions about a folder of news articles; every answer cites its sources.",
    pretty_exceptions_enable=False,
)


def settings(**overrides: Any) -> Settings:
    """The settings with the given options on top; a bad value raises ``SettingsError``."""
    return load_settings(**{k: v for k, v in overrides.items() if v is not None})


def fail(message: str, code: int = 1) -> None:
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(code)


@contextmanager
def friendly_errors() -> Iterator[None]:
    try:
        yield
    except typer.Exit:
        raise
    except KeyboardInterrupt:
        fail("Interrupted; nothing already indexed was lost.", code=130)
    except RagError as exc:  # its message is already one sentence naming the fix
        fail(str(exc))


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


@app.command("watch")
def watch_cmd(
    path: Path | None = typer.Argument(None, help="Articles folder (default RAG_ARTICLES_DIR)."),
    debounce: float = typer.Option(
        2.0, "--debounce", help="Seconds of quiet before a burst of changes is indexed."
    ),
    poll_feeds: bool = typer.Option(
        True, "--feeds/--no-feeds", help="Also sync the followed feeds every RAG_FEED_INTERVAL."
    ),
) -> None:
    """Re-index whenever articles arrive, change or disappear (Ctrl-C stops)."""
    import threading
    import time

    from rag import feeds
    from rag.watch import Watcher

    def show(report: Any) -> None:
        typer.echo(
            f"{time.strftime('%H:%M:%S')} {report.added} added, {report.updated} updated, "
            f"{report.removed} removed, {len(report.skipped)} skipped; "
            f"{report.documents} documents, {report.chunks} chunks in {report.seconds:.1f}s"
        )
        for skipped in report.skipped:
            typer.echo(f"skipped {skipped.path}: {skipped.reason}", err=True)

    with friendly_errors():
        s = settings(articles_dir=path)
        watcher = Watcher(
            s,
            debounce=debounce,
            on_run=show,
            on_error=lambda m: typer.echo(f"Error: {m}", err=True),
        )
        typer.echo(f"Watching {s.articles_dir} (Ctrl-C stops).")
        stop = threading.Event()
        if poll_feeds:  # the poller only writes articles; the watcher indexes them
            threading.Thread(
                target=feeds.poll,
                args=(s, stop, lambda r: _show_sync(r, time.strftime("%H:%M:%S "), quiet=True)),
                kwargs={"on_error": lambda m: typer.echo(f"Error: {m}", err=True)},
                daemon=True,
            ).start()
        try:
            watcher.run()
        except KeyboardInterrupt:
            typer.echo("Stopped watching; an interrupted run is completed by the next one.")
        finally:
            stop.set()


@app.command("add")
def add_cmd(
    urls: list[str] = typer.Argument(..., help="Addresses of article pages (http or https)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Fetch article pages (or PDFs) into the articles folder, then index the folder."""
    from rag import clipping

    with friendly_errors():
        s = settings()
        with progress_bar(not as_json) as progress:
            report = clipping.add_urls(s, urls, progress)
        if not as_json:
            for saved in report.added:
                typer.echo(f"{saved.state:9} {saved.path}  ({saved.url})")
            for url, reason in report.skipped:
                typer.echo(f"skipped {url}: {reason}", err=True)
        indexed = _index_fetched(s, as_json) if report.added else None
    if as_json:
        echo_json({**report.to_dict(), "index": indexed.to_dict() if indexed else None})
    if report.skipped:
        raise typer.Exit(1)


def _index_fetched(s: Settings, as_json: bool) -> Any:
    """Index the folder after fetching into it, as `rag index` would."""
    from rag import indexer

    with progress_bar(not as_json) as progress:
        report = indexer.run(s, progress=progress)
    if not as_json:
        typer.echo(
            f"indexed: {report.added} added, {report.updated} updated; "
            f"{report.documents} documents, {report.chunks} chunks in {report.seconds:.1f}s"
        )
        for skipped in report.skipped:
            typer.echo(f"skipped {skipped.path}: {skipped.reason}", err=True)
    return report


feed_app = typer.Typer(no_args_is_help=True, help="RSS and Atom feeds that rag sync fetches.")
app.add_typer(feed_app, name="feed")


@feed_app.command("add")
def feed_add_cmd(url: str = typer.Argument(..., help="The feed's address (RSS or Atom).")) -> None:
    """Follow a feed (checked now); rag sync saves its entries as articles."""
    from rag import feeds

    with friendly_errors():
        feed = feeds.add_feed(settings(), url)
    typer.echo(f"Following {feed.title or feed.url}; run rag sync to fetch its articles.")


@feed_app.command("list")
def feed_list_cmd(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """The followed feeds: last sync, entries saved, last error."""
    from rag import feeds

    with friendly_errors():
        followed = [f.summary() for f in feeds.load_feeds(settings())]
    if as_json:
        echo_json({"feeds": followed})
        return
    if not followed:
        typer.echo("No feeds; rag feed add URL follows one.")
    for f in followed:
        typer.echo(f"{f['url']}  {f['title']}".rstrip())
        typer.echo(f"    last sync {f['last_sync'] or 'never'}, {f['entries']} entries saved")
        if f["last_error"]:
            typer.echo(f"    error: {f['last_error']}")


@feed_app.command("remove")
def feed_remove_cmd(url: str = typer.Argument(..., help="The feed's address.")) -> None:
    """Stop following a feed; the articles it brought stay in the folder."""
    from rag import feeds

    with friendly_errors():
        feeds.remove_feed(settings(), url)
    typer.echo(f"No longer following {url}; its articles stay in the folder.")


@app.command("sync")
def sync_cmd(as_json: bool = typer.Option(False, "--json", help="Print one JSON object.")) -> None:
    """Fetch every followed feed, save new and edited entries, then index the folder."""
    from rag import feeds

    with friendly_errors():
        s = settings()
        with progress_bar(not as_json) as progress:
            report = feeds.sync(s, progress)
        if not as_json:
            _show_sync(report)
        indexed = _index_fetched(s, as_json) if report.changed else None
    if as_json:
        echo_json({**report.to_dict(), "index": indexed.to_dict() if indexed else None})
    if report.failed:
        raise typer.Exit(1)


def _show_sync(report: Any, prefix: str = "", quiet: bool = False) -> None:
    if quiet and not (report.changed or report.failed):
        return  # `rag watch` polls every few minutes: only news is worth a line
    typer.echo(f"{prefix}{report.feeds} feeds: {report.new} new, {report.updated} updated articles")
    for url, reason in report.failed:
        typer.echo(f"failed {url}: {reason}", err=True)


def _print_passages(passages: list[Any]) -> None:
    if not passages:
        typer.echo("No passage matches the question.")
    for i, p in enumerate(passages, 1):
        when = f", {p.published}" if p.published else ""
        typer.secho(
            f"[{i}] {p.source}{when}{_page(p)}  chars {p.start}-{p.end}  score {p.score:.4f}",
            bold=True,
        )
        typer.echo(f"    {p.title}" if p.title else "", nl=bool(p.title))
        typer.echo("    " + " ".join(p.text.split()))
        typer.echo("")


def _since_as_after(since: str | None, after: str | None, before: str | None) -> str | None:
    """--since 7d as the --after date it means, counted back from RAG_TODAY or the real date."""
    from rag.retrieval import Filters
    from rag.timeframe import parse_since

    if since is None:
        return after
    if after:
        fail("--since and --after both set the first date; give only one of them.")
    start = parse_since(since, settings().current_date)
    Filters.parse(before=before)  # a bad --before is named before it is compared
    if before and start > before:
        fail(f"--since {since} starts on {start}, after --before {before}; widen one of them.")
    return start


def _page(item: Any) -> str:
    """The page label of a PDF passage or citation (", p. N" or ", pp. N-M"); else ""."""
    page, last = getattr(item, "page", None), getattr(item, "last_page", None)
    if not page:
        return ""
    return f", pp. {page}\u2013{last}" if last and last != page else f", p. {page}"


def _lines(batch: Path) -> list[str]:
    text = sys.stdin.read() if str(batch) == "-" else batch.read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip()]


@app.command("search")
def search_cmd(
    question: str | None = typer.Argument(None, help="The question or keywords."),
    k: int | None = typer.Option(None, "-k", min=1, help="How many passages (default RAG_TOP_K)."),
    source: str | None = typer.Option(None, "--source", help="File name or glob."),
    after: str | None = typer.Option(None, "--after", help="Published on or after YYYY-MM-DD."),
    before: str | None = typer.Option(None, "--before", help="Published on or before YYYY-MM-DD."),
    since: str | None = typer.Option(
        None, "--since", help="Published in the last 7d, 2w, 3m, 1y, or since YYYY-MM-DD."
    ),
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
        filters = Filters.parse(source, _since_as_after(since, after, before), before)
        retriever = Retriever(settings())
        questions = _lines(batch) if batch is not None else [question or ""]
        for q in questions:
            passages = retriever.search(q, k=k, filters=filters)
            if as_json or batch is not None:
                echo_json({"query": q, "passages": [p.to_dict() for p in passages]})
            else:
                _print_passages(passages)


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


def ui_page() -> Path:
    """The Streamlit page: ui/app.py next to the package (an editable install or a checkout)."""
    return Path(__file__).resolve().parents[1] / "ui" / "app.py"


@app.command("ui", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def ui_cmd(ctx: typer.Context) -> None:
    """Start the chat page; Streamlit's own flags pass through (--server.port 8600 ...)."""
    import importlib.util
    import os

    page = ui_page()
    if not page.is_file():
        fail(
            f"The chat page {page} is missing; install rag from its source folder "
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
    suite: str = typer.Option("seeds", "--suite", help="seeds, squad2, or a labelled .jsonl file."),
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


def _start_note(s: Settings) -> None:
    """Say so when the embedded LLM is about to be started: the first answer waits for it."""
    if s.llm_base_url:
        return
    from rag import llm

    if llm.status(s).state == "not started":
        typer.secho("Starting the embedded LLM (first use only) ...", err=True, dim=True)


def _print_answer(events: Iterator[Any]) -> Any:
    """Stream an answer to the terminal; return the final Answer."""
    from rag.answering import Done, Notice, Retrieved, Token

    answer = None
    streamed = ""
    for event in events:
        if isinstance(event, Retrieved):
            files = sorted({p.source for p in event.passages})
            typer.secho(f"Searching {', '.join(files) or 'no articles'} ...", err=True, dim=True)
            if event.timeframe is not None:
                f = event.timeframe
                typer.secho(
                    f"Published {f.label} (from \u201c{f.phrase}\u201d; --any-date searches all)",
                    err=True,
                    dim=True,
                )
        elif isinstance(event, Token):
            typer.echo(event.text, nl=False)
            streamed += event.text
        elif isinstance(event, Notice):
            if streamed:
                typer.echo("")
            typer.secho(f"Note: {event.message}", err=True, fg="yellow")
        elif isinstance(event, Done):
            answer = event.answer
    if answer is None:
        return None
    if streamed:
        typer.echo("")
    if " ".join(streamed.split()) != " ".join(answer.answer.split()):
        if streamed:
            typer.secho("\nChecked answer:", bold=True)
        typer.echo(answer.answer)
    if answer.as_of:
        typer.secho(f"As of {answer.as_of}, the newest article cited.", dim=True)
    if answer.refused:
        if answer.reason:
            typer.secho(answer.reason, dim=True)
        related = sorted({p.source for p in answer.passages})
        if related:
            typer.secho(f"Related, but not an answer: {', '.join(related)}", dim=True)
    for sentence in answer.sentences:
        if sentence.citations and not sentence.supported:
            typer.secho(f"Not supported by its source: {sentence.text}", fg="red", err=True)
    if answer.citations:
        typer.echo("")
    for c in answer.citations:
        mark = "supported" if c.supported else "NOT supported"
        typer.secho(f"[{c.n}] {c.source}{_page(c)}  chars {c.start}-{c.end}  ({mark})", bold=True)
        quote = " ".join(c.text[c.quote_start - c.start : c.quote_end - c.start].split())
        typer.echo(f"    \u201c{quote}\u201d")
    return answer


@app.command("ask")
def ask_cmd(
    question: str | None = typer.Argument(None, help="The question."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    batch: Path | None = typer.Option(
        None, "--batch", help="File of questions, one a line (- = stdin); prints JSON lines."
    ),
    k: int | None = typer.Option(None, "-k", min=1, help="How many passages (default RAG_TOP_K)."),
    source: str | None = typer.Option(None, "--source", help="File name or glob."),
    after: str | None = typer.Option(None, "--after", help="Published on or after YYYY-MM-DD."),
    before: str | None = typer.Option(None, "--before", help="Published on or before YYYY-MM-DD."),
    since: str | None = typer.Option(
        None, "--since", help="Published in the last 7d, 2w, 3m, 1y, or since YYYY-MM-DD."
    ),
    any_date: bool = typer.Option(
        False, "--any-date", help="Ignore time words in the question ('last week', 'in May')."
    ),
) -> None:
    """Answer a question from the articles; every claim cites its source [n]."""
    from rag.answering import Answerer
    from rag.retrieval import Filters

    with friendly_errors():
        if batch is None and not (question or "").strip():
            fail("Give a question, or --batch FILE with one question per line.")
        if batch is not None and str(batch) != "-" and not batch.is_file():
            fail(f"{batch} is not a file; give a file with one question per line, or - for stdin.")
        filters = Filters.parse(source, _since_as_after(since, after, before), before)
        s = settings()
        answerer = Answerer(s)
        if batch is not None or as_json:
            for q in _lines(batch) if batch is not None else [question or ""]:
                echo_json(answerer.ask(q, k=k, filters=filters, dates=not any_date).to_dict())
            return
        _start_note(s)
        _print_answer(answerer.stream(question or "", k=k, filters=filters, dates=not any_date))


@app.command("chat")
def chat_cmd(
    k: int | None = typer.Option(None, "-k", min=1, help="How many passages (default RAG_TOP_K)."),
    source: str | None = typer.Option(None, "--source", help="File name or glob."),
    resume: int | None = typer.Option(
        None, "--resume", help="Carry on saved chat ID (`rag chats list` shows them)."
    ),
) -> None:
    """Talk about the articles: follow-up questions keep the conversation's context.

    The chat is saved as it goes (the first question titles it)."""
    from rag.answering import Answerer
    from rag.chats import Recorder
    from rag.retrieval import Filters

    with friendly_errors():
        filters = Filters.parse(source)
        s = settings()
        recorder = Recorder(s, resume)
        history = _print_resumed(recorder) if resume is not None else []
        answerer = Answerer(s)
        typer.echo("Ask about the articles; an empty line or Ctrl+D ends the chat.")
        while True:
            try:
                question = input("\nYou: ").strip()
            except (EOFError, KeyboardInterrupt):
                typer.echo("")
                break
            if question.lower() in ("", "exit", "quit"):
                break
            _start_note(s)
            try:
                answer = _print_answer(answerer.stream(question, history, k=k, filters=filters))
            except KeyboardInterrupt:
                typer.secho("\n(answer stopped)", err=True, dim=True)
                continue
            except RagError as exc:
                typer.echo(f"Error: {exc}", err=True)
                continue
            if answer is not None:
                history += [
                    {"role": "user", "content": question},
                    {"role": "assistant", "content": answer.answer},
                ]
                if problem := recorder.save(answer):
                    typer.secho(f"Note: {problem}", err=True, fg="yellow")
        if recorder.chat_id is not None and recorder.error is None:
            typer.secho(
                f"Saved as chat {recorder.chat_id}; `rag chat --resume {recorder.chat_id}` "
                "carries on.",
                err=True,
                dim=True,
            )


def _print_resumed(recorder: Any) -> list[dict[str, str]]:
    """Show a saved chat's turns before carrying on; returns its history."""
    from rag.chats import staleness

    chat = recorder.store.get(recorder.chat_id)
    typer.secho(f"Resuming chat {chat.id}: {chat.title}", bold=True)
    for turn in chat.turns:
        answer = turn.to_answer()
        typer.echo(f"\nYou: {turn.question}")
        typer.echo(answer.answer)
        stale = staleness(recorder.settings, answer)
        for c in answer.citations:
            state = stale.get(c.chunk_id)
            note = {"changed": "  (changed since)", "vanished": "  (no longer there)"}
            typer.secho(f"[{c.n}] {c.source}{note.get(state or '', '')}", dim=True)
    return chat.history()


chats_app = typer.Typer(no_args_is_help=True, help="Saved chats: list, export, delete.")
app.add_typer(chats_app, name="chats")


@chats_app.command("list")
def chats_list_cmd(
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list."),
) -> None:
    """The saved chats, the most recently updated first."""
    from rag.chats import ChatStore

    with friendly_errors():
        found = ChatStore.from_settings(settings()).summaries()
    if as_json:
        echo_json([c.to_dict() for c in found])
        return
    if not found:
        typer.echo("No saved chats yet; `rag chat` or the page saves them.")
    for c in found:
        typer.echo(f"{c.id:>5}  {c.updated[:16].replace('T', ' ')}  {c.turns:>3} turns  {c.title}")


@chats_app.command("export")
def chats_export_cmd(
    chat_id: int = typer.Argument(..., metavar="ID", help="The chat's id (`rag chats list`)."),
    fmt: str = typer.Option("md", "--format", help="md (footnoted citations) or json."),
    out: Path | None = typer.Option(None, "--out", help="Write to FILE instead of stdout."),
) -> None:
    """A saved chat as Markdown (citations as footnotes quoting the passages) or JSON."""
    from rag import chat_export

    with friendly_errors():
        text = chat_export.export(settings(), chat_id, fmt)
        if out is None:
            typer.echo(text, nl=False)
            return
        chat_export.write_export(out, text)
    typer.echo(f"Wrote {out}", err=True)


@chats_app.command("delete")
def chats_delete_cmd(
    chat_id: int = typer.Argument(..., metavar="ID", help="The chat's id (`rag chats list`)."),
) -> None:
    """Delete a saved chat."""
    from rag.chats import ChatStore

    with friendly_errors():
        ChatStore.from_settings(settings()).delete(chat_id)
    typer.echo(f"Deleted chat {chat_id}.")


llm_app = typer.Typer(no_args_is_help=True, help="The embedded LLM (llama.cpp) server.")
app.add_typer(llm_app, name="llm")


@llm_app.command("serve")
def llm_serve_cmd() -> None:
    """Run the embedded LLM server in the foreground; other rag commands use it meanwhile."""
    from rag import llm

    with friendly_errors():
        llm.serve(settings())


@llm_app.command("status")
def llm_status_cmd(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Whether the LLM answers, and when the idle embedded server stops itself."""
    from datetime import datetime

    from rag import llm

    with friendly_errors():
        current = llm.status(settings())
    stops_at = current.stops_at.isoformat(timespec="seconds") if current.stops_at else None
    if as_json:
        echo_json(
            {
                "state": current.state,
                "pid": current.pid,
                "stops_at": stops_at,
                "description": current.description,
                "url": current.url,
            }
        )
        return
    line = f"{current.state}: {current.description}" + (f" ({current.url})" if current.url else "")
    if current.stops_at is not None:
        left = max(0, (current.stops_at - datetime.now(current.stops_at.tzinfo)).total_seconds())
        after = f"{left:.0f} s" if left < 90 else f"{left / 60:.0f} min"
        line += f"; stops at {current.stops_at:%H:%M:%S %Z} (in {after}) unless asked before"
    typer.echo(line)


@llm_app.command("stop")
def llm_stop_cmd() -> None:
    """Stop the embedded LLM server the product started (it keeps running after `rag ui`)."""
    from rag import llm

    with friendly_errors():
        stopped = llm.stop(settings())
    typer.echo(
        "Stopped the embedded LLM server." if stopped else "No embedded LLM server was running."
    )


def main() -> None:
    app()


if __name__ == "__main__":
    main()
