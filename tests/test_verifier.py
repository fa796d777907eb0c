"""The support score's units: sentences, and (as a calibrated option) their clauses."""

from __future__ import annotations

import pytest

from rag.embeddings import Embedder
from rag.verifier import ScoreRule, Verifier, clause_spans, passage_units

LONG = (
    "With the war dragging into its third year, and with Ukraine demonstrating an increased "
    "ability to target key Russian military infrastructure, the risks of continued "
    "inflexibility are growing. Talks resume in May."
)


def _texts(text: str, spans: list[tuple[int, int]]) -> list[str]:
    return [text[a:b] for a, b in spans]


def test_a_sentence_divides_at_its_commas_and_dashes_into_clauses_of_three_words_or_more() -> None:
    first = passage_units(LONG, pairs=False)[0]
    assert _texts(LONG, clause_spans(LONG, first)) == [
        "With the war dragging into its third year",
        "and with Ukraine demonstrating an increased ability to target key Russian military "
        "infrastructure",
        "the risks of continued inflexibility are growing.",
    ]
    text = "It cost 1,000 dollars: a U.S.-led plan — said to fail, or not."
    assert _texts(text, clause_spans(text, (0, len(text)))) == [
        "It cost 1,000 dollars",
        "a U.S.-led plan",
        "said to fail",
    ]


def test_a_sentence_without_two_clauses_has_none() -> None:
    second = passage_units(LONG, pairs=False)[1]
    assert clause_spans(LONG, second) == []
    text = "Yes, he said."
    assert clause_spans(text, (0, len(text))) == []


def test_read_by_its_clauses_a_long_sentence_is_closer_to_a_claim_on_one_of_them(
    embedder: Embedder,
) -> None:
    claim, question = "The conflict is in the third year of the war.", "Which year is the war in?"
    whole = Verifier(embedder).support(claim, LONG, question=question)
    parts = Verifier(embedder, rule=ScoreRule(clauses=True)).support(claim, LONG, question=question)
    assert parts.dense > whole.dense + 0.1
    # The quote is still the whole sentence the clause belongs to.
    assert parts.quote == whole.quote == passage_units(LONG, pairs=False)[0]


def test_read_by_clauses_each_of_several_passages_scores_as_it_does_alone(
    embedder: Embedder,
) -> None:
    claim, question = "The conflict is in the third year of the war.", "Which year is the war in?"
    others = [
        ("Talks resume in May, officials said, after a pause of weeks.", "Talks"),
        (LONG, "War"),
        ("The drones, launched from trucks, hit four airfields.", "Drones"),
    ]
    verifier = Verifier(embedder, rule=ScoreRule(clauses=True))
    together = verifier.support_many([claim], others, question=question)[0]
    alone = [verifier.support(claim, text, title, question=question) for text, title in others]
    assert [s.quote for s in together] == [s.quote for s in alone]
    assert [s.dense for s in together] == pytest.approx([s.dense for s in alone], abs=1e-4)
    assert together[1].quote == passage_units(LONG, pairs=False)[0]
