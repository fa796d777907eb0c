"""The metrics of `rag eval`: one registry, and the suite totals computed from it.

Every place that names metrics (the `rag eval` tables, the markdown report and its
plot, the page's eval panel, the floors CI holds the seed suite to) reads
:data:`METRICS`; adding a metric is one :class:`Metric` here plus its per-item value
in :mod:`rag.eval_scoring`.

Per item, for answerable questions the product answered (did not refuse):
  - ``citation_recall``    = supported sentences / sentences;
  - ``citation_precision`` = precise citations / citations, counting each [n]
    shown in a sentence; a citation is precise when its sentence is supported by
    all its citations together, and the citation either supports the sentence
    alone or is *needed* (the others without it do not).  An answer with no
    citation at all scores 0 (as in ALCE);
  - ``source_precision`` = cited files that are gold files / cited files (0 when
    nothing is cited), ``source_recall`` = gold files cited / gold files;
  - ``verifier_*``: the same recall and precision by the library's own verdicts
    (``Sentence.supported``, ``Citation.supported``), and how often those verdicts
    agree with the gold judgement (pooled over sentences, and over citations).
For every answerable question (refused or not):
  - ``retrieval_recall_at_5`` = key facts whose evidence overlaps one of the first
    five passages the answer was built from / key facts;
  - ``retrieval_mrr`` = 1 / rank of the first passage overlapping any gold span
    (0 when none does).
For every question:
  - ``answer_accuracy``: an answerable question is answered (not refused) and
    every key fact has an alternative in the answer text; an unanswerable one is
    refused with no citations;
  - ``refusal_accuracy``: refused exactly when the question is unanswerable;
  - latency: wall-clock seconds for the whole answer.
Totals are means over the items a metric applies to (macro averages, as in ALCE);
the verifier agreements are pooled over sentences and citations.

SQuAD 2.0 items carry the gold answers as one key fact (its alternatives) with the
answer spans as evidence, and add the official exact match and token F1 (SQuAD's
normalisation: lower case, no punctuation, no articles a/an/the, single spaces; a
refusal is the empty prediction, right for unanswerable questions) computed on
the answer text without its [n] markers, and ``squad_answer_recall``: the share of
answerable questions whose answer text contains a gold answer (normalised).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rag.eval_scoring import ItemScore


@dataclass(frozen=True)
class Metric:
    """One number `rag eval` reports, and where it is shown."""

    name: str  # the field in the totals (JSON) and, for means, on ItemScore
    meaning: str  # one line, as the tables show it
    label: str = ""  # a column header for the by-category and per-item tables
    over: str = "all"  # the items it is measured over
    mean: bool = True  # a macro mean of the per-item value; else computed in totals()
    item_field: str = ""  # the ItemScore field averaged, when it is not `name`
    headline: bool = False  # `rag eval --json` prints it first, in registry order
    floored: bool = False  # eval/floors.json holds the seed suite's CI subset to it
    on_page: bool = False  # the chat page's eval panel shows it
    by_category: bool = False  # a column of the by-category tables
    per_item: bool = False  # a column of the report's per-item table
    plotted: bool = False  # a bar in metrics.png
    mirrors: str = ""  # a verifier metric: the gold metric it is drawn beside

    @property
    def title(self) -> str:
        """The name as words, for the page: ``citation_precision`` → Citation precision."""
        return self.name.replace("_", " ").capitalize()


# The order is the order of the totals in results.json and `rag eval --json`, and of
# the rows of every table: the headline first.
METRICS: tuple[Metric, ...] = (
    Metric(
        "citation_precision", "citations that support their sentence and are needed",
        label="cit. P", over="answered answerable", headline=True, floored=True,
        on_page=True, by_category=True, per_item=True, plotted=True,
    ),
    Metric(
        "citation_recall", "answer sentences whose citations hold them (gold spans)",
        label="cit. R", over="answered answerable", headline=True, floored=True,
        on_page=True, by_category=True, per_item=True, plotted=True,
    ),
    Metric(
        "source_precision", "cited files that are gold files", label="src P",
        over="answered answerable", headline=True, floored=True, by_category=True,
        per_item=True, plotted=True,
    ),
    Metric(
        "source_recall", "gold files that are cited", label="src R",
        over="answered answerable", headline=True, floored=True, by_category=True,
        per_item=True, plotted=True,
    ),
    Metric(
        "answer_accuracy", "all key facts stated / unanswerable refused without citations",
        label="answer", item_field="answer_correct", headline=True, floored=True,
        on_page=True, by_category=True, plotted=True,
    ),
    Metric(
        "refusal_accuracy", "refused exactly when the articles do not answer",
        label="refusal", item_field="refusal_correct", headline=True, floored=True,
        on_page=True, by_category=True, plotted=True,
    ),
    Metric(
        "retrieval_recall_at_5", "key facts whose evidence is in the top 5 passages",
        label="R@5", over="answerable", headline=True, floored=True, by_category=True,
        per_item=True, plotted=True,
    ),
    Metric(
        "retrieval_mrr", "1 / rank of the first passage holding gold evidence",
        over="answerable", floored=True, plotted=True,
    ),
    Metric(
        "verifier_precision", "citations the library's verifier calls supporting",
        over="answered answerable", plotted=True, mirrors="citation_precision",
    ),
    Metric(
        "verifier_recall", "answer sentences the library's verifier calls supported",
        label="verifier R", over="answered answerable", per_item=True, plotted=True,
        mirrors="citation_recall",
    ),
    Metric("squad_exact_match", "SQuAD exact match of the whole answer text"),
    Metric("squad_f1", "SQuAD token F1 of the whole answer text", plotted=True),
    Metric(
        "squad_answer_recall", "answers containing a gold SQuAD answer", over="answerable",
        plotted=True,
    ),
    Metric(
        "answered_rate", "answerable questions answered (not refused)", over="answerable",
        mean=False,
    ),
    Metric("refusal_recall", "unanswerable questions refused", over="unanswerable", mean=False),
    Metric(
        "verifier_agreement", "sentences where verifier and gold judgement agree", mean=False
    ),
    Metric(
        "verifier_citation_agreement", "citations where verifier and gold judgement agree",
        mean=False,
    ),
    Metric("latency_p50", "seconds per answer, median", label="p50 s", mean=False,
           by_category=True),
    Metric("latency_p95", "seconds per answer, 95th percentile", mean=False),
    Metric("first_token_p50", "seconds to the first token, median", mean=False),
)  # fmt: skip

BY_NAME: dict[str, Metric] = {m.name: m for m in METRICS}
MEANS = tuple(m for m in METRICS if m.mean)
# The fields `rag eval --json` always prints, in this order.
HEADLINE: tuple[str, ...] = (*(m.name for m in METRICS if m.headline), "n")
FLOORED: tuple[str, ...] = tuple(m.name for m in METRICS if m.floored)
# (name, title) pairs, as the page's eval panel lists them.
ON_PAGE: tuple[tuple[str, str], ...] = tuple((m.name, m.title) for m in METRICS if m.on_page)


def shown(flag: str) -> list[Metric]:
    """The metrics a table shows, in registry order: ``by_category``, ``per_item``, ``on_page``."""
    return [m for m in METRICS if getattr(m, flag)]


def plot_order() -> list[str]:
    """The plotted metrics, each verifier metric right after the gold one it mirrors."""
    order = []
    for m in METRICS:
        if m.plotted and not m.mirrors:
            order.append(m.name)
            order += [v.name for v in METRICS if v.plotted and v.mirrors == m.name]
    return order


def totals(scores: Sequence[ItemScore]) -> dict[str, Any]:
    """Suite totals: macro means over applicable items, pooled agreements, latency."""
    out: dict[str, Any] = {}
    for m in MEANS:
        # A metric that does not apply to an item is None there and not averaged.
        values = [float(v) for s in scores if (v := getattr(s, m.item_field or m.name)) is not None]
        if values or m.headline:
            out[m.name] = round(sum(values) / len(values), 4) if values else None
    answerable = [s for s in scores if s.answerable]
    unanswerable = [s for s in scores if not s.answerable]
    out["n"] = len(scores)
    out["n_answerable"] = len(answerable)
    out["n_answered"] = sum(not s.refused for s in answerable)
    out["answered_rate"] = _ratio(sum(not s.refused for s in answerable), len(answerable))
    out["refusal_recall"] = _ratio(sum(s.refused for s in unanswerable), len(unanswerable))
    for name, attr in (
        ("verifier_agreement", "sentence_agreement"),
        ("verifier_citation_agreement", "citation_agreement"),
    ):
        agree = sum(getattr(s, attr)[0] for s in scores)
        total = sum(getattr(s, attr)[1] for s in scores)
        out[name] = _ratio(agree, total)
    latencies = sorted(s.latency for s in scores)
    out["latency_mean"] = round(sum(latencies) / len(latencies), 2) if latencies else None
    out["latency_p50"] = _percentile(latencies, 50)
    out["latency_p95"] = _percentile(latencies, 95)
    first = sorted(s.first_token for s in scores if s.first_token is not None)
    out["first_token_p50"] = _percentile(first, 50)
    out["fallbacks"] = sum(s.fallback is not None for s in scores)
    out["passed"] = sum(s.passed for s in scores)
    return out


def by_category(scores: Sequence[ItemScore]) -> dict[str, dict[str, Any]]:
    """:func:`totals` for each category, by category name."""
    groups: dict[str, list[ItemScore]] = defaultdict(list)
    for s in scores:
        groups[s.category].append(s)
    return {name: totals(group) for name, group in sorted(groups.items())}


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 4) if b else None


def _percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile of sorted values."""
    if not values:
        return None
    pos = (len(values) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return round(values[lo] + (values[hi] - values[lo]) * (pos - lo), 2)
