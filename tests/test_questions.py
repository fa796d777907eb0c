"""What a question asks for: its answer type, whether it spans articles, yes/no."""

from __future__ import annotations

import pytest

from rag.questions import analyse, expects, holds_type, is_multi_article, is_yes_no


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
