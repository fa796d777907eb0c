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

import re

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


def headers(text: str) -> dict[int, tuple[list[str], list[str]]]:
    """For each data row of a table in ``text`` whose header row is also in ``text``:
    the row's line start -> (its header cells, its cells).  Header rows and rules are
    not in it."""
    found: dict[int, tuple[list[str], list[str]]] = {}
    header: list[str] | None = None
    previous: list[str] | None = None
    for a, b in _lines(text):
        line = text[a:b]
        row = cells(line)
        if row is None:
            header = previous = None
            continue
        if is_rule(line):
            header = previous  # the row just above a rule names the columns
            previous = None
            continue
        if header is not None and len(row) == len(header):
            found[a] = (header, row)
        previous = row
    return found


def said(header: list[str], row: list[str]) -> str:
    """One row as a sentence: each cell after its column's name."""
    parts = [f"{h}: {c}" if h else c for h, c in zip(header, row, strict=True) if c]
    return "; ".join(parts) + "." if parts else ""


def spoken(text: str, start: int = 0, end: int | None = None) -> str:
    """``text[start:end]`` with every table row whose header ``text`` holds said as a
    sentence (:func:`said`), and those tables' header rows and rules left out; the rest
    is unchanged.  Text without such a row comes back as it is."""
    end = len(text) if end is None else end
    piece = text[start:end]
    if "|" not in piece:
        return piece
    rows = headers(text)
    if not rows:
        return piece
    furniture = _furniture(text, rows)
    out: list[str] = []
    for a, b in _lines(text):
        if b <= start or a >= end:
            continue
        if a in rows and start <= a and b <= end:
            out.append(said(*rows[a]))
        elif a in furniture and start <= a and b <= end:
            continue
        else:
            out.append(text[max(a, start) : min(b, end)])
    lead = "\n" if piece.startswith("\n") else ""
    trail = "\n" if piece.endswith("\n") and len(piece) > 1 else ""
    return lead + "\n".join(out).strip("\n") + trail if out else ""


def _furniture(text: str, rows: dict[int, tuple[list[str], list[str]]]) -> set[int]:
    """The line starts of the header rows and rules of the tables that ``rows`` reads."""
    lines = _lines(text)
    out: set[int] = set()
    for i in range(1, len(lines) - 1):
        (h, _), (a, b), (r, _) = lines[i - 1], lines[i], lines[i + 1]
        if r in rows and is_rule(text[a:b]):
            out |= {h, a}
    return out


def header_above(text: str, offset: int) -> int | None:
    """The start of the header row of the table that the line at ``offset`` of ``text``
    continues, when every line between them is a row of that table; else None."""
    end = text.find("\n", offset)
    here = text[offset : len(text) if end < 0 else end]
    if cells(here) is None or is_rule(here):
        return None
    lines = [(a, b) for a, b in _lines(text[:offset]) if b > a]
    for i in range(len(lines) - 1, 0, -1):
        line = text[lines[i][0] : lines[i][1]]
        if cells(line) is None:
            return None
        if is_rule(line):
            above = lines[i - 1]
            return above[0] if cells(text[above[0] : above[1]]) else None
    return None
