"""The [n] markers of answer text: their syntax, read, removed, defused, and written back.

The model writes [3], [1, 2], [1][2], [Passage 2] or [source 3]; an answer's sentences
are split so that a marker written after the full stop still belongs to its sentence.
What the numbers mean, and whether a passage supports its sentence, is
``rag/citations.py``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag.chunking import sentence_spans

__all__ = [
    "AnswerPiece",
    "defuse_markers",
    "parse_markers",
    "split_answer",
    "strip_markers",
    "with_markers",
]

# [3], [1, 2], [1][2], [Passage 2], [source 3]
_MARKER = re.compile(
    r"[ \t]*\[(?:(?:passage|source|article)\s*)?(\d{1,3}(?:\s*[,;]\s*(?:(?:passage|source|article)\s*)?\d{1,3})*)\]",
    re.IGNORECASE,
)
# "The passage in [1] states", "as stated in passage [2]": a marker used as a noun. Its
# pointing words go with it, or the sentence reads "The passage in states".
_POINTING = re.compile(
    r"(?:^|[ \t]+)(?:in|from|see|according to)(?:[ \t]+(?:the[ \t]+)?(?:passages?|articles?|sources?))?"
    r"(?=[ \t]*\[(?:(?:passage|source|article)\s*)?\d)",
    re.IGNORECASE,
)
_LEADING_MARKERS = re.compile(r"^(?:\s*\[[^\]\n]{1,40}\])+")
_END_PUNCT = re.compile(r"[.!?…:;]+[\"'”’)\]]*\s*$")


def parse_markers(text: str) -> list[int]:
    """The citation numbers written in ``text``, in order of appearance, repeats kept."""
    numbers: list[int] = []
    for m in _MARKER.finditer(text):
        numbers.extend(int(x) for x in re.findall(r"\d+", m.group(1)))
    return numbers


def defuse_markers(text: str) -> str:
    """``text`` with its [n] written as (n): an article's own markers quoted in an answer
    must read as the article's words, never as citations."""
    return _MARKER.sub(lambda m: m.group(0).replace("[", "(").replace("]", ")"), text)


def _unmarked(text: str) -> str:
    """``text`` without its markers and the words pointing at them; a sentence that
    opened with them ("According to [3], the talks ...") starts at what it states."""
    out = _MARKER.sub("", _POINTING.sub("", text))
    if out[:1] in (",", ";", ":") and out != text:
        out = out.lstrip(",;: \t")
        out = out[:1].upper() + out[1:]
    return out


def strip_markers(text: str) -> str:
    """``text`` without its [n] markers (and the words pointing at them: "in [1]"),
    spacing before punctuation tidied."""
    out = _unmarked(text)
    return re.sub(r"\s+([.,;:!?])", r"\1", out).strip()


@dataclass
class AnswerPiece:
    """One answer sentence: its raw text and the gap that followed it."""

    raw: str
    gap: str
    numbers: list[int]

    @property
    def claim(self) -> str:
        return strip_markers(self.raw)


def split_answer(text: str) -> list[AnswerPiece]:
    """The answer's sentences; a marker written after the full stop joins its sentence."""
    spans = sentence_spans(text)
    pieces: list[AnswerPiece] = []
    for i, (start, end) in enumerate(spans):
        raw = text[start:end]
        gap = text[end : spans[i + 1][0]] if i + 1 < len(spans) else text[end:]
        lead = _LEADING_MARKERS.match(raw)
        if lead and pieces and parse_markers(lead.group(0)):
            # "Claim. [2] Next claim." -> the [2] belongs to "Claim."
            pieces[-1].raw += pieces[-1].gap + lead.group(0).strip()
            rest = raw[lead.end() :]
            raw = rest.lstrip()
            if not raw:
                pieces[-1].gap = gap
                continue
            pieces[-1].gap = rest[: len(rest) - len(raw)] or " "
        if pieces and not strip_markers(raw) and parse_markers(raw):
            pieces[-1].raw += pieces[-1].gap + raw.strip()
            pieces[-1].gap = gap
            continue
        pieces.append(AnswerPiece(raw=raw, gap=gap, numbers=[]))
    for p in pieces:
        p.numbers = parse_markers(p.raw)
    return pieces


def _marker(numbers_: Sequence[int]) -> str:
    return "".join(f"[{n}]" for n in numbers_)


def with_markers(raw: str, numbers_: Sequence[int]) -> str:
    """``raw`` with its markers replaced by ``numbers_``, placed before the final stop."""
    body = _unmarked(raw).rstrip()
    if not numbers_:
        return re.sub(r"\s+([.,;:!?])", r"\1", body)
    body = re.sub(r"\s+([.,;:!?])", r"\1", body)
    end = _END_PUNCT.search(body)
    if end and end.start() > 0:
        return f"{body[: end.start()]} {_marker(numbers_)}{body[end.start() :]}"
    return f"{body} {_marker(numbers_)}"
