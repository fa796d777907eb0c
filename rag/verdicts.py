"""A yes/no answer's verdict, held against the sentences it cites.

A small model often opens with "Yes," whatever its cited sentence says: asked "Did Putin
accept the plan?", it wrote "Yes, Putin remains steadfast in rejecting the plan [2]".
No entailment model is at hand, but the code can see polarity: when the cited sentences
are negative (not, never, no, rejected, refused, denied ...) and the question is not,
the passages say "no"; when both are negative, they say "yes".  A verdict the other
way round is dropped and the cited facts stay ("Putin remains steadfast in rejecting
the plan [2]"): the reader is never shown a yes that the article contradicts, and
dropping a word never makes a supported sentence wrong.  Cited sentences with no
negation say nothing here (a missing "not" is not a "yes").

Questions about agreement or difference between articles ("Do the two articles
agree ...?") are left alone: their verdict is about the articles, not the event.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["contradicts", "drop_verdict", "leading_verdict", "polarity"]

_WORD = re.compile(r"[^\W_]+(?:['’][A-Za-z]+)?")
_NEGATIONS = frozenset(
    ["not", "no", "never", "neither", "nor", "none", "nobody", "nothing", "without"]
)
# Verbs that say "no" to the thing they govern: "rejecting the plan" answers "did he
# accept the plan" with no.  Stems, matched at a word's start.
_NEGATIVE_STEMS = (
    "reject",
    "refus",
    "deny",
    "denie",
    "denial",
    "dismiss",
    "rebuff",
    "veto",
    "repudiat",
)
_ABOUT_ARTICLES = re.compile(
    r"\b(?:agree|agrees|agreed|disagree|differ|differs|contradict\w*|consistent|"
    r"same|similar|both|articles|sources|reports)\b",
    re.IGNORECASE,
)
# "Yes," / "No." / "No —": not "No Russian troops crossed ...", a sentence of its own.
_VERDICT = re.compile(r"^\s*(yes|no)\s*[,.;:!—–-]+\s*", re.IGNORECASE)


def polarity(text: str) -> int:
    """How many negations ``text`` carries ("n't", "not", "rejected" ... each count)."""
    count = 0
    for w in _WORD.findall(text.replace("’", "'")):
        low = w.lower()
        if low.endswith("n't") or low in _NEGATIONS or low.startswith(_NEGATIVE_STEMS):
            count += 1
    return count


def leading_verdict(answer: str) -> str | None:
    """``"yes"`` or ``"no"`` when ``answer`` opens with one, else None."""
    m = _VERDICT.match(answer)
    return m.group(1).lower() if m else None


def contradicts(question: str, verdict: str | None, evidence: Iterable[str]) -> bool:
    """Whether a ``verdict`` ("yes"/"no") on ``question`` says the opposite of the
    ``evidence`` it cites (see the module docstring); False when the evidence is silent."""
    if verdict not in ("yes", "no") or _ABOUT_ARTICLES.search(question):
        return False
    said = [polarity(e) for e in evidence]
    if not any(said):
        return False
    negative = sum(said) % 2 == 1  # the cited sentences, as a whole, say "not"
    expected = "yes" if negative == (polarity(question) % 2 == 1) else "no"
    return verdict != expected


def drop_verdict(answer: str) -> str:
    """``answer`` without its opening "Yes," / "No." (the rest capitalised as a sentence)."""
    m = _VERDICT.match(answer)
    if not m:
        return answer
    rest = answer[m.end() :].lstrip()
    return rest[:1].upper() + rest[1:] if rest else answer
