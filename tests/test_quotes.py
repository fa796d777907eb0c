"""Where a quote is in a passage: verbatim, shortened, or not there."""

from __future__ import annotations

from rag.quotes import locate

TEXT = (
    "The council voted on Tuesday to close the Elm Street library in June. "
    "It cited a budget gap of $2 million, Mayor Ana Ruiz said. "
    "Readers protested outside city hall."
)


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


def test_a_verbatim_quote_is_whole_words_and_says_something() -> None:
    assert locate("ore", "There is more to it than that.") == (None, False)
    assert locate("the", TEXT) == (None, False)


def test_decomposed_accents_match_composed_ones() -> None:
    passage = "The cafe\u0301 on Main Street closed after forty years."
    span, exact = locate("The café on Main Street closed", passage)
    assert exact and span is not None
