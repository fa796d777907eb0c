"""`rag watch`, `rag add`, `rag feed` and `rag sync`: articles arriving from folders and the web."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from rag.cli_common import echo_json, friendly_errors, progress_bar, settings
from rag.config import Settings


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

    from rag import feeds, indexer
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
        indexer.yield_cpu(s)  # before the Watcher loads the model
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
