"""One answer judged against its labelled item: support by gold evidence, never by a model.

A citation *overlaps* a gold span when it cites the same file and its passage offsets
``[start, end)`` intersect the span's.  Each key fact owns the evidence spans whose
quote contains one of its alternatives (all spans, if none does).

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

:func:`score` turns one :class:`~rag.answering.Answer` into an :class:`ItemScore`
holding every per-item metric; what each metric means, and which items it is
measured over, is in :mod:`rag.eval_metrics`.  SQuAD scoring follows the official
evaluate-v2.0.py (normalisation, exact match, token F1).
"""

from __future__ import annotations

import re
import string
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from rag.eval_suite import EvalItem, Evidence

if TYPE_CHECKING:
    from rag.answering import Answer

RETRIEVAL_K = 5  # retrieval_recall_at_5 looks at this many passages


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
