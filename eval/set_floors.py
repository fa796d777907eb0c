"""Set eval/floors.json (the floors CI holds the seed suite to) from a full report.

    .venv/bin/python eval/set_floors.py eval/reports/seeds-<date> [--subset 30]
    .venv/bin/python eval/set_floors.py eval/reports/dated-<date> --suite dated

The dated suite (13 questions) is answered whole in CI; its floors go to
eval/floors-dated.json.

CI answers a fixed subset (``evaluation.sample(seeds, subset)``: evenly spaced items
of each category, in file order), so each floor is that subset's value in the given
full run, minus max(0.05, two items of the metric's denominator), rounded down to two
decimals: an item or two going the other way (llama.cpp's prompt cache makes answers
differ slightly with what was asked before) must not fail CI; a real regression must.  Raise floors as the product improves; never lower them to pass.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from rag import eval_metrics  # noqa: E402
from rag import evaluation as ev  # noqa: E402

FLOORS = REPO / "eval" / "floors.json"


def floors_path(suite: str) -> Path:
    """Where the floors of ``suite`` are kept: eval/floors.json for the seeds."""
    return FLOORS if suite == "seeds" else REPO / "eval" / f"floors-{suite}.json"
METRICS = eval_metrics.FLOORED  # the registry says which metrics have floors


def floor(value: float, denominator: int) -> float:
    slack = max(0.05, 2 / denominator) if denominator else 0.05
    return max(0.0, math.floor((value - slack) * 100) / 100)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("report", type=Path, help="a folder written by `rag eval --report`")
    parser.add_argument("--subset", type=int, default=None, help="seeds: 30; dated: all")
    parser.add_argument("--suite", default="seeds", choices=["seeds", "dated"])
    args = parser.parse_args(argv)
    if args.subset is None:
        args.subset = 30 if args.suite == "seeds" else 0
    saved = json.loads((args.report / "results.json").read_text(encoding="utf-8"))
    suite = ev.load_suite(args.suite)
    if saved["setup"].get("items_selected") != len(suite.items):
        print(
            f"The report is not a full run of the {args.suite} suite; "
            f"run `rag eval --suite {args.suite} --report DIR`."
        )
        return 2
    run = ev.rescore(saved, suite)
    chosen = {it.id for it in ev.sample(suite.items, args.subset or None)}
    subset = [s for s in run.scores if s.id in chosen]
    sub, full = ev.totals(subset), ev.totals(run.scores)
    floors = {}
    for name in METRICS:
        if sub.get(name) is None:
            continue
        # The denominator: the items the metric applies to (its per-item value is not None).
        field = eval_metrics.BY_NAME[name].item_field or name
        n = sum(getattr(s, field) is not None for s in subset)
        floors[name] = floor(sub[name], n)
    # A floor never goes down: one an earlier measurement set higher stays.
    path = floors_path(args.suite)
    if path.exists():
        before = json.loads(path.read_text(encoding="utf-8")).get("floors", {})
        floors = {m: max(v, before.get(m, v)) for m, v in floors.items()}
    data = {
        "suite": args.suite,
        "subset": args.subset,
        "how": (
            f"CI runs evaluation.sample({args.suite}, subset) (0: every item): a fixed subset "
            "stratified by category "
            "(evenly spaced items of each category, in file order). Each floor is the subset's "
            "value in the full measurement below minus max(0.05, two items of the metric's "
            "denominator), rounded down to 2 decimals (eval/set_floors.py), unless an earlier "
            "measurement set it higher: a floor never goes down. Raise floors as "
            "the product improves; never lower them to pass."
        ),
        "measured": {
            "report": str((args.report / "report.md").resolve().relative_to(REPO)),
            "commit": saved["setup"].get("commit"),
            "subset_ids": sorted(chosen),
            "subset": {m: sub.get(m) for m in METRICS},
            "full": {m: full.get(m) for m in METRICS},
        },
        "floors": floors,
    }
    floors_path(args.suite).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(floors, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
