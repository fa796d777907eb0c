"""HTML for the chat page, built so that article and model text is always shown as text.

Everything that comes from an article or from the model goes through ``html.escape``
before it is placed inside markup; only the tags written here (and in ``ui/cards.py``,
``ui/style.py``) are ever real HTML.  Here: text for HTML and Streamlit markdown, the
answer with its [n] badges and weak sentences underlined, and the whole article with its
passage marked.  Nothing in these modules imports Streamlit, so it is tested as plain functions.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

# Markers the model writes: [3], [1, 2], [1][2]; after checking the answer uses [n][m].
_MARKER = re.compile(r"\[(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\]")
_STRIPPED_MARKER = re.compile(r"[ \t]*\[\d{1,3}(?:\s*[,;]\s*\d{1,3})*\]")


def text(value: object) -> str:
    """Any value as HTML text (quotes escaped too, so it is safe inside attributes)."""
    return html.escape(str(value), quote=True)


_MARKDOWN_ACTIVE = re.compile(r"([\\`*_{}\[\]()#|<>$~])")
# ".", "-", "+" and "!" act only as a line's list, rule or heading marker (or "!["): escaped
# there, and left alone inside text, so a URL or a number shows without backslashes.
_LINE_MARK = re.compile(r"^(\s*\d*)([.+=-])(?=\s|$|[=-])|(!)(?=\\?\[)", re.MULTILINE)


def md(value: object) -> str:
    """Any value as literal text inside Streamlit markdown (alerts, captions)."""
    text = _MARKDOWN_ACTIVE.sub(r"\\\1", str(value))
    return _LINE_MARK.sub(lambda m: f"{m.group(1) or ''}\\{m.group(2) or m.group(3)}", text)


def code(value: object) -> str:
    """Any value as an inline code span inside Streamlit markdown."""
    return "`" + str(value).replace("`", "ˋ") + "`"


def badge(n: int, label: str = "", anchor: str | None = None) -> str:
    """A citation number as a superscript badge, linking to its source card when known."""
    sup = f'<sup class="rag-cite" title="{text(label)}">{n}</sup>'
    if anchor:
        return f'<a class="rag-cite-link" href="#{text(anchor)}">{sup}</a>'
    return sup


def _badges(escaped: str, labels: dict[int, str], anchor_prefix: str | None) -> str:
    def one(m: re.Match[str]) -> str:
        numbers = [int(x) for x in re.findall(r"\d+", m.group(1))]
        return "".join(
            badge(
                n,
                labels.get(n, f"source {n}"),
                f"{anchor_prefix}-{n}" if anchor_prefix and n in labels else None,
            )
            for n in numbers
        )

    return _MARKER.sub(one, escaped)


@dataclass(frozen=True)
class Mark:
    """A stretch of the answer to underline: start/end in the answer text."""

    start: int
    end: int
    kind: str  # "unsupported" | "uncited"


_MARK_TITLES = {
    "unsupported": "The cited passage does not support this sentence.",
    "uncited": "No passage supports this sentence.",
}


def sentence_marks(answer: str, sentences: Sequence[Any]) -> list[Mark]:
    """Where each unsupported sentence of ``answer`` is, found marker-blind.

    ``sentences`` are the library's ``Sentence`` objects: their text has no [n]
    markers, so the answer is searched with its markers taken out and the match
    mapped back onto the answer with its markers.
    """
    kept: list[int] = []  # answer index of each character of the marker-free text
    pos = 0
    for m in _STRIPPED_MARKER.finditer(answer):
        kept.extend(range(pos, m.start()))
        pos = m.end()
    kept.extend(range(pos, len(answer)))
    plain = "".join(answer[i] for i in kept)

    marks: list[Mark] = []
    cursor = 0
    for s in sentences:
        needle = str(getattr(s, "text", "")).strip()
        if not needle:
            continue
        at = plain.find(needle, cursor)
        if at < 0:
            continue
        cursor = at + len(needle)
        if getattr(s, "supported", True):
            continue
        kind = "unsupported" if getattr(s, "citations", None) else "uncited"
        start, end = kept[at], kept[cursor - 1] + 1
        # The markers right after the sentence's last word belong to it.
        while end < len(answer) and (m := _STRIPPED_MARKER.match(answer, end)):
            end = m.end()
        marks.append(Mark(start, end, kind))
    return marks


def answer_html(
    answer: str,
    labels: dict[int, str] | None = None,
    marks: Sequence[Mark] = (),
    anchor_prefix: str | None = None,
    cursor: bool = False,
) -> str:
    """The answer as HTML text for ``st.html``: escaped, [n] as badges, weak sentences underlined.

    No markdown is interpreted: an extractive answer quotes article text, and a link
    or image written in an article must stay text too.  ``labels`` maps a citation
    number to its badge's tooltip (the source).
    """
    labels = labels or {}
    out: list[str] = []
    pos = 0
    for mark in sorted(marks, key=lambda m: m.start):
        if mark.start < pos:
            continue
        out.append(_badges(text(answer[pos : mark.start]), labels, anchor_prefix))
        inner = _badges(text(answer[mark.start : mark.end]), labels, anchor_prefix)
        out.append(
            f'<span class="rag-{mark.kind}" title="{_MARK_TITLES[mark.kind]}">{inner}</span>'
        )
        pos = mark.end
    out.append(_badges(text(answer[pos:]), labels, anchor_prefix))
    caret = '<span class="rag-caret">▌</span>' if cursor else ""
    return f'<div class="rag-answer">{"".join(out).strip()}{caret}</div>'


def checking_html() -> str:
    """The line under a streamed answer while its citations are checked."""
    return '<p class="rag-checking">Checking the answer against the passages…</p>'


def highlighted(body: str, start: int, end: int, css_class: str = "", element_id: str = "") -> str:
    """``body`` as HTML text with ``body[start:end]`` wrapped in a <mark>."""
    start = max(0, min(start, len(body)))
    end = max(start, min(end, len(body)))
    if end <= start:
        return text(body)
    attrs = (f' class="{css_class}"' if css_class else "") + (
        f' id="{element_id}"' if element_id else ""
    )
    return f"{text(body[:start])}<mark{attrs}>{text(body[start:end])}</mark>{text(body[end:])}"


def shorten(value: str, limit: int) -> str:
    """``value`` on one line, cut at a word to at most ``limit`` characters ("…")."""
    value = " ".join(value.split())
    return value if len(value) <= limit else value[: limit - 1].rsplit(" ", 1)[0] + "…"


def article_body(
    body: str, start: int, end: int, quote_start: int | None, quote_end: int | None
) -> str:
    """The whole article as text, the passage tinted and its cited sentence marked."""
    start = max(0, min(start, len(body)))
    end = max(start, min(end, len(body)))
    passage = body[start:end]
    if quote_start is not None and quote_end is not None:
        inner = highlighted(passage, quote_start - start, quote_end - start)
    else:
        inner = text(passage)
    return (
        f'<div class="rag-article">{text(body[:start])}'
        f'<span class="rag-passage" id="rag-cited">{inner}</span>'
        f"{text(body[end:])}</div>"
    )


def dot(colour: str) -> str:
    return f'<span class="rag-dot" style="background:{text(colour)}"></span>'
