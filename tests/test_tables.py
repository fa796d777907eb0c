"""Markdown table rows read with their headers (rag.tables)."""

from __future__ import annotations

from rag.tables import cells, header_above, headers, is_rule, said, spoken, spoken_spans

ARTICLE = """Analysts compared the two positions.
| Aspect | Trump Plan | Putin's Position |
|---|---|---|
| Territorial Control | Supports Russian influence zones | Seeks full recognition |
| Military Presence | Allows Russian rapid deployment | Demands stronger security guarantees |
Why Putin remains resistant.
"""


def test_cells_and_rules() -> None:
    assert cells("| a | b |") == ["a", "b"]
    assert cells("a | b") is None and cells("| a |") is None
    assert cells("- a list item") is None
    assert is_rule("|---|:---:|") and not is_rule("| a | b |")


def test_a_row_is_said_with_its_headers() -> None:
    rows = headers(ARTICLE)
    assert len(rows) == 2  # the header row and the rule are not rows
    assert said(["Aspect", "Plan"], ["Roads", ""]) == "Aspect: Roads."
    assert spoken(ARTICLE) == (
        "Analysts compared the two positions.\n"
        "Aspect: Territorial Control; Trump Plan: Supports Russian influence zones; "
        "Putin's Position: Seeks full recognition.\n"
        "Aspect: Military Presence; Trump Plan: Allows Russian rapid deployment; "
        "Putin's Position: Demands stronger security guarantees.\n"
        "Why Putin remains resistant.\n"
    )


def test_a_slice_is_said_in_the_whole_texts_terms() -> None:
    start = ARTICLE.index("| Military")
    end = ARTICLE.index("\nWhy")
    assert spoken(ARTICLE, start, end).startswith("Aspect: Military Presence; Trump Plan:")
    header = ARTICLE.index("| Aspect")
    assert spoken(ARTICLE, header, ARTICLE.index("\n|---")) == ""  # the header row alone
    assert spoken(ARTICLE, 0, 10) == "Analysts c"


def test_rows_without_their_header_are_left_as_they_are() -> None:
    rows = "| Territorial Control | Supports Russian influence zones | Seeks full recognition |"
    assert spoken(rows) == rows
    assert spoken("No table here | at all.") == "No table here | at all."


def test_a_row_with_another_number_of_cells_is_read_as_markdown_does() -> None:
    odd = "| A | B | C |\n|---|---|---|\n| one | two |\n| x | y | z | extra |"
    assert spoken(odd) == "A: one; B: two.\nA: x; B: y; C: z; extra."
    assert header_above(odd, odd.index("| one")) == 0
    assert header_above(odd, odd.index("| x")) == 0


def test_spans_are_said_from_one_reading() -> None:
    spans = [(0, ARTICLE.index("\n| Aspect")), (ARTICLE.index("| Territorial"), len(ARTICLE))]
    assert spoken_spans(ARTICLE, spans) == [spoken(ARTICLE, a, b) for a, b in spans]
    assert spoken_spans("plain text", [(0, 5)]) == ["plain"]


def test_the_header_above_a_row() -> None:
    at = ARTICLE.index("| Military")
    assert header_above(ARTICLE, at) == ARTICLE.index("| Aspect")
    assert header_above(ARTICLE, ARTICLE.index("Why")) is None  # the table ended
    assert header_above(ARTICLE, ARTICLE.index("| Aspect")) is None
    assert header_above("| a | b |\n| c | d |\n", 10) is None  # no rule: no header
    assert header_above(ARTICLE, at + 2) is None  # not where a row starts
    # A blank line ends a table, as in Markdown.
    gap = "| A | B |\n|---|---|\n\n| one | two |"
    assert header_above(gap, gap.index("| one")) is None
