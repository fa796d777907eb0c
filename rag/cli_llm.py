"""`rag llm`: the embedded LLM server served, asked about and stopped."""

from __future__ import annotations

import typer

from rag.cli_common import echo_json, friendly_errors, settings
from rag.config import Settings

llm_app = typer.Typer(no_args_is_help=True, help="The embedded LLM (llama.cpp) server.")


@llm_app.command("serve")
def llm_serve_cmd() -> None:
    """Run the embedded LLM server in the foreground; other rag commands use it meanwhile."""
    with friendly_errors():
        serve(settings())


def serve(s: Settings) -> None:
    """Serve until Ctrl+C, saying what happens: the model file's preparation on stderr,
    then the model loading and the address it is served at."""
    from rag import llm_supervisor

    llm_supervisor.serve(
        s,
        progress=print_progress,
        on_loading=lambda model, path: typer.echo(f"Loading {model.model_id} from {path} ..."),
        on_ready=lambda server: typer.echo(
            f"Serving {server.model_id} at {server.url} (OpenAI-compatible); "
            "rag commands on this machine use it. Press Ctrl+C to stop."
        ),
    )


def print_progress(done: int, total: int) -> None:
    """The model file being assembled, as a percentage rewritten in place on stderr."""
    percent = 100 * done // max(total, 1)
    typer.echo(f"\rPreparing the model file: {percent}%", nl=done >= total, err=True)


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
    from rag import llm_supervisor

    with friendly_errors():
        stopped = llm_supervisor.stop(settings())
    typer.echo(
        "Stopped the embedded LLM server." if stopped else "No embedded LLM server was running."
    )
