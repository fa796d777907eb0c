"""Bulleted and numbered lists, read with the line that introduces them.

An item on its own ("- Increasing investment in cyber defense to counter hybrid
warfare tactics") does not say what it is an item of; the line above the list does
("Countermeasures that Western governments could consider include:").  Passages are cut
out of an article by length, so a passage often opens in the middle of a list, its
lead-in left at the end of the passage before.  The lead-in is the sentence just above
the list: "... include:", or the last sentence of the paragraph the items go on from.
:func:`lead_in_above` finds it, so the passage can be run back to it
(``rag.retrieval.Retriever.headed``), as a table row is run back to its header.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Sequence

from rag.chunking import sentence_spans
from rag.tables import cells, starts_line
from rag.text import content_words

_MARKER = r"^\s{0,3}(?:[-*•–]|\d{1,3}[.)])\s+"
_ITEM = re.compile(_MARKER + r"\S")

# Farther back than this, a lead-in is left where it is: the passage would grow by a
# page of items the question did not reach.
MAX_RUN_BACK = 1200


def is_item(line: str) -> bool:
    """Whether ``line`` is a list item ("- ...", "* ...", "• ...", "1. ...", "2) ...")."""
    return bool(_ITEM.match(line))


def item_text(line: str) -> str:
    """``line`` without its item marker and surrounding spaces ("Buying pumps")."""
    return re.sub(_MARKER, "", line).strip()


def opens_mid_list(text: str) -> bool:
    """Whether ``text`` starts with a list item (its lead-in, if any, is not in it)."""
    return is_item(text.lstrip("\n").split("\n", 1)[0])


def lead_in_above(text: str, offset: int) -> int | None:
    """The start of the sentence introducing the list whose item starts at ``offset`` of
    ``text``: the last sentence of the line above the list's first item ("Countermeasures
    that Western governments could consider include:", or the paragraph the items go on
    from), a blank line between allowed.  None when the item is not at a line's start,
    nothing but items (or a table) is above it, or the sentence lies more than
    ``MAX_RUN_BACK`` characters back."""
    line_start = starts_line(text, offset)
    if line_start is None or not is_item(text[line_start:]):
        return None
    start, blank = line_start, False
    while start > 0:
        above = text.rfind("\n", 0, start - 1) + 1
        line = text[above : start - 1]
        if is_item(line):
            start, blank = above, False
            continue
        if not line.strip() and not blank:
            start, blank = above, True
            continue
        if not line.strip() or cells(line) is not None:
            return None
        spans = sentence_spans(line)
        at = above + (spans[-1][0] if spans else 0)
        return at if offset - at <= MAX_RUN_BACK else None
    return None


def runs(text: str) -> list[list[tuple[int, int]]]:
    """The lists of ``text``, each the (start, end) offsets of its item lines, in order;
    a blank line between two items goes on with the list."""
    found: list[list[tuple[int, int]]] = []
    run: list[tuple[int, int]] = []
    at = 0
    for line in text.split("\n"):
        if is_item(line):
            run.append((at, at + len(line)))
        elif line.strip() and run:
            found.append(run)
            run = []
        at += len(line) + 1
    if run:
        found.append(run)
    return found


def better_item(words: Collection[str], quotes: Sequence[str], text: str) -> str:
    """The item (without its marker) of a list in ``text`` that holds more of the
    question's ``words`` (stemmed content words) than the items quoted from that list
    do, or "".

    The words counted are the ones the text around the list (its lead-in) does not
    already hold: they tell the items apart.  "What cyber-related countermeasure is
    suggested ...?" answered with "- Expanding targeted sanctions ..." from a list whose
    other item is "- Increasing investment in cyber defense ...": that other item is the
    answer, and the quote is not.  "" too when no quote is an item of a list, or the
    quoted items hold as many of the words as any other."""
    for run, picked in _quoted_runs(quotes, text):
        items = [_flat(text[a:b]) for a, b in run]
        outside = text[: run[0][0]] + " " + text[run[-1][1] :]
        asked = set(words) - content_words(outside)
        held = [asked & content_words(item) for item in items]
        hit = len(set().union(*(held[k] for k in picked)))
        others = [k for k in range(len(items)) if k not in picked]
        best = max(others, key=lambda k: len(held[k]), default=None)
        if best is not None and len(held[best]) > hit:
            a, b = run[best]
            return item_text(" ".join(text[a:b].split()))
    return ""


def lead_ins(quotes: Sequence[str], text: str) -> list[str]:
    """The sentences introducing the lists of ``text`` that ``quotes`` quote an item of
    ("Countermeasures that Western governments could consider include:"): an item says
    what it is, its lead-in what it is an item of."""
    found = []
    for run, _ in _quoted_runs(quotes, text):
        if (at := lead_in_above(text, run[0][0])) is not None:
            found.append(" ".join(text[at : run[0][0]].split()))
    return found


def _quoted_runs(
    quotes: Sequence[str], text: str
) -> Iterator[tuple[list[tuple[int, int]], set[int]]]:
    """Each list of ``text`` (:func:`runs`) an item of which ``quotes`` quote, with the
    indexes of the quoted items.  A quote is of an item when it is the item or one of
    its sentences (markers aside), or a stretch of four words or more of it: "War" is no
    quote of "- Investing in cyber defense against hybrid warfare"."""
    said = [_bare(q) for q in quotes if q.strip()]
    for run in runs(text):
        picked = {k for k, (a, b) in enumerate(run) if _is_quoted(text[a:b], said)}
        if picked:
            yield run, picked


def _is_quoted(line: str, said: Sequence[str]) -> bool:
    whole = _bare(line)
    parts = {whole} | {_bare(line[a:b]) for a, b in sentence_spans(line)}
    return any(
        q in parts or (len(q.split()) >= 4 and re.search(rf"(?<!\w){re.escape(q)}(?!\w)", whole))
        for q in said
    )


def _bare(text: str) -> str:
    """``text`` flattened and lowercased, without its item marker or closing stop."""
    return _flat(item_text(" ".join(text.split()))).rstrip(" .;:,!?")


def _flat(text: str) -> str:
    return " ".join(text.split()).lower()
