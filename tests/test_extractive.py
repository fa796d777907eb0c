"""The extractive answer: passage sentences nearest the question, a quote kept whole."""

from __future__ import annotations

from rag.embeddings import Embedder
from rag.extractive import extractive, whole_quote
from rag.retrieval import Passage
from rag.verifier import Verifier

SPLIT_QUOTE = [
    "The talks ended without agreement on Friday.",
    "“Putin seems to believe time is on his side,” said Tatiana Stanovaya, an analyst.",
    "“But he may be underestimating Trump’s need to show strength and results.”",
    "Officials declined to comment.",
]


def test_a_quote_split_around_its_speaker_is_told_whole() -> None:
    """News splits a quote around who said it: the attribution hands on to the speaker's
    next words, and a bare quote reaches back to who said it; other sentences are alone."""
    assert whole_quote(SPLIT_QUOTE, 1, 1) == (1, 2)
    assert whole_quote(SPLIT_QUOTE, 1, 2) == (1, 1)
    assert whole_quote(SPLIT_QUOTE, 1, 0) is None
    assert whole_quote(SPLIT_QUOTE, 1, 3) is None
    # A quote with its speaker and nothing after it; two speakers one after the other.
    assert whole_quote(SPLIT_QUOTE[:2], 1, 1) is None
    two = ["“We will not sign,” the minister said.", "“Nor will we,” said his deputy."]
    assert whole_quote(two, 1, 0) is None and whole_quote(two, 1, 1) is None
    own = ["“We will not sign,” the foreign minister said on Monday.", "“Not now.”"]
    assert whole_quote(own, 1, 0) == (1, 1)


def test_the_extractive_answer_keeps_the_speakers_next_words(embedder: Embedder) -> None:
    text = " ".join(SPLIT_QUOTE)
    passage = Passage("talks.txt", "talks.txt:0", 0, len(text), text, title="Talks stall")
    answer = extractive(
        "According to Stanovaya, what might Putin be underestimating?",
        [passage],
        Verifier(embedder),
    )
    assert "underestimating Trump’s need" in answer and "said Tatiana Stanovaya" in answer
    assert answer.index("said Tatiana") < answer.index("underestimating")
    assert "declined to comment" not in answer
