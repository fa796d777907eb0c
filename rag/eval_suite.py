"""Labelled suites: the items, how they are loaded, and which of them a run asks.

A suite is a list of :class:`EvalItem` (a question, prior turns, whether the
articles answer it, the gold source files, gold evidence spans as file offsets, and
key facts, each a list of alternative strings) over one folder of articles.  Three
sources: the seed set in the source checkout (``eval/seeds.jsonl`` over ``seeds/``),
SQuAD 2.0 open (each article written out as one file), and any labelled JSONL/YAML
file.  Evidence given as a quote gets its offsets found, and given offsets are
checked against the file, so a label never silently points at the wrong text.

Which items a run asks is fixed, never random per run: a stratified subset by
category (``--limit``), and for SQuAD a seeded, balanced sample from one half of a
fixed tune/test split, so rules are tuned on one half and reported on the other.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag import checkout
from rag.errors import RagError

# The team's shared data beside the checkout (../shared), not shipped in the repository.
SQUAD_PATH = Path(__file__).resolve().parents[2] / "shared/benchmarks/squad2/squad2-open.json"
SQUAD_DEFAULT_LIMIT = 50
# The dated suite's "today" (a Monday): its questions about time ("last week", "the
# latest") are asked as of this day, whatever the real date, as RAG_TODAY would pin it.
DATED_TODAY = "2025-06-16"


class EvalError(RagError):
    """The evaluation cannot run as asked; the message is one sentence naming the fix."""


# --- the labelled items ----------------------------------------------------------------


@dataclass(frozen=True)
class Evidence:
    source: str
    start: int
    end: int
    quote: str = ""


@dataclass(frozen=True)
class EvalItem:
    id: str
    question: str
    answerable: bool
    category: str = "item"
    history: list[dict[str, str]] = field(default_factory=list)
    gold_sources: list[str] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)
    key_facts: list[list[str]] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)  # SQuAD: gold answer strings
    notes: str = ""


@dataclass(frozen=True)
class Suite:
    name: str
    items: list[EvalItem]
    articles_dir: Path  # the corpus the items' sources are relative to
    source: str = ""  # where the items came from, for the report
    kind: str = "labelled"  # or "squad": sampled with a seed, scored with EM/F1 too
    today: str | None = None  # ISO date the questions are asked on (RAG_TODAY); None: real


# --- suites ----------------------------------------------------------------------------


def seeds_paths() -> tuple[Path, Path]:
    """The labelled seed set and its articles, from the source checkout or the cwd."""
    root = checkout.find("eval/seeds.jsonl", "seeds")
    if root is not None:
        return root / "eval" / "seeds.jsonl", root / "seeds"
    raise EvalError(
        "The seed suite (eval/seeds.jsonl and seeds/) is not here; run from the source "
        "checkout or pass --suite PATH to a labelled JSONL file."
    )


def dated_paths() -> tuple[Path, Path]:
    """The dated suite (questions about time) and its fixture articles, in the checkout."""
    root = checkout.find("eval/dated.jsonl", "eval/dated")
    if root is not None:
        return root / "eval" / "dated.jsonl", root / "eval" / "dated" / "articles"
    raise EvalError(
        "The dated suite (eval/dated.jsonl and eval/dated/articles) is not here; "
        "run from the source checkout."
    )


def load_suite(
    name: str,
    articles_dir: Path | None = None,
    squad_path: Path | None = None,
    home: Path | None = None,
) -> Suite:
    """``seeds``, ``dated``, ``squad2``, or the path of a labelled JSONL/YAML file or a
    SQuAD 2.0 JSON."""
    if name == "seeds":
        path, corpus = seeds_paths()
        return Suite("seeds", load_items(path, corpus), corpus, str(path))
    if name == "dated":
        path, corpus = dated_paths()
        return Suite("dated", load_items(path, corpus), corpus, str(path), today=DATED_TODAY)
    if name == "squad2":
        if home is None:
            raise EvalError("The squad2 suite needs a home folder for its articles.")
        return squad_suite(squad_path or SQUAD_PATH, home / "eval-squad2" / "articles")
    path = Path(name)
    if not path.is_file():
        raise EvalError(
            f"No suite {name!r}; use seeds, dated, squad2 or the path of a labelled .jsonl file."
        )
    if path.suffix.lower() == ".json" and home is not None:
        slug = _slug(path.stem)
        return squad_suite(path, home / f"eval-{slug}" / "articles", slug)
    if articles_dir is None or not Path(articles_dir).is_dir():
        raise EvalError(
            f"The articles folder {articles_dir} does not exist; pass --articles DIR, "
            "the folder the suite's sources are in."
        )
    return Suite(
        _slug(path.stem), load_items(path, Path(articles_dir)), Path(articles_dir), str(path)
    )


def load_items(path: Path, articles_dir: Path) -> list[EvalItem]:
    """Read a labelled set; evidence given as a quote only gets its offsets found."""
    rows = _read_rows(path)
    texts: dict[str, str] = {}
    items = []
    seen: set[str] = set()
    for number, row in rows:
        where = f"{path.name} item {number}"
        if not isinstance(row, dict) or not isinstance(row.get("question"), str):
            raise EvalError(f"{where} has no question; every item needs a question.")
        if not isinstance(row.get("answerable"), bool):
            raise EvalError(f"{where} lacks answerable: true or false; add it.")
        item_id = str(row.get("id") or number)
        if item_id in seen:
            raise EvalError(f"{where} repeats the id {item_id!r}; give each item its own id.")
        seen.add(item_id)
        evidence = [
            _evidence(e, articles_dir, texts, f"{path.name} item {item_id}")
            for e in row.get("evidence") or []
        ]
        facts = [
            [f] if isinstance(f, str) else [str(a) for a in f] for f in row.get("key_facts") or []
        ]
        gold = list(row.get("gold_sources") or sorted({e.source for e in evidence}))
        if row["answerable"] and not (evidence and facts):
            raise EvalError(
                f"{path.name} item {item_id} is answerable but has no evidence or key_facts; "
                "add both, or mark it answerable: false."
            )
        items.append(
            EvalItem(
                id=item_id,
                question=row["question"],
                answerable=row["answerable"],
                category=str(row.get("category") or "item"),
                history=list(row.get("history") or []),
                gold_sources=gold,
                evidence=evidence,
                key_facts=facts,
                notes=str(row.get("notes") or ""),
            )
        )
    if not items:
        raise EvalError(f"{path} holds no items; add one question per line.")
    return items


def _read_rows(path: Path) -> list[tuple[int, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise EvalError(f"Cannot read {path} ({exc}); check the path.") from None
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError:
            raise EvalError(f"{path} is not valid YAML; fix its syntax.") from None
        if not isinstance(data, list):
            raise EvalError(f"{path} must be a YAML list of items.")
        return list(enumerate(data, 1))
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append((number, json.loads(line)))
        except json.JSONDecodeError:
            raise EvalError(
                f"{path.name} line {number} is not valid JSON; fix that line."
            ) from None
    return rows


def _evidence(raw: Any, articles_dir: Path, texts: dict[str, str], where: str) -> Evidence:
    if not isinstance(raw, dict) or not isinstance(raw.get("source"), str):
        raise EvalError(f"{where} has evidence without a source file; add source.")
    source = raw["source"]
    if source not in texts:
        texts[source] = _document_text(articles_dir, source, where)
    text = texts[source]
    quote = str(raw.get("quote") or "")
    start, end = raw.get("start"), raw.get("end")
    if isinstance(start, int) and isinstance(end, int):
        if quote and text[start:end] != quote:
            raise EvalError(
                f"{where}: the quote is no longer at {source} {start}-{end}; "
                "fix the offsets or the quote."
            )
        return Evidence(source, start, end, quote or text[start:end])
    if not quote:
        raise EvalError(f"{where} has evidence with neither a quote nor offsets; add the quote.")
    at = text.find(quote)
    if at < 0:
        raise EvalError(f"{where}: the quote is not in {source}; copy it exactly from the file.")
    return Evidence(source, at, at + len(quote), quote)


def _document_text(articles_dir: Path, source: str, where: str) -> str:
    """The text citation offsets point into (HTML is reduced to its visible text)."""
    from rag.documents import DocumentError, FileEntry, load

    path = articles_dir / source
    if not path.is_file():
        raise EvalError(f"{where} cites {source}, which is not in {articles_dir}; fix the name.")
    try:
        return load(FileEntry(path, source), max_bytes=1 << 30).text
    except DocumentError as exc:
        raise EvalError(f"{where} cites {source}, which cannot be read: {exc}.") from None


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "suite"


def squad_suite(path: Path, articles_dir: Path, name: str = "squad2") -> Suite:
    """SQuAD 2.0 open: each article one file (title line, paragraphs by blank lines)."""
    if not path.is_file():
        raise EvalError(f"The SQuAD 2.0 file {path} is missing; put squad2-open.json there.")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))["data"]
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError):
        raise EvalError(f"{path} is not SQuAD 2.0 JSON (a data list of articles).") from None
    articles_dir.mkdir(parents=True, exist_ok=True)
    items = []
    for article in data:
        title = article["title"]
        source = _slug(title) + ".txt"
        text = title.replace("_", " ") + "\n\n"
        for paragraph in article["paragraphs"]:
            offset = len(text)
            context = paragraph["context"]
            text += context + "\n\n"
            for qa in paragraph["qas"]:
                items.append(_squad_item(qa, source, offset, context))
        target = articles_dir / source
        # Rewrite only on change, so the index stays warm across runs.
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
    items.sort(key=lambda it: it.id)
    return Suite(name, items, articles_dir, str(path), kind="squad")


def _squad_item(qa: dict[str, Any], source: str, offset: int, context: str) -> EvalItem:
    impossible = bool(qa.get("is_impossible"))
    answers = [] if impossible else [a["text"] for a in qa["answers"]]
    spans: dict[tuple[int, int], Evidence] = {}
    for a in [] if impossible else qa["answers"]:
        at = a["answer_start"]
        if context[at : at + len(a["text"])] != a["text"]:
            at = context.find(a["text"])
            if at < 0:
                continue
        key = (offset + at, offset + at + len(a["text"]))
        spans.setdefault(key, Evidence(source, key[0], key[1], a["text"]))
    return EvalItem(
        id=qa["id"],
        question=qa["question"].strip(),
        answerable=not impossible and bool(spans),
        category="squad_unanswerable" if impossible or not spans else "squad_answerable",
        gold_sources=[] if impossible else [source],
        evidence=list(spans.values()),
        key_facts=[sorted(set(answers))] if answers else [],
        answers=answers,
    )


def sample(items: Sequence[EvalItem], limit: int | None, seed: int | None = None) -> list[EvalItem]:
    """A fixed subset stratified by category: evenly spaced items from each.

    Each category gets a share of ``limit`` proportional to its size (largest
    remainder, at least one each when ``limit`` allows), taken at evenly spaced
    positions; ``seed`` shuffles first (for SQuAD).  The result keeps file order.
    """
    items = list(items)
    if seed is not None:
        random.Random(seed).shuffle(items)
    if limit is None or limit >= len(items):
        return items
    if limit < 1:
        raise EvalError("--limit must be at least 1.")
    groups: dict[str, list[int]] = defaultdict(list)
    for i, it in enumerate(items):
        groups[it.category].append(i)
    quotas = {c: limit * len(ix) / len(items) for c, ix in groups.items()}
    take = {c: int(q) for c, q in quotas.items()}
    if limit >= len(groups):
        for c in groups:
            take[c] = max(take[c], 1)
    order = sorted(groups, key=lambda c: (-(quotas[c] - int(quotas[c])), c))
    i = 0
    while sum(take.values()) < limit:
        c = order[i % len(order)]
        if take[c] < len(groups[c]):
            take[c] += 1
        i += 1
    while sum(take.values()) > limit:  # minimum-one bumps overshot: trim the largest
        c = max(take, key=lambda c: (take[c], c))
        take[c] -= 1
    chosen = []
    for c, ix in groups.items():
        q = take[c]
        chosen += [ix[math.floor(j * len(ix) / q)] for j in range(q)]
    return [items[i] for i in sorted(chosen)]


def squad_half(item_id: str) -> str:
    """A fixed split of SQuAD questions, independent of order: ``tune`` or ``test``.

    Rules and thresholds are chosen on the tune half only (the same split as
    eval/retrieval_bench.py); reports are measured on the test half.
    """
    return "tune" if hashlib.sha1(item_id.encode()).digest()[0] % 2 == 0 else "test"


def select(suite: Suite, limit: int | None = None, half: str = "test") -> list[EvalItem]:
    """The items a run asks: all, or a fixed stratified ``limit``.

    SQuAD is sampled (seeded) from one half (``test`` unless told), with as many
    unanswerable as answerable questions.
    """
    if half not in ("tune", "test", "all"):
        raise EvalError(f"--half {half} is not a half; use tune, test or all.")
    if suite.kind == "squad":
        pool = [it for it in suite.items if half == "all" or squad_half(it.id) == half]
        return balanced(pool, limit or SQUAD_DEFAULT_LIMIT, seed=0)
    return sample(suite.items, limit)


def balanced(items: Sequence[EvalItem], limit: int, seed: int) -> list[EvalItem]:
    """``limit`` items, an equal share from each category (seeded), in file order."""
    groups: dict[str, list[EvalItem]] = defaultdict(list)
    for it in items:
        groups[it.category].append(it)
    share, extra = divmod(limit, max(1, len(groups)))
    chosen: set[str] = set()
    for i, name in enumerate(sorted(groups)):
        group = list(groups[name])
        random.Random(f"{seed}:{name}").shuffle(group)
        chosen |= {it.id for it in group[: share + (i < extra)]}
    return [it for it in items if it.id in chosen]
