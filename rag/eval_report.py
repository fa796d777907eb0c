"""An evaluation run on paper: saved results, the markdown report and its plot.

``rag eval --report DIR`` writes ``report.md`` (totals, categories, then every item,
failures first with the answer and its citations), ``metrics.png`` and
``results.json``; the chat page reads the newest saved run through
:func:`latest_results`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from rag import checkout
from rag.config import Settings
from rag.eval_metrics import METRICS, plot_order, shown
from rag.eval_scoring import ItemScore
from rag.eval_suite import EvalError
from rag.evaluation import EvalRun


def save_results(run_: EvalRun, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(run_.to_dict(), ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def latest_results(settings: Settings, extra_dirs: Iterable[Path] = ()) -> Path | None:
    """The newest saved results.json of the last `rag eval` runs (and ``extra_dirs``);
    with none, the committed report the eval floors were measured on (the product as it
    ships, not the newest experiment), else the newest committed report."""
    candidates = list((settings.home / "eval-results").glob("*.json"))
    for d in extra_dirs:
        candidates += list(Path(d).glob("*/results.json"))
    candidates = [c for c in candidates if c.is_file()]
    if candidates:
        return max(candidates, key=lambda p: p.stat().st_mtime)
    measured = _measured_report()
    if measured is not None:
        return measured
    committed = [c for c in checkout.committed_reports().glob("*/results.json") if c.is_file()]
    return max(committed, key=lambda p: p.stat().st_mtime, default=None)


def _measured_report() -> Path | None:
    """The results.json of the run ``eval/floors.json`` names as its measurement."""
    try:
        report = json.loads(checkout.floors().read_text(encoding="utf-8"))["measured"]["report"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    results = checkout.ROOT / Path(str(report)).parent / "results.json"
    return results if results.is_file() else None


def load_results(path: Path) -> dict[str, Any]:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        raise EvalError(f"{path} is not a saved evaluation; run `rag eval --report DIR`.") from None


def metric_rows(total: dict[str, Any]) -> list[tuple[str, Any, str]]:
    """(metric, value, meaning) in a readable order; a metric with nothing to measure
    (e.g. citation recall when no answerable question was answered) shows as "–"."""
    return [(m.name, total.get(m.name), m.meaning) for m in METRICS]


def fmt(value: Any, name: str = "") -> str:
    """A metric value for a table: rates to 3 decimals, seconds to 1."""
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.1f}" if name.startswith(("latency", "first_token")) else f"{value:.3f}"
    return str(value)


def write_report(run_: EvalRun, directory: Path, notes: str = "") -> Path:
    """report.md (totals, categories, items with failures first), metrics.png, results.json.

    ``notes`` (markdown) go under the header: what a reader must know about the run.
    """
    directory.mkdir(parents=True, exist_ok=True)
    save_results(run_, directory / "results.json")
    plot(run_, directory / "metrics.png")
    total, setup = run_.totals, run_.setup
    lines = [
        f"# Evaluation: {run_.suite} suite",
        "",
        f"Run {run_.started}, {total['n']} items ({setup.get('items_in_suite')} in the suite), "
        f"{run_.seconds / 60:.1f} min; LLM {setup.get('llm')}, top_k {setup.get('top_k')}, "
        f"chunk {setup.get('chunk_chars')} chars, commit {setup.get('commit') or '?'}; "
        f"{setup.get('cpus')} CPUs, load average {setup.get('load_before')} at the start, "
        f"{setup.get('load_after')} at the end."
        + (f"  Asked as of {setup['today']} (pinned today)." if setup.get("today") else ""),
        "",
        f"{total['passed']} of {total['n']} items passed (right answer or refusal, and every "
        "sentence and citation supported).  Fallback answers: "
        f"{total['fallbacks']}.  Metric definitions: `rag/eval_metrics.py`.",
        "",
        *([notes.strip(), ""] if notes.strip() else []),
        "![metrics](metrics.png)",
        "",
        "| metric | value | over | meaning |",
        "|---|---|---|---|",
    ]
    for m in METRICS:
        lines.append(f"| {m.name} | {fmt(total.get(m.name), m.name)} | {m.over} | {m.meaning} |")
    columns = shown("by_category")
    lines += [
        "",
        "## By category",
        "",
        "| category | n | " + " | ".join(m.label for m in columns) + " |",
        "|---|---|" + "---|" * len(columns),
    ]
    for name, t in run_.categories.items():
        values = " | ".join(fmt(t[m.name], m.name) for m in columns)
        lines.append(f"| {name} | {t['n']} | {values} |")
    ordered = sorted(run_.scores, key=lambda s: (s.passed, _badness(s) * -1, s.id))
    columns = shown("per_item")
    lines += [
        "",
        "## Items (failures first)",
        "",
        "| id | category | ok | answer | refused | "
        + " | ".join(m.label for m in columns)
        + " | s |",
        "|---|---|---|---|---|" + "---|" * len(columns) + "---|",
    ]
    for s in ordered:
        values = " | ".join(fmt(getattr(s, m.name), m.name) for m in columns)
        lines.append(
            f"| {s.id} | {s.category} | {'✓' if s.passed else '✗'} "
            f"| {'✓' if s.answer_correct else '✗'} | {'yes' if s.refused else 'no'} "
            f"| {values} | {s.latency:.1f} |"
        )
    failures = [s for s in ordered if not s.passed]
    if failures:
        lines += ["", "## Failures in detail", ""]
        for s in failures:
            lines += _failure_block(s)
    path = directory / "report.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _badness(s: ItemScore) -> float:
    bad = (not s.answer_correct) + (not s.refusal_correct)
    bad += 1 - (s.citation_recall if s.citation_recall is not None else 1)
    bad += 1 - (s.citation_precision if s.citation_precision is not None else 1)
    return bad


def _one_line(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _failure_block(s: ItemScore) -> list[str]:
    why = []
    if not s.refusal_correct:
        why.append(
            "refused an answerable question" if s.refused else "answered instead of refusing"
        )
    elif not s.answer_correct:
        why.append("answer misses a key fact" if s.answerable else "refused but cited passages")
    if s.citation_recall is not None and s.citation_recall < 1:
        why.append(f"citation recall {s.citation_recall:.2f}")
    if s.citation_precision is not None and s.citation_precision < 1:
        why.append(f"citation precision {s.citation_precision:.2f}")
    out = [f"### {s.id} ({s.category}): {'; '.join(why)}", ""]
    for turn in s.history:
        out.append(f"- *{turn.get('role')}:* {_one_line(str(turn.get('content', '')))}")
    out += [f"**Q:** {_one_line(s.question)}", "", f"**A:** {_one_line(s.answer) or '(empty)'}", ""]
    if s.fallback:
        out += [f"Fallback: {s.fallback}", ""]
    missing = [i for i, found in enumerate(s.facts_found) if not found]
    if missing and s.answerable:
        out += [f"Missing key facts: {', '.join(f'#{i + 1}' for i in missing)}", ""]
    for j in s.sentences:
        marks = " ".join(
            f"[{n}]{'✓' if ok else '✗'}" for n, ok in zip(j.citations, j.precise, strict=True)
        )
        out.append(
            f"- sentence {'supported' if j.supported else 'UNSUPPORTED'} (verifier: "
            f"{'supported' if j.verifier else 'unsupported'}) {marks}: {_one_line(j.text)[:200]}"
        )
    for c in s.citations:
        out.append(
            f"- [{c['n']}] {c['source']} {c['start']}-{c['end']} (verifier: "
            f"{'supported' if c['supported'] else 'unsupported'}): {_one_line(c['text'])[:160]}…"
        )
    out.append("")
    return out


def plot(run_: EvalRun, path: Path) -> Path:
    """One PNG: headline metrics (gold vs verifier), accuracy by category, latency."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    total = run_.totals
    fig, axes = plt.subplots(1, 3, figsize=(16, 5), gridspec_kw={"width_ratios": [3, 3, 2]})
    names = [n for n in plot_order() if total.get(n) is not None]
    values = [total[n] for n in names]
    colors = ["#999999" if n.startswith("verifier") else "#3b6ea5" for n in names]
    ax = axes[0]
    ax.barh(names[::-1], values[::-1], color=colors[::-1])
    ax.set_xlim(0, 1)
    for y, v in enumerate(values[::-1]):
        inside = v > 0.85  # label inside the bar's end, where there is no room after it
        ax.text(
            v - 0.01 if inside else v + 0.01,
            y,
            f"{v:.2f}",
            va="center",
            fontsize=8,
            ha="right" if inside else "left",
            color="white" if inside else "black",
        )
    ax.set_title(f"{run_.suite}: totals (n={total['n']}; grey = library verifier)")
    cats = run_.categories
    labels = list(cats)
    xs = range(len(labels))
    ax = axes[1]
    width = 0.4
    acc = [cats[c]["answer_accuracy"] or 0 for c in labels]
    rec = [cats[c]["citation_recall"] or 0 for c in labels]
    ax.bar([x - width / 2 for x in xs], acc, width, label="answer accuracy", color="#3b6ea5")
    ax.bar([x + width / 2 for x in xs], rec, width, label="citation recall", color="#e3a33b")
    ax.set_xticks(
        list(xs), [f"{c}\n(n={cats[c]['n']})" for c in labels], rotation=45, ha="right", fontsize=8
    )
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8)
    ax.set_title("by category")
    ax = axes[2]
    latencies = [s.latency for s in run_.scores]
    ax.hist(latencies, bins=min(20, max(5, len(latencies) // 3)), color="#6a9f58")
    ax.set_xlabel("seconds per answer")
    p50, p95 = fmt(total["latency_p50"], "latency"), fmt(total["latency_p95"], "latency")
    ax.set_title(f"latency (p50 {p50} s, p95 {p95} s)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
