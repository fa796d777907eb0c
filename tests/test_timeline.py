"""A timeline answer's sentences in time order, by the dates of the articles they cite."""

from __future__ import annotations

from rag.questions import analyse
from rag.retrieval import Passage
from rag.timeline import answer_order, cited_date, in_time_order, time_order, wanted_order


def passage(source: str, published: str | None) -> Passage:
    text = f"What {source} reported."
    return Passage(source, f"{source}:0", 0, len(text), text, title=source, published=published)


PASSAGES = [
    passage("june.md", "2025-06-13"),
    passage("may.md", "2025-05-20"),
    passage("undated.md", None),
    passage("april.md", "2025-04-02"),
]
TIMELINE = analyse("How did the port strike develop?")
FIGURE = analyse("How many workers struck?")


def test_sentences_go_oldest_first_by_the_articles_they_cite() -> None:
    reply = (
        "On 13 June the port reopened [1]. On 20 May the strike began [2]. "
        "On 2 April talks failed [4]."
    )
    assert in_time_order(reply, TIMELINE, PASSAGES) == (
        "On 2 April talks failed [4]. On 20 May the strike began [2]. "
        "On 13 June the port reopened [1]."
    )


def test_a_sentence_citing_no_dated_article_stays_with_the_point_before_it() -> None:
    reply = (
        "On 13 June the port reopened [1]. Ships queued for days [3]. "
        "On 20 May the strike began [2]. It spread to two terminals."
    )
    assert in_time_order(reply, TIMELINE, PASSAGES) == (
        "On 20 May the strike began [2]. It spread to two terminals. "
        "On 13 June the port reopened [1]. Ships queued for days [3]."
    )


def test_an_ordered_reply_is_kept_as_written() -> None:
    reply = "First [4].\nThen [2][1].\nLast [1]."
    assert in_time_order(reply, TIMELINE, PASSAGES) == reply


def test_a_sentence_citing_several_articles_is_placed_by_the_oldest() -> None:
    assert cited_date([1, 2], PASSAGES) == "2025-05-20"
    assert cited_date([3], PASSAGES) is None and cited_date([9], PASSAGES) is None
    assert in_time_order("Late [1].\nBoth [1][4].", TIMELINE, PASSAGES) == "Both [1][4].\nLate [1]."


def test_time_order_is_stable_and_leading_undated_items_stay_first() -> None:
    assert time_order([None, "2025-02-01", "2025-01-01", None, "2025-01-01"]) == [0, 2, 3, 4, 1]


def test_a_figure_across_dates_goes_newest_first_keeping_what_follows_each() -> None:
    reply = "In May 4,000 workers struck [2]. Most were dockers. In June 6,000 did [1]."
    assert in_time_order(reply, FIGURE, PASSAGES) == (
        "In June 6,000 did [1]. In May 4,000 workers struck [2]. Most were dockers."
    )
    assert time_order([None, "2025-01-01", "2025-02-01"], newest_first=True) == [0, 2, 1]


def test_which_answers_are_put_in_time_order() -> None:
    two_dates, one_date = PASSAGES[:2], [PASSAGES[0], passage("b.md", "2025-06-13")]
    assert wanted_order(analyse("How did the port strike develop?"), two_dates) == "oldest"
    assert wanted_order(analyse("How many workers struck?"), two_dates) == "newest"
    assert wanted_order(analyse("How many workers struck?"), one_date) is None
    assert wanted_order(analyse("Who led the strike?"), two_dates) is None
    assert answer_order(analyse("Who led the strike?"), PASSAGES, [[1], [4]]) == [0, 1]
