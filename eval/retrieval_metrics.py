"""The questions of eval/retrieval_bench.py and what a ranked list of passages earns on
them: the SQuAD 2.0 (open) articles and answerable questions, and hit@1, MRR@10, budget
recall and latency.
"""

from __future__ import annotations

import hashlib
import json
import re
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SQUAD = REPO.parent / "shared" / "benchmarks" / "squad2" / "squad2-open.json"
BUDGET = 2000
MRR_AT = 10

# A ranked list of (source, passage text) for one question.
Ranked = list[tuple[str, str]]


@dataclass(frozen=True)
class Question:
    qid: str
    text: str
    source: str
    answers: tuple[str, ...]  # normalised gold answer strings

    @property
    def half(self) -> str:
        """A fixed split, independent of order: ``tune`` or ``test``."""
        return "tune" if hashlib.sha1(self.qid.encode()).digest()[0] % 2 == 0 else "test"


def normalise(text: str) -> str:
    return " ".join(text.lower().split())


def load_squad(path: Path = SQUAD) -> tuple[dict[str, str], list[Question]]:
    """Articles as ``{file name: text}`` and the answerable questions."""
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    articles: dict[str, str] = {}
    questions: list[Question] = []
    for article in data:
        source = re.sub(r"[^\w,().-]+", "_", article["title"]) + ".txt"
        title = article["title"].replace("_", " ")
        paragraphs = [p["context"].strip() for p in article["paragraphs"]]
        articles[source] = title + "\n\n" + "\n\n".join(paragraphs) + "\n"
        for p in article["paragraphs"]:
            for qa in p["qas"]:
                if qa.get("is_impossible"):
                    continue
                answers = tuple(sorted({normalise(a["text"]) for a in qa["answers"]} - {""}))
                if answers:
                    questions.append(Question(qa["id"], qa["question"].strip(), source, answers))
    return articles, questions


def write_articles(articles: dict[str, str], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in articles.items():
        path = folder / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")


# --- metrics ---------------------------------------------------------------------


def is_hit(question: Question, source: str, text: str) -> bool:
    if source != question.source:
        return False
    norm = normalise(text)
    return any(a in norm for a in question.answers)


@dataclass
class Metrics:
    hits1: list[float] = field(default_factory=list)
    rr: list[float] = field(default_factory=list)
    budget: list[float] = field(default_factory=list)
    latency: list[float] = field(default_factory=list)  # seconds
    chars: list[float] = field(default_factory=list)  # characters read within the budget

    def add(self, question: Question, ranked: Ranked, seconds: float) -> None:
        hits = [is_hit(question, s, t) for s, t in ranked[:MRR_AT]]
        self.hits1.append(float(bool(hits) and hits[0]))
        self.rr.append(next((1.0 / (i + 1) for i, h in enumerate(hits) if h), 0.0))
        left, hit = BUDGET, False
        for source, text in ranked:
            if left <= 0:
                break
            part = text[:left]
            hit = hit or is_hit(question, source, part)
            left -= len(part)
        self.budget.append(float(hit))
        self.chars.append(float(BUDGET - max(left, 0)))
        self.latency.append(seconds)

    def row(self) -> dict[str, float]:
        lat = sorted(self.latency)
        return {
            "n": len(self.hits1),
            "hit@1": statistics.fmean(self.hits1),
            "mrr@10": statistics.fmean(self.rr),
            "budget": statistics.fmean(self.budget),
            "p50_ms": 1000 * lat[len(lat) // 2],
            "p95_ms": 1000 * lat[min(len(lat) - 1, int(0.95 * len(lat)))],
        }


def evaluate(search: Callable[[str], Ranked], questions: Sequence[Question]) -> Metrics:
    metrics = Metrics()
    for q in questions:
        started = time.perf_counter()
        ranked = search(q.text)
        metrics.add(q, ranked, time.perf_counter() - started)
    return metrics
