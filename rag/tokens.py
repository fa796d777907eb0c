"""Words as the keyword side sees them: lower-cased, accent-folded, stemmed, no stopwords.

The same function tokenizes queries, passages and sentences (the reranker's), so
they meet at the same stems.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Any

_WORD = re.compile(r"\w+", re.UNICODE)
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "for",
        "from",
        "has",
        "have",
        "he",
        "her",
        "his",
        "i",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "she",
        "that",
        "the",
        "their",
        "them",
        "they",
        "this",
        "to",
        "was",
        "were",
        "which",
        "who",
        "will",
        "with",
        "would",
        "do",
        "does",
        "did",
        "what",
        "when",
        "where",
        "why",
        "how",
        "whom",
        "whose",
        "there",
        "than",
        "then",
        "so",
        "if",
        "into",
        "about",
        "also",
        "been",
        "being",
        "can",
        "could",
        "should",
        "may",
        "might",
        "must",
        "our",
        "we",
        "you",
        "your",
        "not",
        "no",
        "yes",
    ]
)


# Bump when tokenize() changes: keyword indexes of another version are rebuilt.
TOKENIZER_VERSION = "snowball-en-1"


@functools.cache
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


def tokenize(text: str) -> list[str]:
    """Lower-cased, accent-folded, stemmed words without stopwords.

    Snowball stemming lets "elected" find "election" and "universities" find
    "university"; the same function tokenizes queries, passages and sentences.
    """
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    words = [w for w in _WORD.findall(text) if w not in STOPWORDS]
    return _stemmer().stemWords(words) if words else []
