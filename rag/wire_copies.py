"""Wire copies: one story syndicated by several outlets counts once in retrieval.

A news folder often holds the same agency story three times (Reuters' text on
three sites, each with its own headline and byline).  Their passages score alike, so
without this step they fill the top k with one piece of evidence.  After ranking,
articles that are copies of one another are found among the candidates; the best
ranked copy stays, the others' chunks leave the ranking, and the kept passages
name them (``Passage.copies``), so the page can say "also in 2 other articles".

Two articles are copies when all of these hold (decided by code, thresholds chosen
on general grounds, not fitted to a labelled set):

- **nearly the same words**: of the shorter article's 5-word shingles (w-shingling,
  Broder 1997: five words in a row are rarely repeated by chance between texts
  written apart) at least ``MIN_OVERLAP`` = 80 % are in the other.  A syndicated copy
  repeats the story verbatim but for its own headline, byline and a trimmed tail;
  two reports of one event written apart share a few quoted sentences at most;
- **about the same length**: the shorter has at least ``MIN_LENGTH_RATIO`` = half
  the other's shingles, so a long piece quoting a whole wire story stays its own
  evidence;
- **the same figures**: the numbers of the two bodies (dates, times and addresses
  left out) are the same set.  An update that changes a figure ("30 dead", then
  "40 dead") is different evidence, which must reach the answer with its date.

Only articles whose candidate chunks already look alike (``SUSPECT_OVERLAP`` of a
chunk's shingles in another's) are compared whole, so most questions cost nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from itertools import combinations
from typing import Any, Protocol, TypeVar

SHINGLE_WORDS = 5
MIN_OVERLAP = 0.8
MIN_LENGTH_RATIO = 0.5
SUSPECT_OVERLAP = 0.5

_WORD = re.compile(r"\w+(?:[.,']\w+)*")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
# Left out of the figures: they differ between copies without the story changing.
_NOT_FIGURES = re.compile(
    r"https?://\S+|\b\d{4}-\d\d-\d\d(?:[T ][\d:.]+Z?)?|\b\d{1,2}:\d\d\b"
    r"|\b\d{1,2}\s+(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.?(?:\s+\d{4})?"
    r"|\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.?\s+\d{1,2}(?:,\s*\d{4})?",
    re.I,
)
_FRONT = re.compile(r"\A---\n.*?\n---\n", re.S)


class _Piece(Protocol):
    source: str
    start: int
    text: str


P = TypeVar("P")


def shingles(text: str, n: int = SHINGLE_WORDS) -> set[tuple[str, ...]]:
    """The runs of ``n`` consecutive words of ``text`` (lower case)."""
    words = [w.lower() for w in _WORD.findall(text)]
    if len(words) < n:
        return {tuple(words)} if words else set()
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def figures(text: str) -> set[str]:
    """The numbers a text states, without its dates, times and addresses."""
    return {n.replace(",", "") for n in _NUMBER.findall(_NOT_FIGURES.sub(" ", text))}


def overlap(a: set[Any], b: set[Any]) -> float:
    """The share of the smaller set found in the larger (the overlap coefficient)."""
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))


def are_copies(a: str, b: str) -> bool:
    """Whether two article texts are copies of one story (see the module's rules)."""
    a, b = _FRONT.sub("", a), _FRONT.sub("", b)
    sa, sb = shingles(a), shingles(b)
    if not sa or not sb:
        return False
    if min(len(sa), len(sb)) < MIN_LENGTH_RATIO * max(len(sa), len(sb)):
        return False
    return overlap(sa, sb) >= MIN_OVERLAP and figures(a) == figures(b)


def article_texts(pieces: Iterable[_Piece]) -> dict[str, str]:
    """Each article's text put back together from its stored chunks (which overlap)."""
    by_source: dict[str, list[_Piece]] = {}
    for p in pieces:
        by_source.setdefault(p.source, []).append(p)
    out: dict[str, str] = {}
    for source, chunks in by_source.items():
        text, end = "", 0
        for c in sorted(chunks, key=lambda c: c.start):
            skip = max(0, end - c.start)
            if skip < len(c.text):
                text += ("\n" if c.start > end else "") + c.text[skip:]
                end = c.start + len(c.text)
        out[source] = text
    return out


def find_copies(
    ranked: Sequence[tuple[str, str]],
    fetch: Callable[[list[str]], Mapping[str, str]],
) -> dict[str, str]:
    """``{copy: kept}`` for the articles among ``ranked`` that copy a better-ranked one.

    ``ranked`` are (source, chunk text) pairs, best first; ``fetch(sources)`` gives the
    whole text of those articles.  Only articles with alike chunks are fetched.
    """
    order: list[str] = []
    chunk_shingles: dict[str, list[set[tuple[str, ...]]]] = {}
    for source, text in ranked:
        if source not in chunk_shingles:
            order.append(source)
        chunk_shingles.setdefault(source, []).append(shingles(text))
    suspects = [
        (a, b)
        for a, b in combinations(order, 2)
        if any(
            overlap(x, y) >= SUSPECT_OVERLAP for x in chunk_shingles[a] for y in chunk_shingles[b]
        )
    ]
    if not suspects:
        return {}
    texts = fetch(sorted({s for pair in suspects for s in pair}))
    copy_of: dict[str, str] = {}
    for a, b in suspects:  # ``a`` ranks above ``b``
        if b in copy_of or a not in texts or b not in texts:
            continue
        if are_copies(texts[a], texts[b]):
            copy_of[b] = copy_of.get(a, a)
    return copy_of


def with_copies(passages: Sequence[P], copy_of: Mapping[str, str]) -> list[P]:
    """The passages, each naming the copies of its article that were left out."""
    if not copy_of:
        return list(passages)
    copies: dict[str, list[str]] = {}
    for copy, kept in copy_of.items():
        copies.setdefault(kept, []).append(copy)
    return [
        replace(p, copies=tuple(sorted(copies[p.source])))  # type: ignore[type-var]
        if getattr(p, "source", None) in copies
        else p
        for p in passages
    ]
