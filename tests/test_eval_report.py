"""The markdown report, its plot and the saved results of an evaluation run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag import eval_report as rep
from rag import evaluation as ev
from rag.answering import Answer
from rag.citations import Citation, Sentence
from rag.config import Settings
from rag.retrieval import Passage

GOLD = ev.Evidence("a.txt", 100, 160, "cited unresolved sanctions and NATO expansion")
ITEM = ev.EvalItem(
    id="x", question="Why did the Kremlin reject the plan?", answerable=True,
    category="single_fact", gold_sources=["a.txt"], evidence=[GOLD],
    key_facts=[["sanctions"], ["NATO"]],
)  # fmt: skip
LURE = ev.EvalItem(id="y", question="What did the Pope say?", answerable=False, category="lure")
ON_GOLD = Passage("a.txt", "a-1", 80, 300, "…sanctions and NATO expansion…")
OFF_GOLD = Passage("a.txt", "a-2", 400, 600, "…an unrelated part of a.txt…")


def answered(text: str, passage: Passage) -> Answer:
    c = Citation(1, passage.source, passage.chunk_id, passage.start, passage.end, passage.text,
                 "", True, 0.9, passage.start, passage.end)  # fmt: skip
    return Answer(
        question="q", query="q", answer=f"{text}[1]", refused=False, fallback=None,
        citations=[c], passages=[passage], sentences=[Sentence(text, [1], True)],
        timings={"total": 1.0},
    )  # fmt: skip


def hand_run() -> ev.EvalRun:
    scores = [
        ev.score(ITEM, answered("Sanctions and NATO.", ON_GOLD), 1.0),
        ev.score(ITEM, answered("Sanctions and NATO.", OFF_GOLD), 2.0),
        ev.score(LURE, answered("The Pope approved.", OFF_GOLD), 3.0),
    ]
    scores[0].id, scores[1].id, scores[2].id = "good", "badcite", "lured"
    return ev.EvalRun("hand", scores, "2025-01-01T00:00:00", 6.0, ev.describe_setup(Settings()))


def test_the_report_lists_failures_first_with_answer_and_citations(tmp_path: Path) -> None:
    text = rep.write_report(hand_run(), tmp_path / "r").read_text()
    ids = [line.split("|")[1].strip() for line in text.splitlines()
           if line.startswith(("| good ", "| badcite ", "| lured "))]  # fmt: skip
    assert ids[-1] == "good" and set(ids) == {"good", "badcite", "lured"}
    assert "1 of 3 items passed" in text
    assert "### lured (lure): answered instead of refusing" in text
    assert "### badcite (single_fact): citation recall 0.00; citation precision 0.00" in text
    assert "**A:** The Pope approved.[1]" in text
    assert "- [1] a.txt 400-600 (verifier: supported)" in text
    assert "| citation_recall | 0.500 | answered answerable |" in text
    assert "pinned today" not in text


def test_a_suite_asked_as_of_a_pinned_day_says_so(tmp_path: Path) -> None:
    run = hand_run()
    run.setup["today"] = "2025-06-16"
    text = rep.write_report(run, tmp_path / "r").read_text()
    assert "Asked as of 2025-06-16 (pinned today)." in text


def test_the_report_comes_with_a_plot_and_results_the_page_can_load(tmp_path: Path) -> None:
    run = hand_run()
    rep.write_report(run, tmp_path / "r")
    assert (tmp_path / "r" / "metrics.png").read_bytes().startswith(b"\x89PNG")
    saved = rep.load_results(tmp_path / "r" / "results.json")
    assert saved["totals"] == run.totals and len(saved["items"]) == 3
    assert saved["items"][1]["citations"][0]["gold_supported"] is False

    settings = Settings()
    assert rep.latest_results(settings, extra_dirs=[tmp_path]) == tmp_path / "r" / "results.json"
    newer = rep.save_results(run, settings.home / "eval-results" / "hand.json")
    assert rep.latest_results(settings, extra_dirs=[tmp_path]) == newer


def test_a_file_that_is_no_saved_run_fails_in_one_sentence(tmp_path: Path) -> None:
    bad = tmp_path / "results.json"
    bad.write_text("not json")
    with pytest.raises(ev.EvalError) as err:
        rep.load_results(bad)
    assert str(err.value) == f"{bad} is not a saved evaluation; run `rag eval --report DIR`."


def test_with_no_run_of_its_own_the_page_shows_the_run_the_floors_were_measured_on(
    tmp_path: Path,
) -> None:
    # Not the newest committed report: that may be an experiment or another suite.
    root = Path(rep.__file__).resolve().parents[1]
    measured = json.loads((root / "eval" / "floors.json").read_text())["measured"]["report"]
    found = rep.latest_results(Settings(home=tmp_path / "home"))
    assert found == root / Path(measured).parent / "results.json"
