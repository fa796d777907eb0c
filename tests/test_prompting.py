"""Prompt building: passage order for questions about time, instructions by question shape,
excerpts that read an article's tables row by row."""

from __future__ import annotations

from dataclasses import replace

from rag.answer_text import build_messages as text_messages
from rag.embeddings import Embedder
from rag.prompting import (
    build_messages,
    echoes_example,
    oldest_first,
    select_context,
    without_example,
)
from rag.retrieval import Passage
from rag.verifier import Verifier


def passage(source: str, published: str | None, n: int = 0) -> Passage:
    text = f"Text {n} of {source}."
    return Passage(source, f"{source}:{n}", 0, len(text), text, title=source, published=published)


def one_passage(text: str, source: str = "a.txt") -> Passage:
    """A passage that is the whole of its article."""
    return Passage(source, f"{source}:0", 0, len(text), text)


def test_oldest_first_orders_articles_by_date_keeping_each_together() -> None:
    found = [
        passage("new.txt", "2026-05-02", 0),
        passage("old.txt", "2025-01-10", 0),
        passage("undated.txt", None, 0),
        passage("new.txt", "2026-05-02", 1),
        passage("old.txt", "2025-01-10", 1),
    ]
    order = [(p.source, p.chunk_id) for p in oldest_first(found)]
    assert order == [
        ("old.txt", "old.txt:0"),
        ("old.txt", "old.txt:1"),
        ("new.txt", "new.txt:0"),
        ("new.txt", "new.txt:1"),
        ("undated.txt", "undated.txt:0"),
    ]


def test_a_timeline_question_is_asked_for_dated_sentences_oldest_first() -> None:
    ps = [passage("old.txt", "2025-01-10"), passage("new.txt", "2026-05-02")]
    excerpts = [p.text for p in ps]
    plain = text_messages("How did it develop?", ps, excerpts)[1]["content"]
    timeline = text_messages("How did it develop?", ps, excerpts, timeline=True)[1]["content"]
    assert "oldest first" not in plain and "oldest first" in timeline
    assert 'published="2025-01-10"' in timeline
    structured = build_messages("How did it develop?", ps, excerpts, timeline=True)[1]["content"]
    assert "oldest first" in structured


def test_a_question_about_several_articles_is_asked_for_each() -> None:
    ps = [passage("a.txt", None), passage("b.txt", None)]
    user = text_messages("Do the two articles agree?", ps, [p.text for p in ps], multi=True)
    assert "from each article" in user[1]["content"]


def test_a_figure_from_articles_of_several_dates_is_asked_newest_first() -> None:
    two_dates = [passage("old.txt", "2025-05-20"), passage("new.txt", "2025-06-13")]
    one_date = [passage("a.txt", "2025-05-20"), passage("b.txt", "2025-05-20")]
    for ps, wanted in ((two_dates, True), (one_date, False)):
        excerpts = [p.text for p in ps]
        user = text_messages("How many ships?", ps, excerpts, figures=True)[1]["content"]
        assert ("newest figure first" in user) is wanted
        json_user = build_messages("How many ships?", ps, excerpts, figures=True)[1]["content"]
        assert ("newest figure" in json_user) is wanted
    user = text_messages("Who won?", two_dates, ["a", "b"])[1]["content"]
    assert "newest figure" not in user


def said(text: str, source: str = "a.txt") -> Passage:
    return Passage(source, f"{source}:0", 0, len(text), text, title="Harbour news")


def test_a_reply_repeating_the_prompts_example_is_told_from_an_answer() -> None:
    """A small model sometimes copies the system prompt's example answer into its reply;
    that sentence is dropped, the rest kept.  An article that is itself about a library
    closing holds those words, so its sentences are never taken for the example."""
    harbour = [said("The harbour reopened on Monday after the storm, the port authority said.")]
    reply = (
        "The council is closing the Elm Street library because of a $2 million budget gap [1]. "
        "The harbour reopened on Monday [1]."
    )
    assert without_example(reply, harbour) == "The harbour reopened on Monday [1]."
    assert without_example(reply.split(". ")[0] + ".", harbour) == ""
    assert without_example("The harbour reopened on Monday [1].", harbour) == (
        "The harbour reopened on Monday [1]."
    )
    library = [said("The council will close the Elm Street library, citing a $2 million gap.")]
    assert not echoes_example(
        "The council is closing the Elm Street library because of a budget gap.", library
    )
    assert not echoes_example("I cannot find the answer in the articles.", harbour)


def test_each_article_gives_its_outlet_once() -> None:
    ps = [passage("a.txt", "2025-05-20", 0), passage("a.txt", "2025-05-20", 1)]
    ps = [replace(p, outlet="Harbour Gazette") for p in ps]
    user = text_messages("Who?", ps, [p.text for p in ps])[1]["content"]
    assert user.count('outlet="Harbour Gazette"') == 1


def test_a_question_for_the_latest_is_asked_to_answer_from_the_newest_article() -> None:
    ps = [passage("new.txt", "2025-06-13"), passage("old.txt", "2025-05-20")]
    excerpts = [p.text for p in ps]
    assert (
        "most recently published"
        in text_messages("Latest?", ps, excerpts, latest=True)[1]["content"]
    )
    assert (
        "most recently published"
        in build_messages("Latest?", ps, excerpts, latest=True)[1]["content"]
    )
    assert "most recently published" not in text_messages("What?", ps, excerpts)[1]["content"]


def test_a_yes_no_question_is_shown_how_a_passage_saying_not_answers_it() -> None:
    ps = [passage("a.txt", "2025-06-13")]
    excerpts = [p.text for p in ps]
    asked = text_messages("Has it been confirmed?", ps, excerpts, yes_no=True)[1]["content"]
    assert 'start with "Yes," or "No,"' in asked and "has not commented [1]" in asked
    # Below the passages, above the question, as the other instructions are.
    assert asked.index("has not commented") < asked.index("Question: Has it been confirmed?")
    assert "has not commented" not in text_messages("Who?", ps, excerpts)[1]["content"]


def test_excerpts_read_table_rows_with_their_headers(embedder: Embedder) -> None:
    text = (
        "Analysts compared the two positions. They differ most on territory.\n"
        "| Aspect | Trump Plan | Putin's Position |\n"
        "|---|---|---|\n"
        "| Territorial Control | Supports Russian influence zones | Seeks full recognition |\n"
        "Countermeasures include:\n"
        "- Reinforcing NATO's eastern flank.\n"
        "- Increasing investment in cyber defense."
    )
    p = one_passage(text)
    [whole] = select_context("What is Putin's position?", [p], 2000, Verifier(embedder))
    assert whole == (
        "Analysts compared the two positions. They differ most on territory. "
        "Aspect: Territorial Control; Trump Plan: Supports Russian influence zones; "
        "Putin's Position: Seeks full recognition. "
        "Countermeasures include:\n"
        "- Reinforcing NATO's eastern flank.\n"
        "- Increasing investment in cyber defense."
    )
    # A heading or an item without a full stop does not run into the next sentence.
    headed = "Concluding Remarks\nTalks stalled. Both sides wait.\n- No date is set\nEnvoys left."
    q = one_passage(headed, "b.txt")
    [lines] = select_context("Concluding remarks on the talks", [q], 2000, Verifier(embedder))
    assert (
        lines
        == "Concluding Remarks\nTalks stalled. Both sides wait.\n- No date is set\nEnvoys left."
    )
    [short] = select_context("What is Putin's position on territory?", [p], 120, Verifier(embedder))
    assert short.startswith("Aspect: Territorial Control;") or " … Aspect: Territorial" in short


def test_a_list_is_given_in_its_order_not_cut_to_its_nearest_items(embedder: Embedder) -> None:
    text = (
        "The mayor spoke on Monday. Her resistance is fuelled by three concerns:\n"
        "- Budgets: the city's reserves are nearly spent.\n"
        "- Schools: two schools need new roofs.\n"
        "- Transit: the tram line is years late.\n"
        "The weather was mild and the crowd was small. Several residents left early."
    )
    p = one_passage(text)
    # A budget for the lead-in and the three items, but not every sentence.
    [kept] = select_context("What concerns fuel her resistance?", [p], 180, Verifier(embedder))
    items = [line for line in text.splitlines() if line.startswith("- ")]
    assert all(item in kept for item in items), kept


def test_a_numbered_list_of_two_sentence_items_is_given_whole(embedder: Embedder) -> None:
    text = (
        "The mayor spoke on Monday. Her resistance is fuelled by three concerns:\n"
        "1. Budgets. The city's reserves are nearly spent.\n"
        "2. Schools. Two schools need new roofs.\n"
        "3. Transit. The tram line is years late.\n"
        "The weather was mild and the crowd was small. Several residents left early."
    )
    [kept] = select_context(
        "What concerns fuel her resistance?", [one_passage(text)], 200, Verifier(embedder)
    )
    items = [line for line in text.splitlines() if line[0].isdigit()]
    assert all(item in kept for item in items), kept
