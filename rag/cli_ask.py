"""`rag search`, `rag ask` and `rag chat`: passages and answers in the terminal."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer

from rag.cli_common import echo_json, fail, friendly_errors, page_label, question_lines, settings
from rag.config import Settings
from rag.errors import RagError

# The options search, ask and chat share, defined once.
K_OPTION = typer.Option(None, "-k", min=1, help="How many passages (default RAG_TOP_K).")
SOURCE_OPTION = typer.Option(None, "--source", help="File name or glob.")
AFTER_OPTION = typer.Option(None, "--after", help="Published on or after YYYY-MM-DD.")
BEFORE_OPTION = typer.Option(None, "--before", help="Published on or before YYYY-MM-DD.")
SINCE_OPTION = typer.Option(
    None, "--since", help="Published in the last 7d, 2w, 3m, 1y, or since YYYY-MM-DD."
)


def _print_passages(passages: list[Any]) -> None:
    if not passages:
        typer.echo("No passage matches the question.")
    for i, p in enumerate(passages, 1):
        when = f", {p.published}" if p.published else ""
        typer.secho(
            f"[{i}] {p.source}{when}{page_label(p)}  chars {p.start}-{p.end}  score {p.score:.4f}",
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


def search_cmd(
    question: str | None = typer.Argument(None, help="The question or keywords."),
    k: int | None = K_OPTION,
    source: str | None = SOURCE_OPTION,
    after: str | None = AFTER_OPTION,
    before: str | None = BEFORE_OPTION,
    since: str | None = SINCE_OPTION,
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
        questions = question_lines(batch) if batch is not None else [question or ""]
        for q in questions:
            passages = retriever.search(q, k=k, filters=filters)
            if as_json or batch is not None:
                echo_json({"query": q, "passages": [p.to_dict() for p in passages]})
            else:
                _print_passages(passages)


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
        typer.secho(
            f"[{c.n}] {c.source}{page_label(c)}  chars {c.start}-{c.end}  ({mark})", bold=True
        )
        quote = " ".join(c.quoted.split())
        typer.echo(f"    \u201c{quote}\u201d")
    return answer


def ask_cmd(
    question: str | None = typer.Argument(None, help="The question."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    batch: Path | None = typer.Option(
        None, "--batch", help="File of questions, one a line (- = stdin); prints JSON lines."
    ),
    k: int | None = K_OPTION,
    source: str | None = SOURCE_OPTION,
    after: str | None = AFTER_OPTION,
    before: str | None = BEFORE_OPTION,
    since: str | None = SINCE_OPTION,
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
            for q in question_lines(batch) if batch is not None else [question or ""]:
                echo_json(answerer.ask(q, k=k, filters=filters, dates=not any_date).to_dict())
            return
        _start_note(s)
        _print_answer(answerer.stream(question or "", k=k, filters=filters, dates=not any_date))


def chat_cmd(
    k: int | None = K_OPTION,
    source: str | None = SOURCE_OPTION,
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
