"""Hand-made labelled items and answers with known scores, shared by the eval tests.

Two made-up files: a.txt holds the gold spans [100, 160) and b.txt [50, 90).
"""

from __future__ import annotations

from rag.answering import Answer
from rag.citations import Citation, Sentence
from rag.eval_suite import EvalItem, Evidence
from rag.retrieval import Passage

GOLD_A = Evidence("a.txt", 100, 160, "cited unresolved sanctions and NATO expansion")
GOLD_B = Evidence("b.txt", 50, 90, "withdrawal from four regions")
P_GOLD_A = Passage("a.txt", "a-1", 80, 300, "…sanctions and NATO expansion…")
P_OTHER_A = Passage("a.txt", "a-2", 400, 600, "…an unrelated part of a.txt…")
P_GOLD_B = Passage("b.txt", "b-1", 0, 200, "…withdrawal from four regions…")
P_OTHER_B = Passage("b.txt", "b-2", 300, 500, "…an unrelated part of b.txt…")

SINGLE = EvalItem(
    id="single",
    question="Why did the Kremlin reject the plan?",
    answerable=True,
    category="single_fact",
    gold_sources=["a.txt"],
    evidence=[GOLD_A],
    key_facts=[["sanctions"], ["NATO expansion", "NATO"]],
)
MULTI = EvalItem(
    id="multi",
    question="What do both articles say Russia wants?",
    answerable=True,
    category="both_articles",
    gold_sources=["a.txt", "b.txt"],
    evidence=[GOLD_A, GOLD_B],
    key_facts=[["sanctions"], ["four regions", "4 regions"]],
)
UNANSWERABLE = EvalItem(
    id="none",
    question="What did the Pope say about the plan?",
    answerable=False,
    category="unanswerable",
)
REFUSAL = "I cannot find that in the articles."


def cite(n: int, p: Passage, supported: bool = True) -> Citation:
    return Citation(
        n=n, source=p.source, chunk_id=p.chunk_id, start=p.start, end=p.end, text=p.text,
        title="", supported=supported, score=0.9 if supported else 0.1,
        quote_start=p.start, quote_end=p.end,
    )  # fmt: skip


def answer(
    sentences: list[tuple[str, list[int], bool]],
    passages: list[Passage],
    refused: bool = False,
    verifier: dict[int, bool] | None = None,
) -> Answer:
    """An Answer whose [n] cite ``passages[n - 1]``; verifier verdicts default to True."""
    verifier = verifier or {}
    used = sorted({n for _, ns, _ in sentences for n in ns})
    citations = [cite(n, passages[n - 1], verifier.get(n, True)) for n in used]
    text = " ".join(t + "".join(f"[{n}]" for n in ns) for t, ns, _ in sentences)
    return Answer(
        question="q", query="q", answer=text, refused=refused, fallback=None,
        citations=citations, passages=passages,
        sentences=[Sentence(t, ns, ok) for t, ns, ok in sentences],
        timings={"total": 1.0, "first_token": 0.5},
    )  # fmt: skip


def refusal(passages: list[Passage] | None = None) -> Answer:
    return answer([(REFUSAL, [], False)], passages or [], refused=True)
