"""A saved chat as a document to keep: Markdown with footnoted citations, or JSON.

Markdown is for people: each answer with its ``[n]`` turned into footnotes, and each
footnote quoting the sentence the citation was checked against, with the file, the
outlet and the date, as they were when the question was answered.  When the article
has changed or gone since (``rag.chats.staleness``), the footnote says so.  JSON
holds everything stored, for scripts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from rag.chat_store import Chat, ChatsError, ChatStore
from rag.chats import chat_staleness
from rag.citations import Citation
from rag.config import Settings

__all__ = ["FORMATS", "export", "export_json", "export_markdown", "exports", "write_export"]


_MARKERS = re.compile(r"\[(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\]")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _footnoted(text: str, position: int, cited: set[int]) -> str:
    """``text`` with each cited [n] as the footnote reference [^position-n]."""

    def one(m: re.Match[str]) -> str:
        numbers = [int(x) for x in re.findall(r"\d+", m.group(1))]
        return "".join(f"[^{position}-{n}]" if n in cited else f"[{n}]" for n in numbers)

    return _MARKERS.sub(one, text)


def _quote(c: Citation) -> str:
    """The checked sentence of the citation, as it read when answered."""
    return _one_line(c.quoted) or _one_line(c.text)


def export_markdown(chat: Chat, stale: Mapping[int, Mapping[str, str]] | None = None) -> str:
    """The chat as Markdown: each answer with its citations as footnotes quoting the checked
    passage, with file, outlet and date.  ``stale`` maps a turn's position to its
    ``staleness`` result, to say which articles changed since."""
    stale = stale or {}
    turns = len(chat.turns)
    lines = [
        f"# {_one_line(chat.title)}",
        "",
        f"*Saved chat {chat.id}, {turns} question{'s' if turns != 1 else ''}, "
        f"started {chat.created}, last answer {chat.updated}.*",
        "",
    ]
    for turn in chat.turns:
        answer = turn.to_answer()
        changed = stale.get(turn.position, {})
        lines += [f"## {turn.position}. {_one_line(turn.question)}", ""]
        cited = {c.n: c for c in answer.citations}

        lines += [_footnoted(answer.answer.strip(), turn.position, set(cited)), ""]
        if answer.refused and answer.reason:
            lines += [f"*{_one_line(answer.reason)}*", ""]
        for note in answer.notices:
            lines += [f"> Note: {_one_line(note)}", ""]
        for n in sorted(cited):
            c = cited[n]
            info = turn.sources.get(c.source, {})
            where = [f"`{c.source}`"]
            for extra in (info.get("outlet"), info.get("published")):
                if extra:
                    where.append(str(extra))
            page = getattr(c, "page", None)  # PDFs (issue 15) know the quote's page
            if page:
                where.append(f"page {page}")
            where.append(f"characters {c.quote_start}–{c.quote_end}")
            where.append("supported" if c.supported else "not clearly supported")
            title = c.title or info.get("title") or ""
            head = f"“{_quote(c)}”"
            tail = f"— {_one_line(title)}, " if title else "— "
            state = changed.get(c.chunk_id)
            if state == "changed":
                tail_note = " (the article has changed since this answer)"
            elif state == "vanished":
                tail_note = " (the article is no longer in the folder)"
            else:
                tail_note = ""
            lines.append(f"[^{turn.position}-{n}]: {head} {tail}{', '.join(where)}{tail_note}")
        if cited:
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def export_json(chat: Chat, stale: Mapping[int, Mapping[str, str]] | None = None) -> str:
    """The chat with everything stored, as JSON; ``stale`` as for ``export_markdown``."""
    data = chat.to_dict()
    for turn in data["turns"]:
        turn["stale"] = dict((stale or {}).get(turn["position"], {}))
    return json.dumps(data, ensure_ascii=False, indent=2)


# --- exports the CLI and the page hand out -------------------------------------------------

FORMATS = ("md", "json")


def export(settings: Settings, chat_id: int, fmt: str) -> str:
    """Saved chat ``chat_id`` as ``fmt`` (md or json), each turn checked against the
    articles as they are now."""
    return exports(settings, chat_id, (fmt,))[fmt]


def exports(settings: Settings, chat_id: int, formats: Sequence[str]) -> dict[str, str]:
    """Saved chat ``chat_id`` in each of ``formats``: the chat read, and checked against
    the articles, once for all of them (the page offers every format on every rerun)."""
    for fmt in formats:
        if fmt not in FORMATS:
            raise ChatsError(f"The export format {fmt!r} is not known; use md or json.")
    chat = ChatStore.from_settings(settings).get(chat_id)
    stale = chat_staleness(settings, chat)
    return {
        fmt: export_markdown(chat, stale) if fmt == "md" else export_json(chat, stale)
        for fmt in formats
    }


def write_export(path: Path, text: str) -> None:
    """Write an export to ``path`` whole or not at all (a temp file renamed over it)."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ChatsError(
            f"{path} cannot be written ({exc.strerror}); choose another --out file."
        ) from None
