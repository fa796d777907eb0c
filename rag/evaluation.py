"""How far the citations can be trusted: labelled suites, metrics, runner, report.

A suite is a list of :class:`EvalItem` (a question, prior turns, whether the
articles answer it, the gold source files, gold evidence spans as file offsets, and
key facts, each a list of alternative strings).  The runner indexes the suite's
articles in a cached home of its own, asks every question through the product's
:class:`~rag.answering.Answerer`, and scores each :class:`~rag.answering.Answer`.

Support is judged against the gold evidence, never by a model.  A citation
*overlaps* a gold span when it cites the same file and its passage offsets
``[start, end)`` intersect the span's.  Each key fact owns the evidence spans
whose quote contains one of its alternatives (all spans, if none does).

Sentence support (ALCE, Gao et al. 2023, with entailment replaced by overlap):
  a sentence *states* a key fact when one of the fact's alternatives occurs in it
  (case-insensitive, typographic quotes and dashes unified).  A set of citations
  supports a sentence when, for every key fact the sentence states, one of the
  citations overlaps that fact's evidence; a sentence stating no key fact (a
  paraphrase, a framing sentence) is supported when a citation overlaps any gold
  span of the item.  Either way, a sentence of five words or more that is a
  verbatim quote of one of its cited passages (normalised as above) is supported:
  gold spans mark where the key facts are, not every true sentence, and a quote is
  held by its passage by identity.  A sentence without citations is unsupported.

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

import hashlib
import json
import math
import os
import random
import re
import string
import subprocess
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.config import Settings
from rag.errors import RagError

if TYPE_CHECKING:
    from rag.answering import Answer, Answerer

Progress = Callable[[int, int, str], None]

REPO = Path(__file__).resolve().parents[1]
SQUAD_PATH = Path("/work/shared/benchmarks/squad2/squad2-open.json")
SQUAD_DEFAULT_LIMIT = 50
RETRIEVAL_K = 5

# The fields `rag eval --json` always prints, in this order.
HEADLINE = (
    "citation_precision",
    "citation_recall",
    "source_precision",
    "source_recall",
    "answer_accuracy",
    "refusal_accuracy",
    "retrieval_recall_at_5",
    "n",
)


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


# --- text normalisation ----------------------------------------------------------------

_MARKERS = re.compile(r"\s*\[\d+(?:\s*[,;]\s*\d+)*\]")
_TYPOGRAPHY = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2033": '"',
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2015": "-",
        "\u2212": "-",
        "\u00a0": " ",
    }
)


def strip_markers(text: str) -> str:
    """The answer text without its [n] citation markers."""
    return _MARKERS.sub("", text)


def normalise(text: str) -> str:
    """Case-folded, typographic quotes and dashes made plain, whitespace collapsed."""
    return " ".join(text.translate(_TYPOGRAPHY).casefold().split())


def fact_present(alternatives: Sequence[str], text: str) -> bool:
    """Whether one of a key fact's alternatives occurs in ``text`` (normalised)."""
    haystack = normalise(strip_markers(text))
    return any(normalise(a) and normalise(a) in haystack for a in alternatives)


# SQuAD's official scoring (evaluate-v2.0.py), reproduced.
_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = set(string.punctuation)


def squad_normalise(text: str) -> str:
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def squad_exact(gold: str, prediction: str) -> float:
    return float(squad_normalise(gold) == squad_normalise(prediction))


def squad_f1(gold: str, prediction: str) -> float:
    gold_tokens = squad_normalise(gold).split()
    pred_tokens = squad_normalise(prediction).split()
    if not gold_tokens or not pred_tokens:
        return float(gold_tokens == pred_tokens)
    same = sum((Counter(gold_tokens) & Counter(pred_tokens)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred_tokens), same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def squad_scores(answers: Sequence[str], prediction: str) -> tuple[float, float]:
    """(exact match, F1), each the best over the gold answers; no answer = ``[""]``."""
    golds = [a for a in answers if squad_normalise(a)] or [""]
    return (
        max(squad_exact(g, prediction) for g in golds),
        max(squad_f1(g, prediction) for g in golds),
    )


# --- support judged against the gold evidence -----------------------------------------


def overlaps(cited: Any, span: Evidence) -> bool:
    """Whether a cited passage (source, start, end) intersects a gold span."""
    return cited.source == span.source and cited.start < span.end and span.start < cited.end


def fact_evidence(item: EvalItem) -> list[list[Evidence]]:
    """For each key fact, the gold spans that hold it (all spans when no quote does)."""
    out = []
    for alternatives in item.key_facts:
        spans = [e for e in item.evidence if e.quote and fact_present(alternatives, e.quote)]
        out.append(spans or list(item.evidence))
    return out


def stated_facts(item: EvalItem, sentence: str) -> list[int]:
    """Indexes of the key facts a sentence states."""
    return [i for i, alts in enumerate(item.key_facts) if fact_present(alts, sentence)]


QUOTE_MIN_WORDS = 5


def quoted(sentence: str, passage_text: str) -> bool:
    """Whether a sentence (of five words or more) is a verbatim quote of a passage."""
    claim = normalise(strip_markers(sentence)).strip(" .…!?;:,\"'")
    return len(claim.split()) >= QUOTE_MIN_WORDS and claim in normalise(passage_text)


def supports(
    citations: Sequence[Any],
    facts: Sequence[int],
    by_fact: Sequence[Sequence[Evidence]],
    evidence: Sequence[Evidence],
    sentence: str = "",
) -> bool:
    """Whether these cited passages together hold a sentence stating ``facts``."""
    if not citations:
        return False
    if sentence and any(quoted(sentence, c.text) for c in citations):
        return True
    if not facts:
        return any(overlaps(c, e) for c in citations for e in evidence)
    return all(any(overlaps(c, e) for c in citations for e in by_fact[f]) for f in facts)


# --- per-item scores -------------------------------------------------------------------


@dataclass
class SentenceJudgement:
    text: str
    citations: list[int]
    facts: list[int]
    supported: bool  # gold
    verifier: bool  # Sentence.supported
    precise: list[bool]  # per citation shown, in order


@dataclass
class ItemScore:
    id: str
    category: str
    question: str
    answerable: bool
    refused: bool
    fallback: str | None
    answer: str
    answer_correct: bool
    refusal_correct: bool
    facts_found: list[bool]
    latency: float
    first_token: float | None = None
    citation_recall: float | None = None
    citation_precision: float | None = None
    verifier_recall: float | None = None
    verifier_precision: float | None = None
    source_precision: float | None = None
    source_recall: float | None = None
    retrieval_recall_at_5: float | None = None
    retrieval_mrr: float | None = None
    squad_exact_match: float | None = None
    squad_f1: float | None = None
    squad_answer_recall: float | None = None
    sentences: list[SentenceJudgement] = field(default_factory=list)
    citations: list[dict[str, Any]] = field(default_factory=list)
    passages: list[dict[str, Any]] = field(default_factory=list)
    # pooled verifier-vs-gold counts: [agree, total] over sentences and over citations
    sentence_agreement: tuple[int, int] = (0, 0)
    citation_agreement: tuple[int, int] = (0, 0)
    history: list[dict[str, str]] = field(default_factory=list)
    raw: dict[str, Any] | None = None  # Answer.to_dict(), so a run can be re-scored

    @property
    def passed(self) -> bool:
        """Right answer, right refusal and, when answered, every sentence and citation right."""
        return (
            self.answer_correct
            and self.refusal_correct
            and (self.citation_recall is None or self.citation_recall == 1.0)
            and (self.citation_precision is None or self.citation_precision == 1.0)
        )

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["passed"] = self.passed
        return out


def score(item: EvalItem, answer: Answer, latency: float | None = None) -> ItemScore:
    """Score one answer against its labelled item (see the module docstring)."""
    text = answer.answer or ""
    refused = bool(answer.refused)
    citations = {c.n: c for c in answer.citations}
    facts_found = [fact_present(alts, text) for alts in item.key_facts]
    if item.answerable:
        correct = not refused and all(facts_found)
    else:
        correct = refused and not answer.citations
    timings = dict(getattr(answer, "timings", None) or {})
    result = ItemScore(
        id=item.id,
        category=item.category,
        question=item.question,
        answerable=item.answerable,
        refused=refused,
        fallback=getattr(answer, "fallback", None),
        answer=text,
        answer_correct=correct,
        refusal_correct=refused == (not item.answerable),
        facts_found=facts_found,
        latency=latency if latency is not None else float(timings.get("total", 0.0)),
        first_token=timings.get("first_token"),
        citations=[_citation_dict(c) for c in answer.citations],
        passages=[_passage_dict(p) for p in answer.passages],
        history=list(item.history),
        raw=answer.to_dict() if hasattr(answer, "to_dict") else None,
    )
    if item.answerable:
        _score_retrieval(item, answer, result)
        if not refused:
            _score_citations(item, answer, citations, result)
    if item.answers or item.category.startswith("squad"):
        prediction = "" if refused else strip_markers(text)
        result.squad_exact_match, result.squad_f1 = squad_scores(item.answers, prediction)
        if item.answerable:
            found = not refused and any(
                squad_normalise(a) and squad_normalise(a) in squad_normalise(prediction)
                for a in item.answers
            )
            result.squad_answer_recall = float(found)
    return result


def _score_retrieval(item: EvalItem, answer: Answer, result: ItemScore) -> None:
    # The prompt groups passages by article; rank them as the retriever did.
    passages = sorted(answer.passages, key=lambda p: -p.score)
    top = passages[:RETRIEVAL_K]
    by_fact = fact_evidence(item)
    if by_fact:
        hits = [any(overlaps(p, e) for p in top for e in spans) for spans in by_fact]
        result.retrieval_recall_at_5 = sum(hits) / len(hits)
    elif item.evidence:
        result.retrieval_recall_at_5 = float(
            any(overlaps(p, e) for p in top for e in item.evidence)
        )
    rank = next(
        (i for i, p in enumerate(passages, 1) if any(overlaps(p, e) for e in item.evidence)), None
    )
    result.retrieval_mrr = 1.0 / rank if rank else 0.0


def _score_citations(
    item: EvalItem, answer: Answer, citations: dict[int, Any], result: ItemScore
) -> None:
    by_fact = fact_evidence(item)
    sentences = list(answer.sentences)
    if not sentences and (answer.answer or "").strip():
        # No sentence split from the answerer: judge the whole answer as one sentence.
        sentences = [_WholeAnswer(strip_markers(answer.answer), [c.n for c in answer.citations])]
    judged: list[SentenceJudgement] = []
    alone_verdicts: dict[int, list[bool]] = defaultdict(list)
    shown = precise = verifier_ok = 0
    for s in sentences:
        cited = [citations[n] for n in s.citations if n in citations]
        facts = stated_facts(item, s.text)
        whole = supports(cited, facts, by_fact, item.evidence, s.text)
        flags = []
        for i, c in enumerate(cited):
            alone = supports([c], facts, by_fact, item.evidence, s.text)
            others = cited[:i] + cited[i + 1 :]
            needed = not supports(others, facts, by_fact, item.evidence, s.text)
            flags.append(whole and (alone or needed))
            alone_verdicts[c.n].append(alone)
            verifier_ok += bool(c.supported)
        shown += len(cited)
        precise += sum(flags)
        verdict = bool(getattr(s, "supported", False))
        judged.append(SentenceJudgement(s.text, [c.n for c in cited], facts, whole, verdict, flags))
    n_sent = len(judged)
    result.sentences = judged
    result.citation_recall = sum(j.supported for j in judged) / n_sent if n_sent else 0.0
    result.citation_precision = precise / shown if shown else 0.0
    result.verifier_recall = sum(j.verifier for j in judged) / n_sent if n_sent else 0.0
    result.verifier_precision = verifier_ok / shown if shown else 0.0
    result.sentence_agreement = (sum(j.verifier == j.supported for j in judged), n_sent)
    # Citation.supported means "every sentence citing it is supported by this passage".
    gold_by_n = {n: all(v) for n, v in alone_verdicts.items()}
    for d in result.citations:
        d["gold_supported"] = gold_by_n.get(d["n"])
    compared = [d for d in result.citations if d["gold_supported"] is not None]
    result.citation_agreement = (
        sum(d["supported"] == d["gold_supported"] for d in compared),
        len(compared),
    )
    cited_files = {c.source for c in answer.citations}
    gold = set(item.gold_sources)
    result.source_precision = len(cited_files & gold) / len(cited_files) if cited_files else 0.0
    result.source_recall = len(cited_files & gold) / len(gold) if gold else None


@dataclass(frozen=True)
class _WholeAnswer:
    text: str
    citations: list[int]
    supported: bool = False


def _citation_dict(c: Any) -> dict[str, Any]:
    return {
        "n": c.n,
        "source": c.source,
        "start": c.start,
        "end": c.end,
        "supported": bool(c.supported),
        "text": c.text,
    }


def _passage_dict(p: Any) -> dict[str, Any]:
    return {"source": p.source, "start": p.start, "end": p.end}


# --- totals ----------------------------------------------------------------------------

_MEANS = (
    "citation_precision",
    "citation_recall",
    "source_precision",
    "source_recall",
    "answer_accuracy",
    "refusal_accuracy",
    "retrieval_recall_at_5",
    "retrieval_mrr",
    "verifier_precision",
    "verifier_recall",
    "squad_exact_match",
    "squad_f1",
    "squad_answer_recall",
)


def totals(scores: Sequence[ItemScore]) -> dict[str, Any]:
    """Suite totals: macro means over applicable items, pooled agreements, latency."""
    out: dict[str, Any] = {}
    columns: dict[str, list[float]] = defaultdict(list)
    for s in scores:
        columns["answer_accuracy"].append(float(s.answer_correct))
        columns["refusal_accuracy"].append(float(s.refusal_correct))
        for name in _MEANS:
            value = getattr(s, name, None)
            if value is not None:
                columns[name].append(float(value))
    for name in _MEANS:
        values = columns.get(name)
        if values or name in HEADLINE:
            out[name] = round(sum(values) / len(values), 4) if values else None
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


# --- suites ----------------------------------------------------------------------------


def seeds_paths() -> tuple[Path, Path]:
    """The labelled seed set and its articles, from the source checkout or the cwd."""
    for root in (REPO, Path.cwd()):
        if (root / "eval" / "seeds.jsonl").is_file() and (root / "seeds").is_dir():
            return root / "eval" / "seeds.jsonl", root / "seeds"
    raise EvalError(
        "The seed suite (eval/seeds.jsonl and seeds/) is not here; run from the source "
        "checkout or pass --suite PATH to a labelled JSONL file."
    )


def load_suite(
    name: str,
    articles_dir: Path | None = None,
    squad_path: Path | None = None,
    home: Path | None = None,
) -> Suite:
    """``seeds``, ``squad2``, or the path of a labelled JSONL/YAML file or a SQuAD 2.0 JSON."""
    if name == "seeds":
        path, corpus = seeds_paths()
        return Suite("seeds", load_items(path, corpus), corpus, str(path))
    if name == "squad2":
        if home is None:
            raise EvalError("The squad2 suite needs a home folder for its articles.")
        return squad_suite(squad_path or SQUAD_PATH, home / "eval-squad2" / "articles")
    path = Path(name)
    if not path.is_file():
        raise EvalError(
            f"No suite {name!r}; use seeds, squad2 or the path of a labelled .jsonl file."
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


# --- running ---------------------------------------------------------------------------


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
    """The suite's own home (cached index) over its articles; models stay shared."""
    return settings.model_copy(
        update={
            "home": settings.home / f"eval-{suite.name}",
            "articles_dir": suite.articles_dir,
            "models_dir": settings.llm_models_dir,
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
    )
    return EvalRun(
        suite.name, scores, started.isoformat(timespec="seconds"), time.monotonic() - clock, setup
    )


def answer_from_dict(data: dict[str, Any]) -> Answer:
    """An Answer back from ``Answer.to_dict()`` (as saved in results.json)."""
    from rag.answering import Answer
    from rag.citations import Citation, Sentence
    from rag.retrieval import Passage

    return Answer(
        **{
            **data,
            "citations": [Citation(**c) for c in data["citations"]],
            "passages": [Passage(**p) for p in data["passages"]],
            "sentences": [Sentence(**x) for x in data["sentences"]],
        }
    )


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
        ["git", "-C", str(REPO), *args], capture_output=True, text=True, timeout=5, check=False
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
