"""What a question asks for, where a quote is, and whether a claim is backed by it."""

from __future__ import annotations

import pytest

from rag.answerability import (
    analyse,
    check_claims,
    evidence,
    expects,
    holds_type,
    is_multi_article,
    is_yes_no,
    locate,
)
from rag.citations import Verifier
from rag.embeddings import Embedder
from rag.retrieval import Passage

TEXT = (
    "The council voted on Tuesday to close the Elm Street library in June. "
    "It cited a budget gap of $2 million, Mayor Ana Ruiz said. "
    "Readers protested outside city hall."
)
PASSAGE = Passage(source="library.txt", chunk_id="c1", start=100, end=100 + len(TEXT), text=TEXT,
                  title="Council closes library")  # fmt: skip


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("When did the talks take place?", "date"),
        ("In what year did the Normans arrive?", "date"),
        ("How many bombers were damaged?", "number"),
        ("What percentage of voters agreed?", "number"),
        ("Who headed the delegation?", "name"),
        ("Where were the talks held?", "name"),
        ("Why is the library closing?", ""),
        ("What did Russia demand?", ""),
    ],
)
def test_the_answer_type_comes_from_the_question(question: str, kind: str) -> None:
    assert expects(question) == kind


def test_questions_about_several_articles_and_yes_no_questions_are_recognised() -> None:
    assert is_multi_article("Do the two articles agree on why the Kremlin rejects the plan?")
    assert is_multi_article("How does each article frame the sanctions?")
    assert not is_multi_article("Why did the Kremlin reject the plan?")
    assert is_yes_no("Do the two articles agree?") and not is_yes_no("Why do they agree?")


def test_a_quote_is_found_verbatim_despite_spacing_case_and_quote_marks() -> None:
    span, exact = locate("voted on  TUESDAY to close", TEXT)
    assert exact and span is not None
    assert TEXT[span[0] : span[1]].startswith("The council voted on Tuesday to close")
    assert TEXT[span[0] : span[1]].endswith("in June."), "checked with its whole sentence"
    curly = locate("It cited a budget gap of $2 million, Mayor Ana Ruiz said", TEXT)
    assert curly[1]


def test_a_shortened_quote_is_matched_to_the_sentence_holding_it() -> None:
    span, exact = locate("It cited a budget gap of $2 million, the mayor said", TEXT)
    assert not exact and span is not None
    assert TEXT[span[0] : span[1]].startswith("It cited a budget gap")


def test_a_made_up_quote_is_not_found() -> None:
    assert locate("The library will reopen in 2027 after renovations.", TEXT) == (None, False)


def test_answer_types_must_be_new_to_the_question() -> None:
    q = analyse("When did the council vote on the Elm Street library?")
    assert holds_type("The council voted on Tuesday.", "date", q)
    assert not holds_type("The council voted to close the library.", "date", q)
    who = analyse("Who announced the Elm Street closure?")
    assert holds_type("Mayor Ana Ruiz said so.", "name", who)
    assert not holds_type("The Elm Street library closes.", "name", who)
    many = analyse("How many libraries close in 2025?")
    assert not holds_type("Libraries close in 2025.", "number", many)
    assert holds_type("Three libraries close in 2025.", "number", many)


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
