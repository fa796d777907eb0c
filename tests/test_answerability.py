"""Whether a claim is backed by its quote, and the evidence covers the question."""

from __future__ import annotations

from dataclasses import replace

from rag.answerability import check_claims, evidence, quoted
from rag.embeddings import Embedder
from rag.questions import analyse
from rag.retrieval import Passage
from rag.verifier import Verifier

TEXT = (
    "The council voted on Tuesday to close the Elm Street library in June. "
    "It cited a budget gap of $2 million, Mayor Ana Ruiz said. "
    "Readers protested outside city hall."
)
PASSAGE = Passage(source="library.txt", chunk_id="c1", start=100, end=100 + len(TEXT), text=TEXT,
                  title="Council closes library")  # fmt: skip


def test_claims_are_checked_against_their_quotes(embedder: Embedder) -> None:
    q = analyse("Why is the Elm Street library closing?")
    checks = check_claims(
        q,
        [
            (1, "It cited a budget gap of $2 million", "The library closes over a $2 million gap."),
            (1, "It cited a budget gap of $2 million", "The library closes over a $5 million gap."),
            (1, "The library was flooded last winter.", "The library was flooded."),
        ],
        [PASSAGE],
        Verifier(embedder),
    )
    assert checks[0].valid and checks[0].exact
    assert not checks[1].valid and "5" in checks[1].missing
    assert not checks[2].valid and checks[2].span is None


def test_the_question_s_own_constraints_must_be_in_the_evidence() -> None:
    near_miss = evidence(analyse("Why did the council close the Oak Road library in 1977?"),
                         [PASSAGE])  # fmt: skip
    assert set(near_miss.missing) >= {"1977", "oak"} or "1977" in near_miss.missing
    fine = evidence(analyse("Why did the council close the Elm Street library?"), [PASSAGE])
    assert not fine.missing and fine.coverage > 0.5


def test_a_claim_its_quote_does_not_back_is_shown_as_the_quote_s_sentence(
    embedder: Embedder,
) -> None:
    q = analyse("Why is the Elm Street library closing?")
    backed, reworded, invented = check_claims(
        q,
        [
            (1, "It cited a budget gap of $2 million", "The library closes over a $2 million gap."),
            (1, "budget gap of $2 million", "The library closes because readers moved away."),
            (1, "The library was flooded last winter.", "The library was flooded."),
        ],
        [PASSAGE],
        Verifier(embedder),
    )
    assert quoted(backed) is None  # its own words stand
    assert not reworded.valid
    restated = quoted(reworded)
    assert restated is not None and restated.valid and restated.restated
    assert restated.text == "It cited a budget gap of $2 million, Mayor Ana Ruiz said."
    assert quoted(invented) is None  # a quote not in the passage backs nothing


def test_a_claim_from_elsewhere_than_its_quote_is_not_backed_by_it(embedder: Embedder) -> None:
    # True of the passage, but not what the quoted sentence says: the quote stands instead.
    (check,) = check_claims(
        analyse("Who spoke outside city hall?"),
        [(1, "It cited a budget gap of $2 million", "Readers protested outside city hall.")],
        [PASSAGE],
        Verifier(embedder),
    )
    assert check.span is not None and not check.valid
    shown = quoted(check)
    assert shown is not None and shown.text.startswith("It cited a budget gap")


def test_a_question_naming_the_outlet_is_held_by_that_outlets_article() -> None:
    text = "Dockworkers voted to strike on Monday."
    p = Passage("a.md", "a:0", 0, len(text), text, title="Strike vote", outlet="Reuters")
    shape = analyse("What did Reuters report about the dockworkers?")
    assert evidence(shape, [p], [p]).missing == ()
    assert evidence(shape, [replace(p, outlet=None)], []).missing == ("reuter",)
