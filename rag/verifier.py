"""How well a passage supports a claim: the support score and the ``Verifier`` that
computes it (no entailment cross-encoder ships in a package here), built from what is on
disk:

- meaning: the embedding similarity of the sentence to the passage's best sentence;
- meaning, as an answer: the same similarity for the question followed by the sentence,
  so a short answer ("CNN", "the Carnegie Center") is read as what it answers;
- words: the share of the sentence's content words (Snowball-stemmed) found in the
  passage, counting only words the question did not already say (restating the
  question asserts nothing), minus a penalty per word the passage lacks;
- hard facts: every number and every name in the sentence must appear in the
  passage (or its title); a claim with a number the passage lacks is unsupported
  whatever the rest says.

The weights and threshold were chosen on SQuAD 2.0 sentence/paragraph pairs, never
on the product's labelled set; ``eval/verifier_calibration.py`` regenerates them
and the held-out precision and recall in ``eval/reports/verifier.md``.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from rag.chunking import sentence_spans
from rag.embeddings import Embedder
from rag.tables import spoken_spans
from rag.text import (
    all_words,
    content_words,
    held_name,
    names,
    numbers,
)

__all__ = ["ScoreRule", "Support", "Verifier", "clause_spans", "passage_units"]

# Chosen on SQuAD 2.0 pairs, never on eval/seeds.jsonl: eval/verifier_calibration.py
# picks them and writes eval/reports/verifier.md (precision and recall held out).
SUPPORT_THRESHOLD = 0.84
DENSE_WEIGHT = 0.3
NAMES_REQUIRED = True
# Adjacent-sentence pairs as units: within noise there (ahead on the calibration half
# by 0.0006 F0.5, behind held out: 0.987 against 0.988), at twice the embeddings.
PAIRS = False
CLAUSES = False  # a sentence's clauses also read as units (its similarity: the best of them)
QUESTION_AWARE = True
WORD_PENALTY = 0.05
MIN_NEW = 1  # the words a claim adds to the question, at least this many to count alone
ASKED_DENSE = True  # the similarity of "question + claim" also counts (the higher one)


@dataclass(frozen=True)
class Support:
    """How well one passage supports one claim, and why."""

    score: float
    quote: tuple[int, int]  # offsets in the passage's text of its best-matching sentence(s)
    dense: float = 0.0  # cosine of the claim and the passage's best sentence (or pair)
    lexical: float = 0.0  # share of the claim's content words found in the passage
    lexical_new: float = 0.0  # the same over the words the question did not already say
    dense_asked: float = 0.0  # cosine of "question claim" and the passage's best unit
    new_count: int = 0  # how many content words the claim adds to the question
    missing_numbers: tuple[str, ...] = ()
    missing_names: tuple[str, ...] = ()
    missing_words: tuple[str, ...] = ()  # content words of the claim absent from the passage
    missing_new: tuple[str, ...] = ()  # those of them the question did not already say
    # (``lexical_new`` and ``missing_new`` fall back to all the claim's words when it
    # adds none to the question)

    @property
    def missing(self) -> tuple[str, ...]:
        return self.missing_numbers + self.missing_names


@dataclass(frozen=True)
class ScoreRule:
    """How the features make a score; chosen on SQuAD 2.0 (eval/verifier_calibration.py)."""

    dense_weight: float = DENSE_WEIGHT
    names_required: bool = NAMES_REQUIRED
    pairs: bool = PAIRS
    clauses: bool = CLAUSES
    question_aware: bool = QUESTION_AWARE
    word_penalty: float = WORD_PENALTY
    min_new: int = MIN_NEW
    asked_dense: bool = ASKED_DENSE

    def score(self, s: Support) -> float:
        """The support score of the features in ``s`` (its own ``score`` is ignored)."""
        if self.question_aware and s.new_count >= self.min_new:
            lexical, missing = s.lexical_new, len(s.missing_new)
        else:
            lexical, missing = s.lexical, len(s.missing_words)
        dense = max(s.dense, s.dense_asked) if self.asked_dense else s.dense
        value = self.dense_weight * max(dense, 0.0) + (1 - self.dense_weight) * lexical
        value -= self.word_penalty * missing
        if self.hard_fail(s):
            value = min(value, 0.5 * value)  # stays informative for ranking, fails the check
        return value

    def hard_fail(self, s: Support) -> bool:
        """A number (or, when required, a name) of the claim is not in the passage."""
        return bool(s.missing_numbers or (s.missing_names and self.names_required))


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
        # A table row is embedded as a sentence naming its columns (rag.tables); with
        # ``clauses``, a sentence's clauses are embedded too, each read for its sentence.
        flat: list[str] = []
        owners: list[np.ndarray] = []  # per passage: the unit each embedded text reads for
        for (text, _), spans in zip(passages, units, strict=True):
            owner: list[int] = []
            for u, ((a, b), said) in enumerate(zip(spans, spoken_spans(text, spans), strict=True)):
                flat.append(said or text[a:b])
                owner.append(u)
                if self.rule.clauses and "|" not in text[a:b]:  # not a table row
                    for c, d in clause_spans(text, (a, b)):
                        flat.append(text[c:d])
                        owner.append(u)
            owners.append(np.asarray(owner, dtype=np.intp))
        # Each claim also read as the answer to the question ("CNN" alone means little).
        asked_claims = [f"{question.strip()} {c}" if question.strip() else c for c in claims]
        k = len(claims)
        matrix = self.vectors(list(claims) + asked_claims + flat)
        sims = matrix[:k] @ matrix[2 * k :].T
        sims_asked = matrix[k : 2 * k] @ matrix[2 * k :].T
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
            added = words - asked
            new = added or words
            row: list[Support] = []
            offset = 0
            for spans, owner, (p_words, p_nums, p_all) in zip(units, owners, facts, strict=True):
                block = _per_unit(sims[i, offset : offset + len(owner)], owner, len(spans))
                block_asked = _per_unit(
                    sims_asked[i, offset : offset + len(owner)], owner, len(spans)
                )
                offset += len(owner)
                # The quote: the unit closest to the claim, or to it read as the answer.
                ranked = np.maximum(block, block_asked) if self.rule.asked_dense else block
                best = int(np.argmax(ranked))
                features = Support(
                    score=0.0,
                    quote=spans[best],
                    dense=float(block.max()),
                    lexical=len(words & p_words) / len(words) if words else 0.0,
                    lexical_new=len(new & p_words) / len(new) if new else 0.0,
                    dense_asked=float(block_asked.max()),
                    new_count=len(added),
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


def _per_unit(sims: np.ndarray, owner: np.ndarray, n: int) -> np.ndarray:
    """The best similarity of each of ``n`` units over the texts read for it."""
    best = np.full(n, -1.0, dtype=np.float32)
    np.maximum.at(best, owner, sims)
    return best


# Where a sentence divides into clauses: a comma, semicolon or colon and the space after
# it, or a dash between spaces ("1,000" and "U.S.-led" stay whole).
_CLAUSE_BREAK = re.compile(r"[,;:](?=\s)|\s[—–-](?=\s)")
MIN_CLAUSE_WORDS = 3


def clause_spans(text: str, span: tuple[int, int]) -> list[tuple[int, int]]:
    """The clauses of the sentence ``text[span[0]:span[1]]`` of at least
    ``MIN_CLAUSE_WORDS`` words each, as spans of ``text``; [] for a sentence that does not
    divide into two or more.  A long sentence's similarity to a claim is diluted by its
    other clauses ("With the war dragging into its third year, and with Ukraine ...,
    the risks ... are growing." against "The conflict is in its third year")."""
    a, b = span
    cuts = [a] + [m.end() for m in _CLAUSE_BREAK.finditer(text, a, b)] + [b]
    out = []
    for c, d in itertools.pairwise(cuts):
        sub = text[c:d].strip(" \t\n,;:—–-")
        if len(sub.split()) >= MIN_CLAUSE_WORDS:
            start = text.index(sub, c)
            out.append((start, start + len(sub)))
    return out if len(out) >= 2 else []


def passage_units(text: str, pairs: bool = True) -> list[tuple[int, int]]:
    """A passage's sentences (and pairs of adjacent sentences), as spans of its text."""
    spans = sentence_spans(text) or [(0, len(text))]
    if not pairs:
        return spans
    return spans + [(spans[i][0], spans[i + 1][1]) for i in range(len(spans) - 1)]
