"""Whether a claim is backed by its quote, and the evidence covers the question."""

from __future__ import annotations

from dataclasses import replace

from rag.answerability import check_claims, evidence, other_year, quoted
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


def test_a_name_the_passage_abbreviates_with_full_stops_is_held() -> None:
    text = "This internal form is distinct from informal U.S. imperialism."
    p = Passage("imperialism.txt", "i1", 0, len(text), text)
    asked = analyse("The US expansion westward could be viewed as what type of imperialism?")
    assert "us" in asked.names
    assert evidence(asked, [p]).missing == ()


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


def test_a_year_the_quoted_sentence_contradicts_is_a_near_miss() -> None:
    text = (
        "Isiah Bowman was the director of the society in 1914. Three years later, in 1917, "
        "he was appointed to the inquiry."
    )
    p = Passage("bowman.txt", "b1", 0, len(text), text)
    director, appointed = text.split(". ")
    asked = analyse("Who was the director of the society in 1917?")
    # 1917 is in the passage, but the sentence the answer rests on dates it to 1914.
    assert other_year(asked, [director], [p]) == ("1917", "1914")
    assert other_year(analyse("Who was appointed to the inquiry in 1917?"), [appointed], [p]) is None
    # A sentence without a year says nothing against it: the year is often said before.
    assert other_year(asked, ["Bowman ran the society."], [p]) is None
    # Spans and decades cover the years in them.
    q = analyse("Who was the president in 1996?")
    assert other_year(q, ["Between 1994 and 1999 the mayor was the president."], [p]) is None
    assert other_year(q, ["In the 1990s the mayor was the president."], [p]) is None
    assert other_year(q, ["From 2001-05 the mayor was the president."], [p]) == ("1996", "2001")
    # Every quoted sentence must date it elsewhere; one that does not is enough.
    assert other_year(asked, [director, "Bowman directed it."], [p]) is None
    # A question with no year, or no quoted sentence, is no near miss of this kind.
    assert other_year(analyse("Who was the director of the society?"), [director], [p]) is None
    assert other_year(asked, [], [p]) is None


def test_the_articles_own_year_counts_as_stated() -> None:
    text = "Putin said the 2014 annexation of Crimea could not be reversed."
    dated = Passage("putin.txt", "p1", 0, len(text), text, published="2025-03-01")
    q = analyse("What did Putin say about Crimea in 2025?")
    assert other_year(q, [text], [dated]) is None
    assert other_year(q, [text], [replace(dated, published=None)]) == ("2025", "2014")
