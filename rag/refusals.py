"""Does the model's reply decline? One refusal sentence, and how to recognise one.

A free-text reply declines when it says it cannot find or answer, or that the
articles do not say, and states nothing the passages support.
"""

from __future__ import annotations

import re

from rag.markers import split_answer, strip_markers

REFUSAL = "I cannot find the answer in the articles."

# A refusal says it cannot find/answer, or that the sources do not say.
_CANNOT = re.compile(
    r"\b(?:cannot|can ?not|can't|could ?not|couldn't|unable to|not able to)\b[^.]{0,60}?"
    r"\b(?:find|locate|determine|answer|tell|say|provide|identify|confirm|know)\b",
    re.IGNORECASE,
)
_NOT_SAID = re.compile(
    r"\b(?:(?:do|does|did)(?: not|n't)|(?:is|are|was|were)(?: not|n't)|neither|nor)\b[^.]{0,60}?"
    r"\b(?:mention\w*|contain\w*|say|state\w*|provide\w*|include\w*|specif\w*|give|given|"
    r"answer\w*|discuss\w*|name\w*|identif\w*|indicate\w*|report\w*|address\w*|cover\w*)\b"
    r"|\bno (?:information|mention|details?|answer|data|indication|reference)\b"
    r"|\bthere is no\b",
    re.IGNORECASE,
)
_SOURCES = re.compile(
    r"\b(?:articles?|passages?|texts?|sources?|documents?|context|information|provided|"
    r"given)\b",
    re.IGNORECASE,
)


def is_refusal_sentence(sentence: str) -> bool:
    """Whether a sentence says the articles do not hold the answer."""
    text = " ".join(strip_markers(sentence).split()).replace("’", "'")
    if text.lower().rstrip(".") == REFUSAL.lower().rstrip("."):
        return True
    if _CANNOT.search(text) and (re.match(r"\s*(?:I|I'm|Sorry)\b", text) or _SOURCES.search(text)):
        return True
    return bool(_NOT_SAID.search(text) and _SOURCES.search(text))


def is_refusal(answer: str, supported_sentences: int = 0) -> bool:
    """Whether ``answer`` declines: it says so and states nothing the passages support."""
    if supported_sentences:
        return False
    return any(is_refusal_sentence(p.claim) for p in split_answer(answer))
