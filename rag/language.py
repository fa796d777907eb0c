"""Which language an article is in: a declared language tag normalised (``en-GB`` ->
``en-gb``), or the language detected from the text when none is declared (py3langid)."""

from __future__ import annotations

import functools
import re
from typing import Any

# Detection needs this much text, and this confidence, to say anything.
_LANGUAGE_SAMPLE_CHARS = 3000
_LANGUAGE_MIN_LETTERS = 40
_LANGUAGE_MIN_CONFIDENCE = 0.9


def language_of(text: str) -> str | None:
    """The language ``text`` is written in, as an ISO 639-1 code (``en``, ``fr``), or None
    when it is too short or too mixed to tell.  For articles that do not declare one:
    py3langid (langid.py's naive Bayes model over byte n-grams, 97 languages)."""
    sample = text[:_LANGUAGE_SAMPLE_CHARS]
    if sum(ch.isalpha() for ch in sample) < _LANGUAGE_MIN_LETTERS:
        return None
    code, confidence = _language_identifier().classify(sample)
    return code if confidence >= _LANGUAGE_MIN_CONFIDENCE else None


@functools.cache
def _language_identifier() -> Any:
    """py3langid's model, loaded once per process (about a second) on first use."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def language_tag(value: str) -> str | None:
    """``en-GB``, ``en_US``, ``fr`` -> ``en-gb``, ``en-us``, ``fr``; None if no language tag."""
    value = value.strip().replace("_", "-").lower()
    return value if re.fullmatch(r"[a-z]{2,3}(?:-[a-z0-9]{2,8})*", value) else None
