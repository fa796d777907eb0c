"""Time words in a question -> a date window, by code, against a pinned "today"."""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

import pytest
from conftest import closed_port_url, run_process
from typer.testing import CliRunner

from rag import indexer
from rag.cli import app
from rag.config import Settings
from rag.embeddings import Embedder
from rag.errors import RagError
from rag.timeframe import TimeFrame, TimeFrameError, parse_since, resolve

REPO = Path(__file__).resolve().parents[1]
RAG = str(REPO / ".venv" / "bin" / "rag")
TODAY = date(2026, 11, 30)  # a Monday


@pytest.mark.parametrize(
    ("question", "after", "before", "label"),
    [
        # days
        ("What happened today?", "2026-11-30", "2026-11-30", "30 Nov 2026"),
        ("What did the minister say yesterday?", "2026-11-29", "2026-11-29", "29 Nov 2026"),
        ("What was announced this morning", "2026-11-30", "2026-11-30", "30 Nov 2026"),
        ("what happened last night", "2026-11-29", "2026-11-30", "29–30 Nov 2026"),
        ("the vote 3 days ago", "2026-11-27", "2026-11-27", "27 Nov 2026"),
        ("What happened on 5 June 2025?", "2025-06-05", "2025-06-05", "5 Jun 2025"),
        ("What happened on June 5, 2025?", "2025-06-05", "2025-06-05", "5 Jun 2025"),
        ("the 5th of June 2025 protests", "2025-06-05", "2025-06-05", "5 Jun 2025"),
        ("What happened on 2025-06-05?", "2025-06-05", "2025-06-05", "5 Jun 2025"),
        ("2025-06-05 protest coverage", "2025-06-05", "2025-06-05", "5 Jun 2025"),
        # calendar weeks, months, years
        ("news this week", "2026-11-30", "2026-11-30", "30 Nov 2026"),
        ("What happened last week?", "2026-11-23", "2026-11-29", "23–29 Nov 2026"),
        ("What happened the previous week?", "2026-11-23", "2026-11-30", "23–30 Nov 2026"),
        ("two weeks ago", "2026-11-16", "2026-11-22", "16–22 Nov 2026"),
        ("protests last weekend", "2026-11-28", "2026-11-29", "28–29 Nov 2026"),
        ("What changed this month?", "2026-11-01", "2026-11-30", "Nov 2026"),
        ("What happened last month?", "2026-10-01", "2026-10-31", "Oct 2026"),
        ("a month ago", "2026-10-01", "2026-10-31", "Oct 2026"),
        ("earlier this year", "2026-01-01", "2026-11-30", "Jan–Nov 2026"),
        ("What happened last year?", "2025-01-01", "2025-12-31", "2025"),
        # rolling periods
        ("in the past 7 days", "2026-11-23", "2026-11-30", "23–30 Nov 2026"),
        ("over the last three weeks", "2026-11-09", "2026-11-30", "9–30 Nov 2026"),
        ("in the past week", "2026-11-23", "2026-11-30", "23–30 Nov 2026"),
        ("in the last week", "2026-11-23", "2026-11-30", "23–30 Nov 2026"),
        ("this past week", "2026-11-23", "2026-11-30", "23–30 Nov 2026"),
        ("the past two months", "2026-09-30", "2026-11-30", "30 Sep–30 Nov 2026"),
        ("past couple of weeks", "2026-11-16", "2026-11-30", "16–30 Nov 2026"),
        ("the past 24 hours", "2026-11-29", "2026-11-30", "29–30 Nov 2026"),
        ("over the past year", "2025-11-30", "2026-11-30", "30 Nov 2025–30 Nov 2026"),
        # since / before / after / until
        ("What has happened since May?", "2026-05-01", None, "since 1 May 2026"),
        ("since May 2025", "2025-05-01", None, "since 1 May 2025"),
        ("since 3 March", "2026-03-03", None, "since 3 Mar 2026"),
        ("since March 3rd", "2026-03-03", None, "since 3 Mar 2026"),
        ("since December", "2025-12-01", None, "since 1 Dec 2025"),
        ("since last week", "2026-11-23", None, "since 23 Nov 2026"),
        ("since 2025-06-05", "2025-06-05", None, "since 5 Jun 2025"),
        ("before 2025", None, "2024-12-31", "until 31 Dec 2024"),
        ("after May 2025", "2025-06-01", None, "since 1 Jun 2025"),
        ("until March 2025", None, "2025-03-31", "until 31 Mar 2025"),
        ("since May but before July", "2026-05-01", "2026-06-30", "May–Jun 2026"),
        # named years and months
        ("What happened in 2025?", "2025-01-01", "2025-12-31", "2025"),
        ("in early 2025", "2025-01-01", "2025-12-31", "2025"),
        ("in May 2025", "2025-05-01", "2025-05-31", "May 2025"),
        ("in Sept 2025", "2025-09-01", "2025-09-30", "Sep 2025"),
        ("What did Reuters say in May about the talks?", "2026-05-01", "2026-05-31", "May 2026"),
        ("what happened in december", "2025-12-01", "2025-12-31", "Dec 2025"),
        ("in November", "2026-11-01", "2026-11-30", "Nov 2026"),
        ("in March last year", "2025-03-01", "2025-03-31", "Mar 2025"),
        ("in 2025-06", "2025-06-01", "2025-06-30", "Jun 2025"),
        ("in 2025 and 2026", "2025-01-01", "2026-12-31", "2025–2026"),
        ("in 2024 and in 2025", "2024-01-01", "2025-12-31", "2024–2025"),
        ("in May and June 2025", "2025-05-01", "2025-06-30", "May–Jun 2025"),
        ("during 2020-2025", "2020-01-01", "2025-12-31", "2020–2025"),
        # ranges
        ("between May and July 2025", "2025-05-01", "2025-07-31", "May–Jul 2025"),
        ("between November and February", "2025-11-01", "2026-02-28", "Nov 2025–Feb 2026"),
        ("between 2024 and 2025", "2024-01-01", "2025-12-31", "2024–2025"),
        ("from March to June 2025", "2025-03-01", "2025-06-30", "Mar–Jun 2025"),
        ("between 3 March and 5 April 2025", "2025-03-03", "2025-04-05", "3 Mar–5 Apr 2025"),
        # weekdays
        ("What happened last Monday?", "2026-11-23", "2026-11-23", "23 Nov 2026"),
        ("last Sunday", "2026-11-29", "2026-11-29", "29 Nov 2026"),
    ],
)
def test_time_words_resolve_to_a_window(
    question: str, after: str | None, before: str | None, label: str
) -> None:
    frame = resolve(question, TODAY)

    assert frame is not None
    assert (frame.after, frame.before, frame.label) == (after, before, label)
    words = " ".join(question.lower().split())
    assert all(part.lower() in words for part in frame.phrase.split(", ")), frame.phrase
    assert not frame.latest


@pytest.mark.parametrize(
    "question",
    [
        "What do the articles say about the ferry strike?",
        "the 2025 budget",  # a year naming a thing
        "What is in the 2025 budget?",
        "cuts in 2025 budget talks",
        "the May 2025 election results",
        "a report in 2000 words",
        "over 2000 people protested",
        "after 2000 people protested",
        "Prices may be rising",  # a modal verb
        "since may be the reason",
        "They march on the capital",  # a verb
        "before march on Sunday",
        "since May resigned",  # a person
        "What did May say about Brexit?",
        "What did USA Today report?",  # an outlet
        "last year's budget",  # possessives name a thing
        "last weekend's protests",
        "today's Iran",
        "the last week of May",
        "What was agreed on the last day of the summit?",
        "What is planned for next week?",
        "What happens in 2027?",  # ahead of today: plans, reported before they happen
        "in the past few days",  # no number to count
        "in 2024-25",  # a season or a fiscal year: not one calendar year
        "in 2024–25",
        "in 2025/26",
        "on 30 February",
        "2025-13-01",
        "on Monday",  # a bare weekday: this week's or last week's
        "before the election",
        "",
    ],
)
def test_no_time_expression_is_none(question: str) -> None:
    assert resolve(question, TODAY) is None


@pytest.mark.parametrize(
    ("question", "after", "before", "label"),
    [
        ("What is the latest on the talks?", None, None, "newest first"),
        ("most recent figures for inflation", None, None, "newest first"),
        ("What is the newest estimate", None, None, "newest first"),
        ("How many have died so far?", None, None, "newest first"),
        ("What has changed recently", None, None, "newest first"),
        ("what is currently known", None, None, "newest first"),
        ("the death toll as of today", None, None, "newest first"),
        ("so far this year", "2026-01-01", "2026-11-30", "Jan–Nov 2026 · newest first"),
        ("as of May 2025", None, "2025-05-31", "until 31 May 2025 · newest first"),
    ],
)
def test_latest_asks_for_the_newest(
    question: str, after: str | None, before: str | None, label: str
) -> None:
    frame = resolve(question, TODAY)

    assert frame is not None and frame.latest
    assert (frame.after, frame.before, frame.label) == (after, before, label)


def test_phrase_keeps_the_questions_words() -> None:
    frame = resolve("What did Reuters say  since MAY 2025 about the talks?", TODAY)

    assert frame == TimeFrame(
        after="2025-05-01",
        before=None,
        latest=False,
        phrase="since MAY 2025",
        label="since 1 May 2025",
    )


@pytest.mark.parametrize(
    ("today", "question", "after", "before"),
    [
        # year boundaries
        (date(2026, 1, 15), "last month", "2025-12-01", "2025-12-31"),
        (date(2026, 1, 15), "last year", "2025-01-01", "2025-12-31"),
        (date(2027, 1, 3), "last week", "2026-12-21", "2026-12-27"),  # a Sunday
        (date(2026, 1, 1), "this week", "2025-12-29", "2026-01-01"),
        (date(2026, 1, 1), "in December", "2025-12-01", "2025-12-31"),
        (date(2026, 1, 1), "yesterday", "2025-12-31", "2025-12-31"),
        # month ends and leap years
        (date(2024, 3, 31), "the past month", "2024-02-29", "2024-03-31"),
        (date(2026, 3, 31), "the past month", "2026-02-28", "2026-03-31"),
        (date(2024, 3, 1), "last month", "2024-02-01", "2024-02-29"),
        (date(2025, 3, 1), "since 29 February", "2024-02-29", None),
        (date(2024, 2, 29), "the past year", "2023-02-28", "2024-02-29"),
        (date(2026, 5, 10), "in May", "2026-05-01", "2026-05-31"),
        (date(2026, 3, 3), "since 3 March", "2026-03-03", None),
        # weekdays: when "last Monday" may be this week's or last week's, both are kept
        (date(2026, 12, 2), "last Monday", "2026-11-23", "2026-11-30"),
        (date(2026, 12, 5), "last Friday", "2026-11-27", "2026-12-04"),
        (date(2026, 12, 5), "last Sunday", "2026-11-29", "2026-11-29"),
        # weekends: the previous week's, and this one only once it has begun
        (date(2026, 11, 29), "last weekend", "2026-11-21", "2026-11-22"),
        (date(2026, 11, 28), "this weekend", "2026-11-28", "2026-11-28"),
        (date(2026, 11, 25), "this weekend", None, None),
    ],
)
def test_edges_of_the_calendar(
    today: date, question: str, after: str | None, before: str | None
) -> None:
    frame = resolve(question, today)

    if after is None and before is None:
        assert frame is None
    else:
        assert frame is not None and (frame.after, frame.before) == (after, before)


@pytest.mark.parametrize(
    ("value", "start"),
    [
        ("7d", "2026-03-24"),
        ("2w", "2026-03-17"),
        ("3m", "2025-12-31"),
        ("1m", "2026-02-28"),  # 31 March less a month: the end of February
        ("1y", "2025-03-31"),
        (" 30D ", "2026-03-01"),
        ("0d", "2026-03-31"),
        ("2026-01-01", "2026-01-01"),
    ],
)
def test_parse_since(value: str, start: str) -> None:
    assert parse_since(value, date(2026, 3, 31)) == start


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("7x", "7d, 2w, 3m, 1y"),
        ("yesterday", "YYYY-MM-DD"),
        ("-3d", "7d"),
        ("", "7d"),
        ("2026-02-30", "exists"),
        ("2027-01-01", "after today (2026-11-30)"),
        ("999999y", "shorter period"),
    ],
)
def test_bad_since_values_are_one_sentence(value: str, words: str) -> None:
    with pytest.raises(TimeFrameError) as info:
        parse_since(value, TODAY)

    message = str(info.value)
    assert isinstance(info.value, RagError)
    assert words in message and message.startswith("--since")
    assert "\n" not in message and message.endswith(".")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["search", "ferry", "--since", "7x"], "is not a period or a date"),
        (["ask", "ferry", "--since", "7x"], "is not a period or a date"),
        (["search", "ferry", "--since", "2027-01-01"], "after today (2026-11-30)"),
        (["search", "ferry", "--since", "7d", "--after", "2026-01-01"], "give only one"),
        (["ask", "ferry", "--since", "7d", "--before", "2026-11-01"], "widen one of them"),
        (["search", "ferry", "--since", "7d", "--before", "soon"], "--before 'soon'"),
    ],
)
def test_bad_since_from_the_real_cli(args: list[str], words: str) -> None:
    env = {**os.environ, "RAG_TODAY": "2026-11-30"}  # RAG_HOME is a temp dir

    result = run_process([RAG, *args], env=env, capture_output=True, text=True, timeout=120)

    assert result.returncode == 1 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: --"), result.stderr
    assert words in lines[0] and "Traceback" not in result.stderr


def test_since_filters_a_real_search(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embedder: Embedder
) -> None:
    folder = tmp_path / "dated"
    folder.mkdir()
    for name, when, topic in [
        ("early.md", "2024-01-10", "northern"),
        ("middle.md", "2024-03-05", "western"),
        ("late.md", "2024-06-20", "southern"),
    ]:
        (folder / name).write_text(
            f"---\ntitle: {topic} update\ndate: {when}\n---\n\n"
            f"Officials gave an update on the {topic} harbour project on {when}. "
            f"The {topic} harbour will open to ferries next spring, they said.\n",
            encoding="utf-8",
        )
    monkeypatch.setenv("RAG_ARTICLES_DIR", str(folder))
    monkeypatch.setenv("RAG_TODAY", "2024-06-25")
    indexer.run(Settings(), embedder=embedder)

    def sources(since: str) -> set[str]:
        args = ["search", "harbour ferries", "-k", "10", "--json", "--since", since]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        return {p["source"] for p in json.loads(result.stdout)["passages"]}

    assert sources("7d") == {"late.md"}  # counted back from the pinned today
    assert sources("2024-03-01") == {"middle.md", "late.md"}
    assert sources("1y") == {"early.md", "middle.md", "late.md"}

    # rag ask --json says which window it answered from, whoever gave it (the LLM is down:
    # the answer is quoted from the passages, as it would be on any machine without one).
    monkeypatch.setenv("RAG_LLM_BASE_URL", closed_port_url())
    monkeypatch.setenv("RAG_LLM_MAX_RETRIES", "0")
    result = CliRunner().invoke(
        app, ["ask", "When will ferries use the harbour?", "--json", "--since", "7d"]
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    window = out["date_filter"]
    assert (window["from"], window["after"], window["before"]) == ("filters", "2024-06-18", None)
    assert window["label"] == "since 18 Jun 2024"
    assert out["citations"] and {c["source"] for c in out["citations"]} == {"late.md"}
    for item in [*out["citations"], *out["passages"]]:
        assert item["published"] == "2024-06-20" and {"author", "outlet"} <= set(item)
    result = CliRunner().invoke(app, ["ask", "What happened in the last week?", "--json"])
    window = json.loads(result.stdout)["date_filter"]
    assert (window["from"], window["after"], window["before"]) == (
        "question",
        "2024-06-18",
        "2024-06-25",
    )  # "the last week": the past seven days, today included


def test_the_words_that_gave_a_window_can_be_left_out_of_the_question() -> None:
    q = "What did Reuters say in May about the talks?"
    frame = resolve(q, date(2026, 11, 30))
    assert frame is not None
    assert frame.outside(q) == "What did Reuters say about the talks?"
