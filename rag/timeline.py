"""An answer's sentences in time order, by code, not by the model's say-so.

- "How did X develop" is answered oldest first: the prompt gives the articles oldest
  first and asks for dated sentences in that order (``rag.prompting.oldest_first``,
  ``prompts/answer_timeline.txt``), yet a model may still write the newest first.
- A figure asked of articles from several dates is answered newest first (counts change
  from one report to the next; ``prompts/answer_dated.txt``).

Each sentence is placed by the publication date of the articles it cites.  A sentence
citing no dated article stays after the sentence it followed (it continues that point);
ones before any dated sentence stay first; equal dates keep the model's order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from rag.markers import split_answer
from rag.prompting import several_dates
from rag.questions import Question
from rag.retrieval import Passage

Order = Literal["oldest", "newest"]


def cited_date(numbers: Sequence[int], passages: Sequence[Passage]) -> str | None:
    """The oldest publication date (ISO) among the passages numbered ``numbers``."""
    dates = [
        p.published for n in numbers if 1 <= n <= len(passages) and (p := passages[n - 1]).published
    ]
    return min(dates, default=None)


def time_order(dates: Sequence[str | None], newest_first: bool = False) -> list[int]:
    """The positions of items dated ``dates`` (ISO; None: undated) in time order, oldest
    first unless ``newest_first``: stable, an undated item kept after the item before it
    and undated items before any dated one kept first."""
    keys: list[str] = []
    last = "~" if newest_first else ""  # sorts after (before) every ISO date
    for d in dates:
        last = d if d is not None else last
        keys.append(last)
    return sorted(range(len(dates)), key=keys.__getitem__, reverse=newest_first)


def wanted_order(question: Question, passages: Sequence[Passage]) -> Order | None:
    """The order an answer to ``question`` from ``passages`` goes in: "oldest" first for
    how something developed, "newest" first for a figure from articles of several
    dates, None (as written) otherwise."""
    if question.timeline:
        return "oldest"
    if question.expects == "number" and several_dates(passages):
        return "newest"
    return None


def answer_order(
    question: Question, passages: Sequence[Passage], cited: Sequence[Sequence[int]]
) -> list[int]:
    """The positions of an answer's sentences, each citing the passages numbered
    ``cited[i]``, in the order the answer goes in (``wanted_order``); both answer paths
    order their sentences with it."""
    wanted = wanted_order(question, passages)
    if wanted is None:
        return list(range(len(cited)))
    return time_order([cited_date(c, passages) for c in cited], wanted == "newest")


def in_time_order(reply: str, question: Question, passages: Sequence[Passage]) -> str:
    """``reply`` (sentences with [n] markers) with its sentences in the order an answer
    to ``question`` goes in (``answer_order``)."""
    pieces = split_answer(reply)
    order = answer_order(question, passages, [p.numbers for p in pieces])
    if order == sorted(order):
        return reply
    glue = "\n" if any("\n" in p.gap for p in pieces) else " "
    return glue.join(pieces[i].raw.strip() for i in order)
