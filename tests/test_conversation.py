"""Follow-up condensation against a real llama.cpp server (and a closed port)."""

from __future__ import annotations

import pytest
from conftest import closed_port

from rag.conversation import (
    HistoryError,
    clean,
    concatenate,
    condense,
    keep_words,
    messages,
    render_history,
    validate_history,
)
from rag.llm import LLM

HISTORY = [
    {"role": "user", "content": "Where were the latest peace talks held?"},
    {
        "role": "assistant",
        "content": "They were held in Istanbul, where Russian negotiators presented a "
        "memorandum to the Ukrainian side [3].",
    },
]
FOLLOW_UP = "What did the Russian side demand there?"


def client(endpoint: tuple[str, str], **opts: float) -> LLM:
    url, model = endpoint
    return LLM(model, url, timeout=opts.get("timeout", 60.0), max_retries=0)


def test_no_history_keeps_the_question_and_needs_no_llm() -> None:
    out = condense([], "  Who rejected the plan? ", llm=None)
    assert (out.query, out.method, out.error) == ("Who rejected the plan?", "none", None)
    assert out.asked == ()  # nothing was rewritten: the question's own shape stands


def test_follow_up_is_rewritten_by_the_llm(small_llm: tuple[str, str]) -> None:
    out = condense(HISTORY, FOLLOW_UP, client(small_llm))
    assert out.method == "llm", out
    assert out.error is None
    assert out.query.strip() and "\n" not in out.query
    assert not out.query.lower().startswith("standalone question")
    assert out.asked == (HISTORY[0]["content"], FOLLOW_UP)


def test_unreachable_llm_falls_back_to_joining_the_last_question() -> None:
    down = LLM("any", f"http://127.0.0.1:{closed_port()}/v1", timeout=5, max_retries=0)
    out = condense(HISTORY, FOLLOW_UP, down)
    assert out.method == "concatenated"
    assert out.query == f"{HISTORY[0]['content']} {FOLLOW_UP}"
    assert out.error and "unreachable" in out.error and "\n" not in out.error
    assert out.asked == (HISTORY[0]["content"], FOLLOW_UP)  # the user's words, not the answer's


def test_prompt_is_short_and_carries_the_context() -> None:
    long_answer = {"role": "assistant", "content": "Istanbul [1]. " + "word " * 400}
    msgs = messages([*HISTORY, {"role": "user", "content": "And then?"}, long_answer], FOLLOW_UP)
    user = msgs[-1]["content"]
    assert msgs[0]["role"] == "system" and "standalone" in msgs[0]["content"]
    assert "Istanbul" in user and FOLLOW_UP in user
    assert "[1]" not in user and "[3]" not in user, "citation markers are not context"
    assert len(user) < 1500, "old turns and long answers are trimmed"


def test_render_history_keeps_the_last_turns() -> None:
    turns = [{"role": "user", "content": f"question {i}"} for i in range(10)]
    rendered = render_history(turns)
    assert "question 9" in rendered and "question 0" not in rendered


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ('Standalone question: "What did Russia demand at the Istanbul talks?"', "What did Russia demand at the Istanbul talks?"),
        ("What did Russia demand in Istanbul?\nThis question asks...", "What did Russia demand in Istanbul?"),
        ("", None),
        ("x" * 2000, None),
    ],
)  # fmt: skip
def test_clean(reply: str, expected: str | None) -> None:
    assert clean(reply, FOLLOW_UP) == expected


@pytest.mark.parametrize(
    "history",
    [[{"role": "system", "content": "x"}], [{"role": "user"}], ["hello"]],
)
def test_malformed_history_is_one_clear_error(history: list) -> None:
    with pytest.raises(HistoryError, match="History item 1"):
        validate_history(history)


def test_a_rewrite_that_loses_the_user_s_words_keeps_the_question_beside_it() -> None:
    follow_up = "And what countermeasures does that article suggest for the West?"
    swapped = "What strategies does the Moscow Times suggest for addressing Putin's resistance?"
    kept = keep_words(swapped, follow_up)
    assert kept.startswith(swapped) and kept.endswith(f"({follow_up})")
    resolved = "What countermeasures does the Moscow Times piece suggest for the West?"
    assert keep_words(resolved, follow_up) == resolved


def test_concatenate_uses_the_last_user_turn() -> None:
    assert concatenate(HISTORY, "Why?") == "Where were the latest peace talks held? Why?"


@pytest.mark.slow
def test_default_model_resolves_the_reference(default_llm: tuple[str, str]) -> None:
    out = condense(HISTORY, FOLLOW_UP, client(default_llm, timeout=120.0))
    assert out.method == "llm"
    assert "istanbul" in out.query.lower(), out.query
    assert "there" not in out.query.lower().split()
