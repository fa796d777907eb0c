"""The model, asked apart, whether the cited passages state the answer to the question.

A second opinion on answerability, read from the model itself but not from its answer:
a fresh request holding only the passages an answer cites and the question, asking
"do the passages state the answer to exactly this question? yes or no". Asked inside its
own conversation the model defends what it wrote; asked with the answer beside the
passages it mostly says yes. Asked this way it separates the SQuAD 2.0 tune half's
answered unanswerable questions from its answered answerable ones far better (area
under the curve of P(yes): 0.86 against 0.69 and 0.79; eval/judge_calibration.py,
docs/eval.md).

Its verdict is its greedy one-word reply, i.e. P(yes) > P(no): no threshold is fitted,
so no server needs to give log-probabilities, and a stronger model's verdict is used
as it is.  A reply that is neither yes nor no, or a server that fails, gives no verdict.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.conversation import prompt
from rag.llm import LLM, LLMUnavailable

_WORD = re.compile(r"[a-z]+")


def judge_messages(question: str, passages: Sequence[str]) -> list[dict[str, str]]:
    """The request: the passages numbered as the answer cites them, then the question."""
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
