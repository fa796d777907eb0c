"""Scoring for bench/peer.py: the SQuAD 2.0 suite as the product builds it, how one answer
is scored (gold answer stated, gold article cited, refused), the totals of a system, and
the product's own row read from its results.json.

No LlamaIndex and no product import: this runs in the peer's venv (.venv-peer).
"""

from __future__ import annotations

import json
import re
import statistics
import string
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The team's shared data beside the checkout (../shared), not shipped in the repository.
SQUAD_PATH = Path(__file__).resolve().parents[2] / "shared/benchmarks/squad2/squad2-open.json"

# --- the suite, as rag/eval_suite.py builds it ----------------------------------------


@dataclass(frozen=True)
class Item:
    id: str
    question: str
    answerable: bool
    category: str
    gold_source: str | None
    answers: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Article:
    source: str
    text: str
    paragraphs: list[str]


def slug(text: str) -> str:
    """rag/eval_suite.py: _slug."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "suite"


def load_squad(path: Path) -> tuple[list[Article], list[Item]]:
    """The articles (as squad_suite writes them) and the items sorted by id (as there)."""
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    articles, items = [], []
    for article in data:
        title = article["title"]
        source = slug(title) + ".txt"
        text = title.replace("_", " ") + "\n\n"
        paragraphs = []
        for paragraph in article["paragraphs"]:
            context = paragraph["context"]
            text += context + "\n\n"
            paragraphs.append(context)
            for qa in paragraph["qas"]:
                items.append(_item(qa, source, context))
        articles.append(Article(source, text, paragraphs))
    items.sort(key=lambda it: it.id)
    return articles, items


def _item(qa: dict[str, Any], source: str, context: str) -> Item:
    """rag/eval_suite.py: _squad_item, keeping what the columns need.

    Answerable means not impossible and at least one answer text found in its paragraph
    (at ``answer_start``, or anywhere in it), exactly as the product decides.
    """
    impossible = bool(qa.get("is_impossible"))
    answers = [] if impossible else [a["text"] for a in qa["answers"]]
    found = False
    for a in [] if impossible else qa["answers"]:
        at = a["answer_start"]
        if context[at : at + len(a["text"])] == a["text"] or context.find(a["text"]) >= 0:
            found = True
    answerable = not impossible and found
    return Item(
        id=qa["id"],
        question=qa["question"].strip(),
        answerable=answerable,
        category="squad_answerable" if answerable else "squad_unanswerable",
        gold_source=None if impossible else source,
        answers=answers,
    )


def read_ids(path: Path) -> list[str]:
    """A JSON list of ids; also accepted: {"ids": [...]}, or a list / {"items": [...]} of
    objects with an "id" (so a product results.json gives the ids it asked)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data, dict):
        data = data.get("ids", data.get("items"))
    if not isinstance(data, list):
        raise SystemExit(f"{path}: expected a JSON list of item ids.")
    return [str(x["id"]) if isinstance(x, dict) else str(x) for x in data]


# --- scoring, as rag/eval_scoring.py scores SQuAD ---------------------------------------

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = set(string.punctuation)
# rag/eval_scoring.py: _MARKERS (the product's answers carry only these).
OUR_MARKERS = re.compile(r"\s*\[\d+(?:\s*[,;]\s*\d+)*\]")
# LlamaIndex's answers: [1], [1, 2], [1][2], [Source 1], [Sources 1, 2].
_N = r"(?:sources?\s*)?\d+"
PEER_MARKERS = re.compile(rf"\s*\[\s*{_N}(?:\s*(?:[,;]|and)\s*{_N})*\s*\]", re.IGNORECASE)
_MARKER_NUMBER = re.compile(r"\d+")

# A LlamaIndex answer is a refusal when its first sentence says the sources do not hold
# the answer.  Matched case-insensitively against the first sentence, markers removed.
REFUSAL = re.compile(
    r"""
    \b(?:cannot|can't|can\ not|unable\ to|not\ able\ to|could\ not|couldn't)\b
        [^.]{0,60}?\b(?:answer|determine|find|provide|say|tell|know|identify|locate|
        be\ answered|be\ determined|be\ found)\b
  | \bnone\ of\ the\ (?:provided\ |given\ |above\ |numbered\ )?
        (?:sources|passages|documents|information|context|texts)\b
  | \b(?:no|not\ enough|insufficient)\ (?:relevant\ |specific\ |direct\ |explicit\ |such\ )?
        (?:information|mention|details?|data|evidence|answer)\b
  | \b(?:does|do|did)(?:n't|\ not)\ (?:contain|provide|mention|include|specify|state|say|
        address|discuss|give|offer|indicate|answer|have\ (?:any\ )?information)\b
  | \b(?:is|are|was|were)\ not\ (?:mentioned|provided|specified|stated|given|available|
        found|discussed|addressed|included|present)\b
  | \b(?:is|are)(?:\ not|n't)\ (?:helpful|relevant)\b
  | \bI\ (?:don't|do\ not)\ know\b
    """,
    re.IGNORECASE | re.VERBOSE,
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_HEDGE = re.compile(r"\b(?:but|however|although|though|yet)\b", re.IGNORECASE)


def squad_normalise(text: str) -> str:
    """SQuAD's official normalisation (rag/eval_scoring.py: squad_normalise)."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def states_gold(answers: list[str], text: str) -> bool:
    """A gold answer occurs in the text (both SQuAD-normalised), as squad_answer_recall."""
    prediction = squad_normalise(text)
    return any(squad_normalise(a) and squad_normalise(a) in prediction for a in answers)


def peer_refusal(answer: str) -> str | None:
    """The phrase that makes a LlamaIndex answer a refusal, "(empty)", or None."""
    text = PEER_MARKERS.sub("", answer).strip()
    if not text:
        return "(empty)"
    first = _SENTENCE_END.split(text, maxsplit=1)[0]
    match = REFUSAL.search(first)
    if match is None or _HEDGE.search(first[match.end() :]):
        return None  # "The sources do not say when, but it was in 1066 [1]." answers
    return match.group(0)


def cited_numbers(answer: str) -> list[int]:
    """The source numbers the answer's markers name, in order, without repeats."""
    seen: list[int] = []
    for marker in PEER_MARKERS.finditer(answer):
        for n in _MARKER_NUMBER.findall(marker.group(0)):
            if int(n) not in seen:
                seen.append(int(n))
    return seen


@dataclass
class Row:
    """One system's scores on one item."""

    id: str
    answerable: bool
    refused: bool
    stated_gold: bool
    cited_gold: bool
    seconds: float
    answer: str = ""
    cited_sources: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


def summarise(rows: list[Row]) -> dict[str, Any]:
    answerable = [r for r in rows if r.answerable]
    unanswerable = [r for r in rows if not r.answerable]

    def share(hits: int, n: int) -> dict[str, Any]:
        return {"value": round(hits / n, 4) if n else None, "hits": hits, "n": n}

    seconds = [r.seconds for r in rows]
    return {
        "n": len(rows),
        "n_answerable": len(answerable),
        "n_unanswerable": len(unanswerable),
        "gold_answer_stated": share(sum(r.stated_gold for r in answerable), len(answerable)),
        "gold_article_cited": share(sum(r.cited_gold for r in answerable), len(answerable)),
        "unanswerable_refused": share(sum(r.refused for r in unanswerable), len(unanswerable)),
        "answerable_wrongly_refused": share(sum(r.refused for r in answerable), len(answerable)),
        "seconds_mean": round(statistics.fmean(seconds), 2) if seconds else None,
        "seconds_p50": round(statistics.median(seconds), 2) if seconds else None,
        "seconds_total": round(sum(seconds), 1),
    }


# --- the product's row, from its results.json ---------------------------------------------


def our_rows(path: Path, items: list[Item]) -> tuple[list[Row], list[str], dict[str, Any]]:
    """The product's saved answers for these ids (rag/eval_report.py: save_results layout)."""
    saved = json.loads(path.read_text(encoding="utf-8"))
    by_id = {row["id"]: row for row in saved.get("items", [])}
    rows, missing = [], []
    for item in items:
        row = by_id.get(item.id)
        if row is None:
            missing.append(item.id)
            continue
        if bool(row.get("answerable")) != item.answerable:
            raise SystemExit(
                f"{path}: item {item.id} is answerable={row.get('answerable')} there but "
                f"{item.answerable} in {SQUAD_PATH.name}; is it the same SQuAD file?"
            )
        refused = bool(row.get("refused"))
        answer = row.get("answer") or ""
        sources = list(dict.fromkeys(c["source"] for c in row.get("citations") or []))
        stated = (
            item.answerable
            and not refused
            and states_gold(item.answers, OUR_MARKERS.sub("", answer))
        )
        saved_recall = row.get("squad_answer_recall")
        if item.answerable and saved_recall is not None and bool(saved_recall) != stated:
            print(
                f"note: item {item.id}: squad_answer_recall {saved_recall} in {path.name}, "
                f"{float(stated)} recomputed here",
                file=sys.stderr,
            )
        rows.append(
            Row(
                id=item.id,
                answerable=item.answerable,
                refused=refused,
                stated_gold=stated,
                cited_gold=item.answerable and not refused and item.gold_source in sources,
                seconds=float(row.get("latency") or 0.0),
                answer=answer,
                cited_sources=sources,
                extra={"fallback": row.get("fallback")},
            )
        )
    return (
        rows,
        missing,
        {"path": str(path), "setup": saved.get("setup"), "suite": saved.get("suite")},
    )
