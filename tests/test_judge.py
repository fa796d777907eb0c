"""The model asked apart whether the cited passages state the answer (rag.judge)."""

from __future__ import annotations

import pytest
from conftest import closed_port_url

from rag.judge import judge_messages, rested_on, states_answer, verdict
from rag.llm import LLM

TALKS = (
    "Russian and Ukrainian delegations met in Istanbul on 2 June for a second round of "
    "talks. The Russian delegation was led by Vladimir Medinsky, an aide to the president. "
    "The talks ended after an hour without a ceasefire."
)


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("yes", True),
        ("Yes.", True),
        (" YES, passage 1 says so", True),
        ("No", False),
        ("no.", False),
        ("Maybe", None),
        ("The passages say", None),
        ("", None),
        ("...", None),
    ],
)
def test_a_verdict_is_the_replys_first_word(reply: str, expected: bool | None) -> None:
    assert verdict(reply) is expected


def test_the_judge_is_shown_the_sentences_an_answer_rests_on_each_once_in_passage_order() -> None:
    passages = [TALKS, "The ceasefire was not agreed.", "Unused passage."]
    quoted = [
        (2, "The ceasefire was not agreed."),
        (1, "The Russian delegation was led by Vladimir Medinsky, an aide to the president."),
        (1, "The talks ended after an hour\nwithout a ceasefire."),
        (1, "The Russian delegation was led by Vladimir Medinsky, an aide to the president."),
        (4, "A passage the answer was never given."),
    ]
    assert rested_on(quoted, passages) == [
        "The Russian delegation was led by Vladimir Medinsky, an aide to the president. "
        "The talks ended after an hour without a ceasefire.",
        "The ceasefire was not agreed.",
    ]
    # A citation with no quoted sentence stands for its whole passage.
    assert rested_on([(3, "")], passages) == ["Unused passage."]
    assert rested_on([], passages) == []


def test_a_quoted_table_row_is_shown_the_judge_with_its_column_headers() -> None:
    table = (
        "How the positions compare:\n"
        "| Aspect | Trump Plan | Putin's Position |\n"
        "|---|---|---|\n"
        "| Territorial Control | Supports Russian influence zones | Seeks full recognition |"
    )
    row = "| Territorial Control | Supports Russian influence zones | Seeks full recognition |"
    assert rested_on([(1, row)], [table]) == [
        "Aspect: Territorial Control; Trump Plan: Supports Russian influence zones; "
        "Putin's Position: Seeks full recognition."
    ]
    # A quote the passage does not hold verbatim is shown as it is.
    assert rested_on([(1, "Not in it.")], [table]) == ["Not in it."]
    # A quoted header row is not a row of cells to say: it is shown as it is, never empty.
    header = "| Aspect | Trump Plan | Putin's Position |"
    assert rested_on([(1, header)], [table]) == [header]


def test_the_request_numbers_the_passages_and_ends_with_the_question() -> None:
    messages = judge_messages("  Who led the\ntalks? ", [TALKS, "Second   passage\n\ntext."])
    assert [m["role"] for m in messages] == ["system", "user"]
    user = messages[1]["content"]
    assert "[1] Russian and Ukrainian" in user
    assert "[2] Second passage text." in user
    assert "Question: Who led the talks?" in user
    assert user.index("[2]") < user.index("Question:")


def test_no_passages_or_no_server_gives_no_verdict() -> None:
    llm = LLM("any", closed_port_url(), timeout=5.0, max_retries=0)
    assert states_answer(llm, "Who led the talks?", []) is None
    assert states_answer(llm, "Who led the talks?", [TALKS]) is None


# A SQuAD 2.0 passage (the article "Islamism") and its adversarial question, built by
# turning the question its passage answers into one it does not.
ISLAMISM = (
    'Following the Arab Spring, Roy has described Islamism as "increasingly interdependent" '
    'with democracy in much of the Arab Muslim world, such that "neither can now survive '
    'without the other." While Islamist political culture itself may not be democratic, '
    "Islamists need democratic elections to maintain their legitimacy. At the same time, "
    "their popularity is such that no government can call itself democratic that excludes "
    "mainstream Islamist groups."
)


@pytest.mark.slow
def test_the_default_model_tells_an_answer_from_a_near_miss(
    default_llm: tuple[str, str],
) -> None:
    url, model = default_llm
    llm = LLM(model, url, timeout=120.0, max_retries=0)
    assert states_answer(llm, "Why do Islamists need democratic elections?", [ISLAMISM]) is True
    assert states_answer(llm, "Why don't Islamists need democratic elections?", [ISLAMISM]) is False
