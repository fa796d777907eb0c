"""Lists read with the line introducing them (rag.lists)."""

from __future__ import annotations

import pytest

from rag.lists import (
    MAX_RUN_BACK,
    better_item,
    is_item,
    item_text,
    lead_in_above,
    lead_ins,
    opens_mid_list,
    runs,
)
from rag.questions import analyse

ARTICLE = (
    "The council met on Tuesday to discuss the flooding.\n"
    "Measures the council could take include:\n"
    "- Raising the river wall by a metre\n"
    "- Buying pumps for the lower town\n"
    "- Paying for sandbags before the winter\n"
    "The vote is next week."
)


@pytest.mark.parametrize(
    ("line", "item"),
    [
        ("- Raising the river wall", True),
        ("* Buying pumps", True),
        ("• Paying for sandbags", True),
        ("2. Paying for sandbags", True),
        ("3) Paying for sandbags", True),
        ("In 2024 the river rose.", False),
        ("-5 degrees were recorded", False),
        ("| a | b |", False),
    ],
)
def test_list_items_are_told_from_other_lines(line: str, item: bool) -> None:
    assert is_item(line) is item
    if item:
        assert item_text(line) == line.split(maxsplit=1)[1]


def test_an_item_is_run_back_to_the_line_introducing_its_list() -> None:
    lead = ARTICLE.index("Measures")
    for item in ("- Raising", "- Buying", "- Paying"):
        assert lead_in_above(ARTICLE, ARTICLE.index(item)) == lead
    assert opens_mid_list(ARTICLE[ARTICLE.index("- Buying") :])
    assert not opens_mid_list(ARTICLE)


def test_the_lead_in_is_the_last_sentence_above_the_list() -> None:
    """A paragraph the items go on from gives its last sentence; a blank line between
    the lead-in and the list (Markdown) is allowed."""
    paragraph = ARTICLE.replace(
        "Measures the council could take include:",
        "The mayor spoke first. Three measures were put forward.",
    )
    assert lead_in_above(paragraph, paragraph.index("- Paying")) == paragraph.index("Three")
    spaced = ARTICLE.replace("include:\n", "include:\n\n")
    assert lead_in_above(spaced, spaced.index("- Buying")) == spaced.index("Measures")


def test_a_list_without_a_lead_in_or_too_far_back_is_left_alone() -> None:
    # Nothing but a table (or two blank lines) above the list.
    tabled = ARTICLE.replace("Measures the council could take include:", "| a | b |")
    assert lead_in_above(tabled, tabled.index("- Buying")) is None
    gap = ARTICLE.replace("include:\n", "include:\n\n\n")
    assert lead_in_above(gap, gap.index("- Buying")) is None
    assert lead_in_above(ARTICLE[ARTICLE.index("- Raising") :], 0) is None
    # Not at the start of an item, or not an item at all.
    assert lead_in_above(ARTICLE, ARTICLE.index("pumps")) is None
    assert lead_in_above(ARTICLE, ARTICLE.index("The vote")) is None
    # A lead-in more than MAX_RUN_BACK characters above the item.
    long = ARTICLE.replace(
        "- Buying", "\n".join(["- Another measure"] * (MAX_RUN_BACK // 16)) + "\n- Buying"
    )
    assert lead_in_above(long, long.index("- Buying")) is None
    assert lead_in_above(long, long.index("- Raising")) == long.index("Measures")


def test_lists_are_found_as_runs_of_item_lines() -> None:
    found = runs(ARTICLE)
    assert [[ARTICLE[a:b] for a, b in run] for run in found] == [
        [
            "- Raising the river wall by a metre",
            "- Buying pumps for the lower town",
            "- Paying for sandbags before the winter",
        ]
    ]
    # A blank line between items goes on with the list; a line of prose ends it.
    spaced = ARTICLE.replace("metre\n", "metre\n\n")
    assert len(runs(spaced)) == 1 and len(runs(spaced)[0]) == 3
    split = ARTICLE.replace("metre\n", "metre\nAnd more.\n")
    assert [len(run) for run in runs(split)] == [1, 2]
    assert runs("No list here.\nNone at all.") == []


def test_the_item_that_fits_the_question_is_told_from_the_quoted_one() -> None:
    pumps = analyse("Which pump-related measure could the council take?").words
    # The sanctions-for-cyber case: the quoted item lacks "pump", another item has it.
    assert better_item(pumps, ["- Raising the river wall by a metre"], ARTICLE) == (
        "Buying pumps for the lower town"
    )
    # Quoting the right item, or a list question quoting any item, stands.
    assert better_item(pumps, ["- Buying pumps for the lower town"], ARTICLE) == ""
    any_item = analyse("What measures could the council take?").words
    assert better_item(any_item, ["- Paying for sandbags before the winter"], ARTICLE) == ""
    # A tie is not a better fit ("river" and "pump" each in one item).
    both = analyse("What could the council do about the river and pumps?").words
    assert better_item(both, ["- Raising the river wall by a metre"], ARTICLE) == ""
    # A quote that is not an item of the list (prose) is not judged here.
    assert better_item(pumps, ["The vote is next week."], ARTICLE) == ""


def test_a_quoted_item_is_read_with_the_line_introducing_its_list() -> None:
    lead = "Measures the council could take include:"
    assert lead_ins(["- Buying pumps for the lower town"], ARTICLE) == [lead]
    # The item quoted without its marker, or inside a longer quote, is the same item.
    assert lead_ins(["Buying pumps for the lower town"], ARTICLE) == [lead]
    # Prose is no item; a list without a line above it has no lead-in.
    assert lead_ins(["The vote is next week."], ARTICLE) == []
    # A word or two that happens to be inside an item is no quote of it; four words are.
    assert lead_ins(["Pumps"], ARTICLE) == [] and lead_ins(["the lower"], ARTICLE) == []
    assert lead_ins(["pumps for the lower town"], ARTICLE) == [lead]
    assert lead_ins(["The talks - a first - ended."], "Options include:\n- a\n- b") == []
    bare = "- Raising the river wall by a metre\n- Buying pumps for the lower town"
    assert lead_ins(["- Buying pumps for the lower town"], bare) == []
