"""Follow-up questions -> one standalone query for retrieval.

"What did they demand there?" finds nothing on its own; with the conversation it
becomes "What did the Russian side demand at the Istanbul talks?".  The LLM
rewrites it from a short prompt (the last few turns, answers trimmed, citation
markers removed).  When the LLM cannot be reached, or its rewrite is unusable,
the last user turn is prepended to the question instead, which still gives
retrieval the missing names.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from rag.errors import RagError
from rag.llm import LLM, LLMUnavailable
from rag.markers import strip_markers
from rag.text import content_words

MAX_TURNS = 4  # the last two exchanges
MAX_TURN_CHARS = 300
MAX_TOKENS = 64

_PREFIX = re.compile(
    r"^\s*(?:standalone question|rewritten question|question|query)\s*:\s*", re.IGNORECASE
)


class HistoryError(RagError, ValueError):
    """The chat history is malformed; the message names the fix."""


@dataclass(frozen=True)
class Condensed:
    query: str
    method: str  # "none" (no history), "llm", or "concatenated" (the LLM could not help)
    error: str | None = None  # why the LLM could not be reached, when it could not
    asked: tuple[str, ...] = ()  # what the user wrote: earlier questions, then this one


def prompt(name: str) -> str:
    """A prompt template shipped as package data (rag/prompts/NAME.txt)."""
    return resources.files("rag").joinpath("prompts", f"{name}.txt").read_text(encoding="utf-8")


def validate_history(history: Sequence[Mapping[str, Any]] | None) -> list[dict[str, str]]:
    """``history`` as a list of ``{"role", "content"}`` with user/assistant roles."""
    turns: list[dict[str, str]] = []
    for i, turn in enumerate(history or []):
        if not isinstance(turn, Mapping):
            raise HistoryError(f"History item {i + 1} is not an object; give role and content.")
        role, content = turn.get("role"), turn.get("content")
        if role not in ("user", "assistant") or not isinstance(content, str):
            raise HistoryError(
                f"History item {i + 1} needs role 'user' or 'assistant' and text content."
            )
        turns.append({"role": str(role), "content": content})
    return turns


def render_history(history: Sequence[Mapping[str, str]]) -> str:
    lines = []
    for turn in list(history)[-MAX_TURNS:]:
        text = " ".join(strip_markers(turn["content"]).split())
        if len(text) > MAX_TURN_CHARS:
            text = text[:MAX_TURN_CHARS].rsplit(" ", 1)[0] + " ..."
        who = "User" if turn["role"] == "user" else "Assistant"
        lines.append(f"{who}: {text}")
    return "\n".join(lines)


def concatenate(history: Sequence[Mapping[str, str]], question: str) -> str:
    """The fallback: the last user question, then the follow-up."""
    last_user = next((t["content"] for t in reversed(history) if t["role"] == "user"), "")
    return f"{last_user.strip()} {question.strip()}".strip()


def messages(history: Sequence[Mapping[str, str]], question: str) -> list[dict[str, str]]:
    user = prompt("condense_user").format(history=render_history(history), question=question)
    return [
        {"role": "system", "content": prompt("condense_system").strip()},
        {"role": "user", "content": user.strip()},
    ]


def clean(reply: str, question: str) -> str | None:
    """The model's rewrite as a query, or None when it is not a usable question."""
    lines = [line for line in reply.strip().splitlines() if line.strip()]
    if not lines:
        return None
    text = _PREFIX.sub("", lines[0]).strip().strip("\"'“”‘’`").strip()
    if len(text) < 3 or len(text) > max(300, 3 * len(question)):
        return None
    return text


def condense(
    history: Sequence[Mapping[str, Any]] | None, question: str, llm: LLM | None
) -> Condensed:
    """A standalone query for ``question`` asked after ``history``."""
    turns = validate_history(history)
    question = question.strip()
    if not turns:
        return Condensed(question, "none")
    asked = (*(t["content"] for t in turns if t["role"] == "user"), question)
    if llm is None:
        return Condensed(concatenate(turns, question), "concatenated", asked=asked)
    try:
        reply = llm.chat(messages(turns, question), max_tokens=MAX_TOKENS, temperature=0.0)
    except LLMUnavailable as e:
        return Condensed(concatenate(turns, question), "concatenated", str(e), asked)
    query = clean(reply, question)
    if query is None:
        return Condensed(concatenate(turns, question), "concatenated", asked=asked)
    return Condensed(keep_words(query, question), "llm", asked=asked)


def keep_words(rewrite: str, question: str) -> str:
    """The rewrite, followed by the user's own question when it lost some of its words.

    A small model's rewrite resolves "that article" but may swap what was asked for
    ("countermeasures ... for the West" became "strategies for addressing Putin's
    resistance"); the user's words then still reach retrieval and the answer."""
    if content_words(question) <= content_words(rewrite):
        return rewrite
    return f"{rewrite.rstrip()} ({question.strip()})"
