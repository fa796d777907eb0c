"""The model, asked apart, whether the sentences an answer rests on state the answer.

A second opinion on answerability, read from the model itself but not from its answer:
a fresh request holding only the question and, of each passage the answer cites, the
sentences the answer was checked against (``rested_on``), asking "do the passages state
the answer to exactly this question? yes or no". Asked inside its own conversation the
model defends what it wrote; asked with the answer beside the passages it mostly says
yes (area under the curve of P(yes), answered answerable against answered unanswerable
SQuAD 2.0 tune-half questions, 0.69 and 0.79).  Asked with the passages alone it
separates them well (0.875), and with only the quoted sentences as well (0.864), its
greedy verdict then refusing 11 of 29 unanswerable instead of 10, no answerable one
either way; on the test half, not used to choose, the quoted sentences separate far
better (0.80 against 0.73; 11 of 22 refused against 5, one answerable of 47): the whole
passage lets a sentence near the quote speak for a detail the quote swaps
(eval/judge_calibration.py, docs/eval.md).

Its verdict is its greedy one-word reply, i.e. P(yes) > P(no): no threshold is fitted,
so no server needs to give log-probabilities, and a stronger model's verdict is used
as it is.  A reply that is neither yes nor no, or a server that fails, gives no verdict.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.conversation import prompt
from rag.llm import LLM, LLMUnavailable
from rag.tables import spoken

_WORD = re.compile(r"[a-z]+")


def judge_messages(question: str, passages: Sequence[str]) -> list[dict[str, str]]:
    """The request: the texts numbered 1, 2, ... in the order given (not by the numbers
    the answer cites them by), then the question."""
    blocks = "\n\n".join(f"[{i}] {' '.join(text.split())}" for i, text in enumerate(passages, 1))
    user = prompt("judge_user").format(passages=blocks, question=" ".join(question.split()))
    return [
        {"role": "system", "content": prompt("judge_system").strip()},
        {"role": "user", "content": user.strip()},
    ]


def verdict(reply: str) -> bool | None:
    """True for a reply that opens "yes", False for "no", None for anything else."""
    word = _WORD.search(reply.lower())
    if word is None:
        return None
    return {"yes": True, "no": False}.get(word.group())


def rested_on(quoted: Sequence[tuple[int, str]], passages: Sequence[str]) -> list[str]:
    """What the judge is shown of an answer: for each passage it cites (``quoted``: the
    citation's 1-based passage number and the sentence of that passage the answer was
    checked against), in passage order, the sentences quoted from it, each once; a
    citation without a quoted sentence stands for its whole passage, and a number outside
    ``passages`` for nothing.  A quoted table row is said with its column headers when
    its passage holds them (``rag.tables.spoken``): "| Territorial Control | Seeks full
    recognition |" alone does not say whose position a cell is."""
    evidence: dict[int, list[str]] = {}
    for n, quote in quoted:
        if not 1 <= n <= len(passages):
            continue
        passage = passages[n - 1]
        at = passage.find(quote) if quote else 0
        end = at + len(quote) if quote else len(passage)
        said = spoken(passage, at, end).strip() if at >= 0 else ""
        # A quote the passage does not hold, or a table's header row or rule (which
        # ``spoken`` leaves out), is shown as it is.
        text = " ".join((said or quote or passage).split())
        if text not in evidence.setdefault(n, []):
            evidence[n].append(text)
    return [" ".join(evidence[n]) for n in sorted(evidence)]


def states_answer(llm: LLM, question: str, passages: Sequence[str]) -> bool | None:
    """Whether the model says ``passages`` state the answer to ``question`` (None: no
    verdict: no passages, an unclear reply, or the server failed)."""
    if not passages:
        return None
    try:
        reply = llm.chat(judge_messages(question, passages), max_tokens=3, temperature=0)
    except LLMUnavailable:
        return None
    return verdict(reply)
