"""The metric registry and the suite totals: one list of metrics that every table reads."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

import pytest
from eval_items import (
    GOLD_A,
    P_GOLD_A,
    P_OTHER_A,
    SINGLE,
    UNANSWERABLE,
    answer,
    refusal,
)

from rag import eval_metrics as metrics
from rag import eval_scoring as sc
from rag.eval_suite import EvalItem

REPO = Path(__file__).resolve().parents[1]


def test_totals_are_macro_means_over_the_items_each_metric_applies_to() -> None:
    perfect = sc.score(SINGLE, answer([("Sanctions and NATO.", [1], True)], [P_GOLD_A]), 1.0)
    half = sc.score(
        SINGLE,
        answer([("Sanctions.", [1], True), ("And NATO.", [], False)], [P_GOLD_A]),
        3.0,
    )
    refused_right = sc.score(UNANSWERABLE, refusal(), 5.0)
    refused_wrong = sc.score(SINGLE, refusal([P_OTHER_A]), 7.0)
    total = metrics.totals([perfect, half, refused_right, refused_wrong])
    assert total["n"] == 4 and total["n_answerable"] == 3 and total["n_answered"] == 2
    assert total["citation_recall"] == 0.75  # (1 + 0.5) / 2 answered answerable
    assert total["citation_precision"] == 1.0
    assert total["answer_accuracy"] == 0.75  # all but refused_wrong
    assert total["refusal_accuracy"] == 0.75
    assert total["retrieval_recall_at_5"] == pytest.approx(2 / 3, abs=1e-4)
    assert total["latency_p50"] == 4.0 and total["latency_p95"] == pytest.approx(6.7)
    assert total["passed"] == 2
    assert set(metrics.HEADLINE) <= set(total)


# --- one registry: every list of metrics is read from it ------------------------------


def test_every_registered_metric_is_computed_and_every_mean_is_an_item_field() -> None:
    squad = EvalItem(
        id="q", question="Why?", answerable=True, category="squad_answerable",
        gold_sources=["a.txt"], evidence=[GOLD_A], key_facts=[["sanctions"]],
        answers=["sanctions"],
    )  # fmt: skip
    scores = [
        sc.score(squad, answer([("Officials cited sanctions.", [1], True)], [P_GOLD_A]), 1.0),
        sc.score(UNANSWERABLE, refusal(), 2.0),
    ]
    total = metrics.totals(scores)
    assert [m.name for m in metrics.METRICS if m.name not in total] == []
    item_fields = {f.name for f in fields(sc.ItemScore)}
    assert {m.item_field or m.name for m in metrics.MEANS} <= item_fields
    assert len(metrics.BY_NAME) == len(metrics.METRICS)  # no name twice


def test_the_json_headline_leads_and_the_tables_follow_the_registry() -> None:
    assert metrics.HEADLINE[-1] == "n"
    assert [m.name for m in metrics.METRICS[: len(metrics.HEADLINE) - 1]] == list(
        metrics.HEADLINE[:-1]
    )
    from rag.eval_report import metric_rows

    assert [name for name, _, _ in metric_rows({})] == [m.name for m in metrics.METRICS]
    order = metrics.plot_order()
    assert order.index("verifier_recall") == order.index("citation_recall") + 1
    assert all(m.label for m in metrics.shown("by_category") + metrics.shown("per_item"))


def test_the_floors_file_holds_exactly_the_floored_metrics() -> None:
    floors = json.loads((REPO / "eval" / "floors.json").read_text(encoding="utf-8"))
    assert list(floors["floors"]) == list(metrics.FLOORED)


def test_the_page_shows_the_metrics_the_registry_marks_for_it() -> None:
    # The page's eval panel lists what the library's summary of a saved run says to show:
    # exactly the registry's ON_PAGE metrics, by name.
    import rag

    saved = REPO / "eval" / "reports" / "seeds-2026-11-30-vetted" / "results.json"
    summary = rag.eval_summary(saved)
    assert summary["shown"] == list(metrics.ON_PAGE) and summary["suite"] == "seeds"
    assert metrics.ON_PAGE and all(title for _, title in metrics.ON_PAGE)
    source = (REPO / "ui" / "app.py").read_text(encoding="utf-8")
    assert 'saved["shown"]' in source and "eval_metrics" not in source
