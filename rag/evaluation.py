"""How far the citations can be trusted: the runner of `rag eval`.

The runner indexes a suite's articles in a cached home of its own, asks every
question through the product's :class:`~rag.answering.Answerer`, scores each
:class:`~rag.answering.Answer` and records what produced the numbers (model,
settings, commit, machine load).  The parts live beside it:

- :mod:`rag.eval_suite`: the labelled items, loading suites, choosing the items a run asks;
- :mod:`rag.eval_scoring`: one answer judged against its item's gold evidence;
- :mod:`rag.eval_metrics`: the metric registry and the suite totals;
- :mod:`rag.eval_report`: the markdown report, its plot and saved results.

The names of those modules that callers have always imported from here (eval/,
bench/, tests, the page) are re-exported, so ``evaluation.load_suite`` and the like
keep working.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from rag import checkout
from rag.config import Settings
from rag.eval_metrics import HEADLINE, by_category, totals
from rag.eval_scoring import (
    ItemScore,
    SentenceJudgement,
    fact_evidence,
    fact_present,
    normalise,
    overlaps,
    quoted,
    score,
    squad_exact,
    squad_f1,
    squad_normalise,
    squad_scores,
    stated_facts,
    strip_markers,
    supports,
)
from rag.eval_suite import (
    SQUAD_DEFAULT_LIMIT,
    SQUAD_PATH,
    EvalError,
    EvalItem,
    Evidence,
    Suite,
    balanced,
    load_items,
    load_suite,
    sample,
    seeds_paths,
    select,
    squad_half,
    squad_suite,
)

if TYPE_CHECKING:
    from rag.answering import Answer, Answerer

__all__ = [
    "HEADLINE",
    "SQUAD_DEFAULT_LIMIT",
    "SQUAD_PATH",
    "EvalError",
    "EvalItem",
    "EvalRun",
    "Evidence",
    "ItemScore",
    "Progress",
    "SentenceJudgement",
    "Suite",
    "answer_from_dict",
    "balanced",
    "by_category",
    "describe_setup",
    "eval_settings",
    "fact_evidence",
    "fact_present",
    "load_items",
    "load_suite",
    "make_answerer",
    "normalise",
    "overlaps",
    "quoted",
    "rescore",
    "run",
    "sample",
    "score",
    "seeds_paths",
    "select",
    "squad_exact",
    "squad_f1",
    "squad_half",
    "squad_normalise",
    "squad_scores",
    "squad_suite",
    "stated_facts",
    "strip_markers",
    "supports",
    "totals",
]

Progress = Callable[[int, int, str], None]


@dataclass
class EvalRun:
    suite: str
    scores: list[ItemScore]
    started: str
    seconds: float
    setup: dict[str, Any]

    @property
    def totals(self) -> dict[str, Any]:
        return totals(self.scores)

    @property
    def categories(self) -> dict[str, dict[str, Any]]:
        return by_category(self.scores)

    def headline(self) -> dict[str, Any]:
        """The totals with the fields `rag eval --json` promises first."""
        total = self.totals
        return {**{k: total.get(k) for k in HEADLINE}, **total, "suite": self.suite}

    def to_dict(self) -> dict[str, Any]:
        return {
            "suite": self.suite,
            "started": self.started,
            "seconds": round(self.seconds, 1),
            "setup": self.setup,
            "totals": self.totals,
            "categories": self.categories,
            "items": [s.to_dict() for s in self.scores],
        }


def eval_settings(settings: Settings, suite: Suite) -> Settings:
    """The suite's own home (cached index) over its articles; models stay shared; a suite
    that pins "today" (the dated one) answers as of that day."""
    return settings.model_copy(
        update={
            "home": settings.home / f"eval-{suite.name}",
            "articles_dir": suite.articles_dir,
            "models_dir": settings.llm_models_dir,
            **({"today": date.fromisoformat(suite.today)} if suite.today else {}),
        }
    )


def make_answerer(settings: Settings, suite: Suite, progress: Progress | None = None) -> Answerer:
    """Index the suite's articles in its own home (incrementally) and answer from there.

    The LLM is built from the user's ``settings``, so the embedded server (its state
    lives in the user's home) is shared with the chat rather than started twice.
    """
    from rag import indexer
    from rag.answering import Answerer
    from rag.embeddings import Embedder
    from rag.llm import LLM
    from rag.retrieval import Retriever

    local = eval_settings(settings, suite)
    embedder = Embedder(local.embedding_model, local.embedding_batch_size)
    indexer.run(local, progress=progress, embedder=embedder, lock_timeout=600)
    return Answerer(
        local, retriever=Retriever(local, embedder=embedder), llm=LLM.from_settings(settings)
    )


def run(
    suite: Suite,
    settings: Settings,
    items: Sequence[EvalItem] | None = None,
    progress: Progress | None = None,
    answerer: Answerer | None = None,
) -> EvalRun:
    """Answer every item through the product and score it.

    ``settings`` are the user's; ``answerer`` defaults to :func:`make_answerer`.
    """
    progress = progress or (lambda done, total, message: None)
    items = list(suite.items if items is None else items)
    started = datetime.now().astimezone()
    clock = time.monotonic()
    load_before = _load()
    if answerer is None:
        answerer = make_answerer(settings, suite, progress)
    scores = []
    for done, item in enumerate(items):
        progress(done, len(items), f"{item.id}: {item.question[:40]}")
        t0 = time.monotonic()
        answer = answerer.ask(item.question, history=item.history or None)
        scores.append(score(item, answer, time.monotonic() - t0))
    progress(len(items), len(items), "done")
    setup = describe_setup(settings)
    setup.update(
        load_before=load_before,
        load_after=_load(),
        items_selected=len(items),
        items_in_suite=len(suite.items),
        suite_source=suite.source,
        **({"today": suite.today} if suite.today else {}),
    )
    return EvalRun(
        suite.name, scores, started.isoformat(timespec="seconds"), time.monotonic() - clock, setup
    )


def answer_from_dict(data: dict[str, Any]) -> Answer:
    """An Answer back from ``Answer.to_dict()`` (as saved in results.json)."""
    from rag.answering import Answer

    return Answer.from_dict(data)


def rescore(saved: dict[str, Any], suite: Suite) -> EvalRun:
    """Score the answers of a saved run again (after a metric or label change)."""
    items = {it.id: it for it in suite.items}
    scores = []
    for row in saved["items"]:
        if row["id"] not in items or not row.get("raw"):
            raise EvalError(f"Item {row['id']} of the saved run cannot be re-scored; run again.")
        scores.append(score(items[row["id"]], answer_from_dict(row["raw"]), row["latency"]))
    return EvalRun(saved["suite"], scores, saved["started"], saved["seconds"], saved["setup"])


def describe_setup(settings: Settings) -> dict[str, Any]:
    """What produced the numbers: model, retrieval settings, code version, machine."""
    if settings.llm_base_url:
        model = f"{settings.llm_model or 'first listed'} at {settings.llm_base_url}"
    else:
        model = f"embedded {settings.embedded_llm}"
    return {
        "llm": model,
        "embedding_model": settings.embedding_model,
        "top_k": settings.top_k,
        "chunk_chars": settings.chunk_chars,
        "temperature": settings.llm_temperature,
        "llm_timeout": settings.llm_timeout,
        "commit": _commit(),
        "cpus": os.cpu_count(),
    }


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(checkout.ROOT), *args],
        capture_output=True,
        text=True,
        timeout=5,
        check=False,
    ).stdout.strip()


def _commit() -> str | None:
    """The checked-out commit, marked ``+changes`` when the tree has uncommitted edits."""
    try:
        head = _git("rev-parse", "--short", "HEAD")
        dirty = _git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return None
    return (head + ("+changes" if dirty else "")) or None


def _load() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None
