"""Markdown tables, read a row at a time: each row said with its column headers.

A table row on its own ("| Territorial Control | Supports Russian influence zones |
Seeks full recognition |") does not say whose position each cell is; the header row
above it ("| Aspect | Trump Plan | Putin's Position |") does.  Passages are cut out of
an article by length, and the prompt keeps only the sentences nearest the question, so
a row easily reaches the model (and the verifier) without its header, or run together
with the rows around it.  :func:`spoken` gives such text with every row whose header it
holds written out as one sentence: "Aspect: Territorial Control; Trump Plan: Supports
Russian influence zones; Putin's Position: Seeks full recognition."  The passage itself is
never changed: citations and the reader's view keep the article's own text.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

_RULE_CELL = re.compile(r"^:?-{2,}:?$")


def cells(line: str) -> list[str] | None:
    """The cells of a Markdown table row (``| a | b |``), or None for any other line."""
    line = line.strip()
    if len(line) < 3 or not line.startswith("|") or not line.endswith("|"):
        return None
    parts = [c.strip() for c in line[1:-1].split("|")]
    return parts if len(parts) >= 2 else None


def is_rule(line: str) -> bool:
    """Whether ``line`` is a table's header rule (``|---|:---:|``)."""
    parts = cells(line)
    return parts is not None and all(_RULE_CELL.match(c) for c in parts)


def _lines(text: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for m in re.finditer(r"\n", text):
        spans.append((start, m.start()))
        start = m.end()
    spans.append((start, len(text)))
    return spans


@dataclass(frozen=True)
class Row:
    """A data row of a table, with where its table's header row and rule are."""

    header_at: int  # line start of the header row
    rule_at: int  # line start of the rule under it
    header: list[str]
    cells: list[str]


def headers(text: str) -> dict[int, Row]:
    """The data rows of the tables in ``text`` whose header row is also in ``text``, by
    line start.  A table is a header row, a rule under it, and the rows that follow up
    to the first line that is not a row; a row with more or fewer cells than its header
    still belongs to it (read as Markdown does: a missing cell is empty)."""
    found: dict[int, Row] = {}
    header: tuple[int, int, list[str]] | None = None  # header start, rule start, cells
    previous: tuple[int, list[str]] | None = None
    for a, b in _lines(text):
        line = text[a:b]
        row = cells(line)
        if row is None:
            header = previous = None
            continue
        if is_rule(line):
            # the row just above a rule names the columns
            header = (previous[0], a, previous[1]) if previous else None
            previous = None
            continue
        if header is not None:
            found[a] = Row(header[0], header[1], header[2], row)
        previous = (a, row)
    return found


def said(header: list[str], row: list[str]) -> str:
    """One row as a sentence: each cell after its column's name (a cell past the last
    column on its own)."""
    named = itertools.zip_longest(header, row, fillvalue="")
    parts = [f"{h}: {c}" if h else c for h, c in named if c]
    return "; ".join(parts) + "." if parts else ""


def spoken(text: str, start: int = 0, end: int | None = None) -> str:
    """``text[start:end]`` with every table row whose header ``text`` holds said as a
    sentence (:func:`said`), and those tables' header rows and rules left out; the rest
    is unchanged.  Text without such a row comes back as it is."""
    return spoken_spans(text, [(start, len(text) if end is None else end)])[0]


def spoken_spans(text: str, spans: Sequence[tuple[int, int]]) -> list[str]:
    """:func:`spoken` for each ``(start, end)`` of ``spans``, reading ``text``'s tables
    once."""
    if "|" not in text or not (rows := headers(text)):
        return [text[a:b] for a, b in spans]
    furniture = {r.header_at for r in rows.values()} | {r.rule_at for r in rows.values()}
    lines = _lines(text)
    return [_spoken(text, start, end, rows, furniture, lines) for start, end in spans]


def _spoken(
    text: str,
    start: int,
    end: int,
    rows: dict[int, Row],
    furniture: set[int],
    lines: list[tuple[int, int]],
) -> str:
    piece = text[start:end]
    if "|" not in piece:
        return piece
    out: list[str] = []
    for a, b in lines:
        if b <= start or a >= end:
            continue
        whole = start <= a and b <= end
        if a in rows and whole:
            out.append(said(rows[a].header, rows[a].cells))
        elif a in furniture and whole:
            continue
        else:
            out.append(text[max(a, start) : min(b, end)])
    lead = "\n" if piece.startswith("\n") else ""
    trail = "\n" if piece.endswith("\n") and len(piece) > 1 else ""
    return lead + "\n".join(out).strip("\n") + trail if out else ""


def starts_line(text: str, offset: int) -> int | None:
    """The start of the line of ``text`` holding ``offset``; None when anything but
    whitespace precedes ``offset`` on that line."""
    line_start = text.rfind("\n", 0, offset) + 1
    return None if text[line_start:offset].strip() else line_start


def header_above(text: str, offset: int) -> int | None:
    """The start of the header row of the table whose data row starts at ``offset`` of
    ``text`` (:func:`headers`); None when no such row starts there."""
    line_start = starts_line(text, offset)
    if line_start is None:
        return None
    row = headers(text).get(line_start)
    return row.header_at if row else None
