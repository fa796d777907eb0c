"""Where a quote is in a passage: verbatim once normalised, else the sentence holding it.

A small model copying its evidence drops a word, changes a quote mark or re-punctuates;
the quote is matched to the passage sentence (or two) holding nearly all its words, and
that sentence is what is checked and shown.  A verbatim quote is widened to its whole
sentence.
"""

from __future__ import annotations

import re
import unicodedata

from rag.chunking import sentence_spans
from rag.text import STOPWORDS as _STOP
from rag.text import numbers

# How much of a quote's words one passage sentence must hold for the quote to count as
# taken from it (a small model drops or re-punctuates words when copying).
QUOTE_MATCH = 0.85
_WORD = re.compile(r"[^\W_]+(?:['’][A-Za-z]+)?")


def _norm_char(c: str) -> str:
    if c in "‘’‛′`´":
        return "'"
    if c in "“”„″":
        return '"'
    if c in "‐‑‒–—―−":
        return "-"
    folded = unicodedata.normalize("NFKD", c)
    if unicodedata.combining(c):
        return ""  # a decomposed accent: "café" stored as "cafe" + U+0301
    return "".join(x for x in folded if not unicodedata.combining(x)).lower() or c.lower()


def _normalised(text: str) -> tuple[str, list[int]]:
    """``text`` lower-cased, quote marks and dashes unified, whitespace runs as one space;
    with the offset in ``text`` of each character kept."""
    out: list[str] = []
    where: list[int] = []
    space = False
    for i, c in enumerate(text):
        if c.isspace():
            if out and not space:
                out.append(" ")
                where.append(i)
            space = True
            continue
        space = False
        for x in _norm_char(c):
            out.append(x)
            where.append(i)
    return "".join(out), where


def locate(quote: str, passage: str) -> tuple[tuple[int, int] | None, bool]:
    """Where ``quote`` is in ``passage``: (span, exact). Exact means verbatim once spacing,
    case, quote marks and dashes are normalised (the span is then the whole sentence the
    quote is in); otherwise the passage sentence (or two) holding at least QUOTE_MATCH of
    the quote's words, or None."""
    q = _normalised(quote)[0].strip().strip("\"'.… ").strip()
    if len(q) < 3:
        return None, False
    hay, where = _normalised(passage)
    # Verbatim means whole words, and enough of them to say something (not "the").
    found = re.search(rf"(?<!\w){re.escape(q)}(?!\w)", hay) if len(q.split()) >= 3 else None
    i = found.start() if found else -1
    if i >= 0:
        return _sentences_around(passage, where[i], where[i + len(q) - 1] + 1), True
    q_words = [w.lower() for w in _WORD.findall(q) if w.lower() not in _STOP]
    if len(q_words) < 2:  # too little to tell one sentence from another
        return None, False
    spans = sentence_spans(passage) or [(0, len(passage))]
    units = spans + [(spans[j][0], spans[j + 1][1]) for j in range(len(spans) - 1)]
    best: tuple[float, int, tuple[int, int]] | None = None
    for a, b in units:
        words = {w.lower() for w in _WORD.findall(_normalised(passage[a:b])[0])}
        share = sum(w in words for w in q_words) / len(q_words)
        key = (share, -(b - a), (a, b))  # the shorter unit wins a tie
        if best is None or key > best:
            best = key
    if best and best[0] >= QUOTE_MATCH:
        return best[2], False
    return None, False


def _sentences_around(passage: str, start: int, end: int) -> tuple[int, int]:
    """The span of the passage sentences that ``start:end`` touches: a short quote is
    checked, and shown, with the sentence it comes from."""
    spans = sentence_spans(passage) or [(0, len(passage))]
    touched = [(a, b) for a, b in spans if a < end and b > start]
    if not touched:
        return start, end
    return min(start, touched[0][0]), max(end, touched[-1][1])


def sentence_with(wanted: set[str], passage: str, span: tuple[int, int]) -> tuple[int, int]:
    """``span``, or the passage sentence that holds all the claim's numbers when the quoted
    one does not (the model quoted the sentence next to its evidence)."""
    if not wanted or wanted <= numbers(passage[span[0] : span[1]]):
        return span
    for a, b in sentence_spans(passage):
        if wanted <= numbers(passage[a:b]):
            return a, b
    return span
