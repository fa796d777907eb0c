"""`rag chats`: the saved chats listed, exported and deleted."""

from __future__ import annotations

from pathlib import Path

import typer

from rag.cli_common import echo_json, friendly_errors, settings

chats_app = typer.Typer(no_args_is_help=True, help="Saved chats: list, export, delete.")


@chats_app.command("list")
def chats_list_cmd(
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list."),
) -> None:
    """The saved chats, the most recently updated first."""
    from rag.chat_store import ChatStore

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
    from rag.chat_store import ChatStore

    with friendly_errors():
        ChatStore.from_settings(settings()).delete(chat_id)
    typer.echo(f"Deleted chat {chat_id}.")
