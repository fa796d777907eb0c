"""A yes/no verdict held against the sentences it cites (rag.verdicts)."""

from __future__ import annotations

import pytest

from rag.verdicts import contradicts, drop_verdict, leading_verdict, polarity


def test_negations_and_refusing_verbs_count() -> None:
    assert polarity("Putin remains steadfast in rejecting the plan.") == 1
    assert polarity("The White House hasn’t endorsed it.") == 1
    assert polarity("She did not deny it.") == 2
    assert polarity("Eighty senators back the bill.") == 0


@pytest.mark.parametrize(
    ("answer", "verdict"),
    [
        ("Yes, Putin accepted the plan [1].", "yes"),
        ("No. The talks ended without a ceasefire [1].", "no"),
        ("no — the bill has not passed [2].", "no"),
        ("No Russian troops crossed the border [1].", None),  # a sentence, not a verdict
        ("Yesterday the talks ended [1].", None),
        ("The talks ended [1].", None),
    ],
)
def test_a_leading_verdict_is_read(answer: str, verdict: str | None) -> None:
    assert leading_verdict(answer) == verdict


def test_a_verdict_its_evidence_says_the_opposite_of_is_caught() -> None:
    rejecting = ["Putin remains steadfast in rejecting the plan."]
    assert contradicts("Did Putin accept the plan?", "yes", rejecting)
    assert not contradicts("Did Putin accept the plan?", "no", rejecting)
    # Both negative: the evidence says yes.
    assert contradicts("Did Putin reject the plan?", "no", ["Putin rejected the plan."])
    assert not contradicts("Did Putin reject the plan?", "yes", ["Putin rejected the plan."])


def test_silent_evidence_and_questions_about_the_articles_are_left_alone() -> None:
    assert not contradicts("Did Putin accept the plan?", "no", ["Putin met the envoy."])
    assert not contradicts("Did Putin accept the plan?", "yes", ["Putin met the envoy."])
    agree = "Do the two articles agree on why the Kremlin rejects the plan?"
    assert not contradicts(agree, "no", ["Moscow said it would never accept it."])
    assert not contradicts("Did Putin accept the plan?", None, ["He did not."])


def test_dropping_a_verdict_keeps_the_cited_sentence() -> None:
    assert drop_verdict("Yes, putin remains steadfast in rejecting it [2].") == (
        "Putin remains steadfast in rejecting it [2]."
    )
    assert drop_verdict("Yes. He rejected it [1].") == "He rejected it [1]."
    assert drop_verdict("He rejected it [1].") == "He rejected it [1]."
    assert drop_verdict("Yes.") == "Yes."  # nothing else to show: left as it is
