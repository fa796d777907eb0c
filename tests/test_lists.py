"""Lists read with the line introducing them (rag.lists)."""

from __future__ import annotations

import pytest

from rag.lists import MAX_RUN_BACK, is_item, lead_in_above, opens_mid_list

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
