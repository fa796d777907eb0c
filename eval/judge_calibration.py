"""How well the model, asked apart (``rag.judge``), tells answered unanswerable questions
from answered answerable ones, on saved replies; chosen on the SQuAD 2.0 tune half, never
on eval/seeds.jsonl.

For every answered reply in a saved run (``replies.json`` of
``eval/answerability_calibration.py ask``, or a report's ``results.json``), the model is
asked the judge's own request (``rag.judge.judge_messages``: the question and the
sentences the answer rests on, ``rag.judge.rested_on``; with ``--evidence passages`` the
whole cited passages, ``--evidence context`` each quoted sentence after the one before
it) in process, with log-probabilities, and P(yes) is read from the first
token.  Prints the area under the curve of P(yes), answerable against unanswerable, and
what the product's rule (the greedy verdict: refuse when P(yes) < P(no)) would refuse:

    RAG_MODELS_DIR=... .venv/bin/python eval/judge_calibration.py \\
        eval/reports/squad2-tune-2026-12-02/replies.json --out scores.json [--evidence ...]

Needs the embedded model's weights (``rag llm start`` once) and the LLM's CPU time: about
three seconds a reply on two cores.  The request is read uncached, as the product's is.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from rag.answer_policy import judge_decides
from rag.chunking import sentence_spans
from rag.config import load_settings
from rag.judge import judge_messages, rested_on
from rag.modelfiles import gguf_path
from rag.questions import analyse


def _quote(citation: dict, evidence: str) -> str:
    """The part of a saved citation's passage the judge is shown."""
    text, start = citation["text"], citation["start"]
    if evidence == "passages" or citation.get("quote_start") is None:
        return text
    a, b = citation["quote_start"] - start, citation["quote_end"] - start
    if evidence == "context":
        before = [s for s, e in sentence_spans(text) if e <= a]
        a = before[-1] if before else a
    return text[a:b]


def answered(path: Path, evidence: str = "quotes") -> list[dict]:
    """The items of a saved run the product would ask the judge about (answered from a
    reply of the model, a question whose "no" can refuse: ``judge_decides``): id,
    question asked, answerable, and the texts the judge is shown (``evidence``:
    "quotes", "context" or "passages")."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data, list):  # replies.json: the saved Answer under "answer"
        items = [
            {
                "id": r["id"],
                "question": r["answer"].get("query") or r["question"],
                "answerable": r["answerable"],
                "refused": r["answer"]["refused"],
                "citations": r["answer"]["citations"],
                "replied": bool(r["answer"].get("llm_answer")),
            }
            for r in data
        ]
    else:  # a report's results.json: the saved Answer under "raw"
        items = [
            {
                "id": i["id"],
                "question": i["raw"].get("query") or i["question"],
                "answerable": i["answerable"],
                "refused": i["refused"],
                "citations": i["raw"]["citations"],
                "replied": bool(i["raw"].get("llm_answer")),
            }
            for i in data["items"]
        ]
    rows = []
    for item in items:
        if item["refused"] or not item["citations"] or not item["replied"]:
            continue
        if not judge_decides(analyse(item["question"])):
            continue
        quoted = [(c["n"], _quote(c, evidence)) for c in item["citations"]]
        # Each cited passage as saved, so a quoted table row is said with its headers.
        passages = [""] * max(n for n, _ in quoted)
        for c in item["citations"]:
            passages[c["n"] - 1] = c["text"]
        texts = rested_on(quoted, passages)
        rows.append({**{k: item[k] for k in ("id", "question", "answerable")}, "texts": texts})
    return rows


def p_yes(llm: object, question: str, texts: list[str]) -> float:
    """P(yes) / (P(yes) + P(no)) over the first token's top log-probabilities."""
    reply = llm.create_chat_completion(  # type: ignore[attr-defined]
        judge_messages(question, texts),
        max_tokens=1,
        temperature=0,
        logprobs=True,
        top_logprobs=20,
    )
    top = reply["choices"][0]["logprobs"]["content"][0]["top_logprobs"]
    mass = {"yes": 0.0, "no": 0.0}
    for t in top:
        word = t["token"].strip().lower()
        if word in mass:
            mass[word] += math.exp(t["logprob"])
    total = mass["yes"] + mass["no"]
    return mass["yes"] / total if total else 0.5


def auc(pos: list[float], neg: list[float]) -> float:
    if not pos or not neg:
        return float("nan")
    wins = sum((x > y) + 0.5 * (x == y) for x in pos for y in neg)
    return wins / (len(pos) * len(neg))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path, help="replies.json or a report's results.json")
    parser.add_argument("--out", type=Path, help="write each reply's P(yes) here (JSON)")
    parser.add_argument(
        "--evidence",
        choices=["quotes", "context", "passages"],
        default="quotes",
        help="what of the cited passages the judge is shown (the product: quotes)",
    )
    args = parser.parse_args(argv)

    from llama_cpp import Llama

    llm = Llama(
        model_path=str(gguf_path(load_settings())),
        n_ctx=4096,
        n_threads=2,
        logits_all=True,
        verbose=False,
    )
    rows = answered(args.run, args.evidence)
    for row in rows:
        row["p_yes"] = p_yes(llm, row["question"], row.pop("texts"))
        print(f"{row['p_yes']:.3f} {row['answerable']!s:5} {row['question'][:70]}", flush=True)
    pos = [r["p_yes"] for r in rows if r["answerable"]]
    neg = [r["p_yes"] for r in rows if not r["answerable"]]
    print(f"answered: {len(pos)} answerable, {len(neg)} unanswerable")
    print(f"area under the curve of P(yes): {auc(pos, neg):.3f}")
    print(
        f"refused by the greedy verdict (P(yes) < 0.5): {sum(p < 0.5 for p in neg)} of "
        f"{len(neg)} unanswerable, {sum(p < 0.5 for p in pos)} of {len(pos)} answerable"
    )
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
