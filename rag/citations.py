"""Answer text -> checked citations: parse [n], map, drop, verify, attach, flag.

The model's [n] markers (``rag/markers.py``) are only claims.  Each answer sentence is
checked against the passage it cites with the support score of ``rag/verifier.py``
(meaning, words and hard facts: numbers and names).

Numbering: [n] always means ``passages[n - 1]``, the n-th passage of the prompt, so
``Citation.n`` is exactly what the answer text shows.  Numbers that match no
passage are dropped; a sentence cited to a passage that does not support it is
re-cited to one that does when there is one, and otherwise keeps its marker and is
flagged unsupported; an uncited sentence that a passage supports gets that
passage's marker.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rag.markers import split_answer, with_markers
from rag.retrieval import Passage
from rag.several import without_references
from rag.text import content_words
from rag.verifier import Support, Verifier


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

    @property
    def quoted(self) -> str:
        """The sentence of the passage this citation was checked against."""
        return self.text[self.quote_start - self.start : self.quote_end - self.start]

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
class CheckedText:
    """The answer after citation processing."""

    answer: str
    citations: list[Citation]
    sentences: list[Sentence]
    dropped: list[int] = field(default_factory=list)  # numbers that matched no passage
    recited: int = 0  # sentences moved to a passage that supports them
    attached: int = 0  # uncited sentences given a citation post hoc
    # (passage number, its sentence a sentence of the answer was checked against), one
    # pair per sentence and citation, grouped by passage: what the answer rests on
    rested: list[tuple[int, str]] = field(default_factory=list)

    @property
    def citable(self) -> bool:
        """Whether at least one sentence carries a supported citation."""
        return any(s.supported for s in self.sentences)


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


# How much closer (cosine) another passage of the same article must be to a sentence than
# the one it cites for the citation to move there: "clearly the passage that says it" (a
# sentence and its near copy are ~0.95 apart, passages on the same subject ~0.7), not a
# close call between two passages saying much the same.
SAME_ARTICLE_MARGIN = 0.15


def _in_its_own_words(
    cited: Sequence[int],
    good: set[int],
    row: Sequence[Support],
    passages: Sequence[Passage],
    verifier: Verifier,
) -> list[int]:
    """``cited`` with each supported citation moved to another passage of its article whose
    text is clearly closer to the sentence.  Every passage of an article shares its title
    (and the title's words count as support), so a sentence restating the headline would
    otherwise badge whichever passage of the article the model numbered, one that need
    not say it; the reader opens the passage, not the headline."""
    out: list[int] = []
    for n in cited:
        best = n
        if n in good:
            closer = [
                m
                for m in range(1, len(passages) + 1)
                if m not in cited
                and passages[m - 1].source == passages[n - 1].source
                and row[m - 1].dense > row[n - 1].dense + SAME_ARTICLE_MARGIN
                and verifier.supports(row[m - 1])
            ]
            best = max(closer, key=lambda m: row[m - 1].dense, default=n)
        if best not in out:
            out.append(best)
    return out


def is_claim(claim: str) -> bool:
    """Whether a sentence states something checkable (not "Here is what I found:")."""
    return len(content_words(claim)) >= 2 and not claim.rstrip().endswith(":")


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
    # Scored on what each sentence states, not its words pointing at the passages ("Both
    # articles agree that ...", "... in the first passage"), which no passage holds.
    stated = [without_references(c) for c in claims]
    table = (
        verifier.support_many(stated, [(p.text, p.about) for p in passages], question)
        if claims and passages
        else [[] for _ in claims]
    )

    sentences: list[Sentence] = []
    uses: dict[int, list[tuple[bool, Support]]] = {}
    parts: list[str] = []
    recited = attached = 0
    for piece, claim, said, row in zip(pieces, claims, stated, table, strict=True):
        cited = list(dict.fromkeys(n for n in piece.numbers if 1 <= n <= k))
        good = {n for n in cited if verifier.supports(row[n - 1])}
        moved = _in_its_own_words(cited, good, row, passages, verifier)
        if moved != cited:
            recited += 1
            cited, good = moved, {n for n in moved if verifier.supports(row[n - 1])}
        if good and len(good) < len(cited):
            # Backed by some of its citations: the others are not its evidence, and a
            # citation that does not back its sentence is what a reader trusts least.
            cited = [n for n in cited if n in good]
        if (
            not good
            and len(cited) > 1
            and _joined_support(said, cited, passages, verifier, question)
        ):
            # a claim joining facts of the passages it cites: each holding part of it counts
            good = {n for n in cited if row[n - 1].lexical > 0}
        if not good and (cited or attach) and is_claim(claim):
            found = _supporting(said, row, passages, verifier, question)
            if found:  # the right claim cited to the wrong passage, or not cited at all
                recited += bool(cited)
                attached += not cited
                cited, good = found, set(found)
        for n in cited:
            uses.setdefault(n, []).append((n in good, row[n - 1]))
        sentences.append(Sentence(text=claim, citations=cited, supported=bool(good)))
        parts.append(with_markers(piece.raw, cited) + piece.gap)

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
    rested = [
        (n, passages[n - 1].text[use.quote[0] : use.quote[1]]) for n in uses for _, use in uses[n]
    ]
    return CheckedText(
        answer="".join(parts).strip(),
        citations=citations,
        sentences=sentences,
        rested=rested,
        dropped=dropped,
        recited=recited,
        attached=attached,
    )
