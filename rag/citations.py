"""Answer text -> checked citations: parse [n], map, drop, verify, attach, flag.

The model's [n] markers are only claims.  Each answer sentence is checked against
the passage it cites with a support score (no entailment cross-encoder ships in a
package here), built from what is on disk:

- meaning: the embedding similarity of the sentence to the passage's best sentence;
- words: the share of the sentence's content words (Snowball-stemmed) found in the
  passage, counting only words the question did not already say (restating the
  question asserts nothing), minus a penalty per word the passage lacks;
- hard facts: every number and every name in the sentence must appear in the
  passage (or its title); a claim with a number the passage lacks is unsupported
  whatever the rest says.

The weights and threshold were chosen on SQuAD 2.0 sentence/paragraph pairs, never
on the product's labelled set; ``eval/verifier_calibration.py`` regenerates them
and the held-out precision and recall in ``eval/reports/verifier.md``.

Numbering: [n] always means ``passages[n - 1]``, the n-th passage of the prompt, so
``Citation.n`` is exactly what the answer text shows.  Numbers that match no
passage are dropped; a sentence cited to a passage that does not support it is
re-cited to one that does when there is one, and otherwise keeps its marker and is
flagged unsupported; an uncited sentence that a passage supports gets that
passage's marker.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from rag.chunking import sentence_spans
from rag.embeddings import Embedder
from rag.retrieval import Passage
from rag.text import (
    all_words,
    content_words,
    held_name,
    names,
    numbers,
)

# Chosen on SQuAD 2.0 pairs, never on eval/seeds.jsonl: eval/verifier_calibration.py
# picks them and writes eval/reports/verifier.md (precision and recall held out).
SUPPORT_THRESHOLD = 0.75
DENSE_WEIGHT = 0.5
NAMES_REQUIRED = True
PAIRS = False  # adjacent-sentence pairs as units: no better there, twice the embeddings
QUESTION_AWARE = True
WORD_PENALTY = 0.1

# [3], [1, 2], [1][2], [Passage 2], [source 3]
_MARKER = re.compile(
    r"[ \t]*\[(?:(?:passage|source|article)\s*)?(\d{1,3}(?:\s*[,;]\s*(?:(?:passage|source|article)\s*)?\d{1,3})*)\]",
    re.IGNORECASE,
)
_LEADING_MARKERS = re.compile(r"^(?:\s*\[[^\]\n]{1,40}\])+")
_END_PUNCT = re.compile(r"[.!?…:;]+[\"'”’)\]]*\s*$")


@dataclass(frozen=True)
class Citation:
    """One [n] in the final answer, after checking."""

    n: int  # the number shown in the answer text = position (1-based) in Answer.passages
    source: str
    chunk_id: str
    start: int  # offsets of the cited passage in the file's text
    end: int
    text: str
    title: str
    supported: bool  # every sentence citing it is supported by this passage
    score: float  # support score (the lowest over the sentences citing it)
    quote_start: int  # offsets in the FILE of the best-supporting sentence of the passage
    quote_end: int
    page: int | None = None  # PDFs: the 1-based page of the quoted sentence; else None
    published: str | None = None  # the article's, as its passage carries them
    author: str | None = None
    outlet: str | None = None

    @classmethod
    def of(
        cls, n: int, p: Passage, supported: bool, score: float, quote: tuple[int, int]
    ) -> Citation:
        """The citation [n] of passage ``p``, ``quote`` being offsets in the passage's text."""
        return cls(
            n=n,
            source=p.source,
            chunk_id=p.chunk_id,
            start=p.start,
            end=p.end,
            text=p.text,
            title=p.title,
            supported=supported,
            score=score,
            quote_start=p.start + quote[0],
            quote_end=p.start + quote[1],
            page=p.page_at(p.start + quote[0]),
            published=p.published,
            author=p.author,
            outlet=p.outlet,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "source": self.source,
            "chunk_id": self.chunk_id,
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "title": self.title,
            "supported": self.supported,
            "score": round(self.score, 4),
            "quote_start": self.quote_start,
            "quote_end": self.quote_end,
            "page": self.page,
            "published": self.published,
            "author": self.author,
            "outlet": self.outlet,
        }


@dataclass(frozen=True)
class Sentence:
    """One sentence of the answer and the citations it shows."""

    text: str  # without its [n] markers
    citations: list[int]
    supported: bool  # at least one of its citations supports it

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "citations": self.citations, "supported": self.supported}


@dataclass(frozen=True)
class Support:
    """How well one passage supports one claim, and why."""

    score: float
    quote: tuple[int, int]  # offsets in the passage's text of its best-matching sentence(s)
    dense: float = 0.0  # cosine of the claim and the passage's best sentence (or pair)
    lexical: float = 0.0  # share of the claim's content words found in the passage
    lexical_new: float = 0.0  # the same over the words the question did not already say
    missing_numbers: tuple[str, ...] = ()
    missing_names: tuple[str, ...] = ()
    missing_words: tuple[str, ...] = ()  # content words of the claim absent from the passage
    missing_new: tuple[str, ...] = ()  # those of them the question did not already say

    @property
    def missing(self) -> tuple[str, ...]:
        return self.missing_numbers + self.missing_names


@dataclass(frozen=True)
class ScoreRule:
    """How the features make a score; chosen on SQuAD 2.0 (eval/verifier_calibration.py)."""

    dense_weight: float = DENSE_WEIGHT
    names_required: bool = NAMES_REQUIRED
    pairs: bool = PAIRS
    question_aware: bool = QUESTION_AWARE
    word_penalty: float = WORD_PENALTY

    def score(self, s: Support) -> float:
        """The support score of the features in ``s`` (its own ``score`` is ignored)."""
        if self.question_aware:
            lexical, missing = s.lexical_new, len(s.missing_new)
        else:
            lexical, missing = s.lexical, len(s.missing_words)
        value = self.dense_weight * max(s.dense, 0.0) + (1 - self.dense_weight) * lexical
        value -= self.word_penalty * missing
        if self.hard_fail(s):
            value = min(value, 0.5 * value)  # stays informative for ranking, fails the check
        return value

    def hard_fail(self, s: Support) -> bool:
        """A number (or, when required, a name) of the claim is not in the passage."""
        return bool(s.missing_numbers or (s.missing_names and self.names_required))


@dataclass(frozen=True)
class CheckedText:
    """The answer after citation processing."""

    answer: str
    citations: list[Citation]
    sentences: list[Sentence]
    dropped: list[int] = field(default_factory=list)  # numbers that matched no passage
    recited: int = 0  # sentences moved to a passage that supports them
    attached: int = 0  # uncited sentences given a citation post hoc

    @property
    def citable(self) -> bool:
        """Whether at least one sentence carries a supported citation."""
        return any(s.supported for s in self.sentences)


# --- parsing -------------------------------------------------------------------------


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


def strip_markers(text: str) -> str:
    """``text`` without its [n] markers, spacing before punctuation tidied."""
    out = _MARKER.sub("", text)
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


# --- the support score -----------------------------------------------------------------


class Verifier:
    """Scores how well passages support answer sentences; embeddings are cached by text."""

    def __init__(
        self,
        embedder: Embedder,
        threshold: float = SUPPORT_THRESHOLD,
        rule: ScoreRule | None = None,
    ) -> None:
        self.embedder = embedder
        self.threshold = threshold
        self.rule = rule or ScoreRule()
        self.cache: dict[str, np.ndarray] = {}  # text -> its embedding
        self._lock = threading.Lock()

    def vectors(self, texts: Sequence[str]) -> np.ndarray:
        """Normalised embeddings of ``texts`` (one row each), cached by text."""
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self.cache))
            if missing:
                if len(self.cache) + len(missing) > 20_000:
                    self.cache.clear()
                for t, v in zip(missing, self.embedder.embed(missing), strict=True):
                    self.cache[t] = np.asarray(v, dtype=np.float32)
            if not texts:
                return np.zeros((0, 1), dtype=np.float32)
            return np.stack([self.cache[t] for t in texts])

    def support(self, claim: str, text: str, title: str = "", question: str = "") -> Support:
        """How well ``text`` (a passage, titled ``title``) supports ``claim``."""
        return self.support_many([claim], [(text, title)], question)[0][0]

    def support_many(
        self, claims: Sequence[str], passages: Sequence[tuple[str, str]], question: str = ""
    ) -> list[list[Support]]:
        """``[i][j]``: the support of ``passages[j]`` (text, title) for ``claims[i]``.

        Words the claim shares with ``question`` are restated, not asserted: the
        word-overlap features also get a variant over the claim's other words.
        """
        units = [passage_units(text, self.rule.pairs) for text, _ in passages]
        flat = [
            text[a:b] for (text, _), spans in zip(passages, units, strict=True) for a, b in spans
        ]
        matrix = self.vectors(list(claims) + flat)
        sims = matrix[: len(claims)] @ matrix[len(claims) :].T
        facts = [
            (
                content_words(f"{text} {title}"),
                numbers(f"{text} {title}"),
                all_words(f"{text} {title}"),
            )
            for text, title in passages
        ]
        asked = content_words(question)
        result: list[list[Support]] = []
        for i, claim in enumerate(claims):
            words, nums, nms = content_words(claim), numbers(claim), names(claim)
            new = words - asked if len(words - asked) >= 2 else words
            row: list[Support] = []
            offset = 0
            for spans, (p_words, p_nums, p_all) in zip(units, facts, strict=True):
                block = sims[i, offset : offset + len(spans)]
                offset += len(spans)
                best = int(np.argmax(block))
                features = Support(
                    score=0.0,
                    quote=spans[best],
                    dense=float(block[best]),
                    lexical=len(words & p_words) / len(words) if words else 0.0,
                    lexical_new=len(new & p_words) / len(new) if new else 0.0,
                    missing_numbers=tuple(n for n in sorted(nums) if n not in p_nums),
                    missing_names=tuple(n for n in sorted(nms) if not held_name(n, p_all)),
                    missing_words=tuple(sorted(words - p_words)),
                    missing_new=tuple(sorted(new - p_words)),
                )
                row.append(replace(features, score=self.rule.score(features)))
            result.append(row)
        return result

    def supports(self, s: Support) -> bool:
        """Whether ``s`` is enough to show the citation as supported."""
        return not self.rule.hard_fail(s) and s.score >= self.threshold


def passage_units(text: str, pairs: bool = True) -> list[tuple[int, int]]:
    """A passage's sentences (and pairs of adjacent sentences), as spans of its text."""
    spans = sentence_spans(text) or [(0, len(text))]
    if not pairs:
        return spans
    return spans + [(spans[i][0], spans[i + 1][1]) for i in range(len(spans) - 1)]


# --- the whole answer -------------------------------------------------------------------


def _joined_support(
    claim: str,
    numbers_: Sequence[int],
    passages: Sequence[Passage],
    verifier: Verifier,
    question: str,
) -> bool:
    joined = " ".join(passages[n - 1].text for n in numbers_)
    title = passages[numbers_[0] - 1].about
    return verifier.supports(verifier.support(claim, joined, title, question))


def _supporting(
    claim: str,
    row: Sequence[Support],
    passages: Sequence[Passage],
    verifier: Verifier,
    question: str,
) -> list[int]:
    """The passage that supports ``claim``, else the two that do together, else []."""
    ranked = sorted(range(len(row)), key=lambda j: -row[j].score)
    if ranked and verifier.supports(row[ranked[0]]):
        return [ranked[0] + 1]
    if len(ranked) >= 2:
        pair = sorted(j + 1 for j in ranked[:2])
        if all(row[n - 1].lexical_new > 0 for n in pair) and _joined_support(
            claim, pair, passages, verifier, question
        ):
            return pair
    return []


def is_claim(claim: str) -> bool:
    """Whether a sentence states something checkable (not "Here is what I found:")."""
    return len(content_words(claim)) >= 2 and not claim.rstrip().endswith(":")


def _marker(numbers_: Sequence[int]) -> str:
    return "".join(f"[{n}]" for n in numbers_)


def _with_markers(raw: str, numbers_: Sequence[int]) -> str:
    """``raw`` with its markers replaced by ``numbers_``, placed before the final stop."""
    body = _MARKER.sub("", raw).rstrip()
    if not numbers_:
        return re.sub(r"\s+([.,;:!?])", r"\1", body)
    body = re.sub(r"\s+([.,;:!?])", r"\1", body)
    end = _END_PUNCT.search(body)
    if end and end.start() > 0:
        return f"{body[: end.start()]} {_marker(numbers_)}{body[end.start() :]}"
    return f"{body} {_marker(numbers_)}"


def check(
    answer: str,
    passages: Sequence[Passage],
    verifier: Verifier,
    attach: bool = True,
    question: str = "",
) -> CheckedText:
    """Map, drop, verify, re-cite, attach and flag the citations of ``answer``."""
    pieces = split_answer(answer)
    k = len(passages)
    dropped = sorted({n for p in pieces for n in p.numbers if not 1 <= n <= k})
    claims = [p.claim for p in pieces]
    table = (
        verifier.support_many(claims, [(p.text, p.about) for p in passages], question)
        if claims and passages
        else [[] for _ in claims]
    )

    sentences: list[Sentence] = []
    uses: dict[int, list[tuple[bool, Support]]] = {}
    parts: list[str] = []
    recited = attached = 0
    for piece, claim, row in zip(pieces, claims, table, strict=True):
        cited = list(dict.fromkeys(n for n in piece.numbers if 1 <= n <= k))
        good = {n for n in cited if verifier.supports(row[n - 1])}
        if (
            not good
            and len(cited) > 1
            and _joined_support(claim, cited, passages, verifier, question)
        ):
            # a claim joining facts of the passages it cites: each holding part of it counts
            good = {n for n in cited if row[n - 1].lexical > 0}
        if not good and (cited or attach) and is_claim(claim):
            found = _supporting(claim, row, passages, verifier, question)
            if found:  # the right claim cited to the wrong passage, or not cited at all
                recited += bool(cited)
                attached += not cited
                cited, good = found, set(found)
        for n in cited:
            uses.setdefault(n, []).append((n in good, row[n - 1]))
        sentences.append(Sentence(text=claim, citations=cited, supported=bool(good)))
        parts.append(_with_markers(piece.raw, cited) + piece.gap)

    citations = []
    for n in sorted(uses):
        p = passages[n - 1]
        best_use = max((s for _, s in uses[n]), key=lambda s: s.score)
        citations.append(
            Citation.of(
                n,
                p,
                supported=all(ok for ok, _ in uses[n]),
                score=min(s.score for _, s in uses[n]),
                quote=best_use.quote,
            )
        )
    return CheckedText(
        answer="".join(parts).strip(),
        citations=citations,
        sentences=sentences,
        dropped=dropped,
        recited=recited,
        attached=attached,
    )
