"""The extractive answer: passage sentences nearest the question, a quote kept whole."""

from __future__ import annotations

from rag.embeddings import Embedder
from rag.extractive import extractive, whole_quote
from rag.questions import analyse
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


def test_a_date_question_is_quoted_from_a_sentence_stating_a_date(embedder: Embedder) -> None:
    talks = (
        "Russian and Ukrainian delegations met in Istanbul for talks on a ceasefire. "
        "The Istanbul talks ended without agreement, officials said."
    )
    dated = "The first round opened on 16 May, the Turkish foreign ministry said."
    other = "Analysts expect little from further talks in Istanbul, diplomats said."
    passages = [
        Passage(f"{name}.txt", f"{name}.txt:0", 0, len(text), text, title=name)
        for name, text in [("talks", talks), ("dated", dated), ("other", other)]
    ]
    question = "When did the Istanbul talks open?"
    # The model cited the first passage, which states no date: the nearest sentence there
    # is no answer to "when"; the best passages' sentence stating one is.
    plain = extractive(question, passages, Verifier(embedder), hint="[1]")
    assert "16 May" not in plain and "[1]" in plain
    typed = extractive(question, passages, Verifier(embedder), hint="[1]", shape=analyse(question))
    assert typed.startswith("The first round opened on 16 May") and "[2]" in typed
    # No passage states one: the cited passage's nearest sentences are quoted as before
    # (and vetted later), not sentences of passages the model never cited.
    undated = [passages[0], passages[2]]
    assert extractive(
        question, undated, Verifier(embedder), hint="[1]", shape=analyse(question)
    ) == (extractive(question, undated, Verifier(embedder), hint="[1]"))


def test_a_list_items_number_is_no_number_the_quote_states(embedder: Embedder) -> None:
    text = (
        "The council listed its measures:\n"
        "1. New roofs for the schools that need new roofs.\n"
        "2. Hiring more teachers for the schools.\n"
        "Inspectors found that 12 schools need new roofs."
    )
    p = Passage("schools.txt", "schools.txt:0", 0, len(text), text, title="Schools")
    question = "How many schools need new roofs?"
    answer = extractive(question, [p], Verifier(embedder), shape=analyse(question))
    # The nearest sentence is the item, but its "1." counts nothing.
    assert answer.startswith("Inspectors found that 12"), answer
    assert "1." not in answer


def test_a_typed_quote_about_several_articles_still_quotes_each(embedder: Embedder) -> None:
    dated = "The port strike began on 3 June, the union said, and ships queued offshore."
    undated = "The port strike has left shelves empty, shop owners in the town said."
    passages = [
        Passage(f"{name}.txt", f"{name}.txt:0", 0, len(text), text, title=name)
        for name, text in [("union", dated), ("shops", undated)]
    ]
    question = "When did the port strike begin, according to both articles?"
    answer = extractive(
        question, passages, Verifier(embedder), each_article=True, shape=analyse(question)
    )
    assert "[1]" in answer and "[2]" in answer, answer
