"""The prompt: passages grouped by article, trimmed to the sentences nearest the question.

Built for a small local model (1.5B parameters, ~80 prompt tokens/s on 2 cores): a
fixed system prompt first (llama.cpp reuses its evaluated prefix across requests),
then the passages grouped by article and trimmed to the sentences nearest the question
within ``settings.answer_context_chars``, each wrapped in delimiters and marked as
data, then the question.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from functools import cache

from rag.chunking import sentence_spans
from rag.conversation import prompt
from rag.lists import is_item, runs
from rag.markers import split_answer
from rag.retrieval import Passage
from rag.tables import spoken_spans
from rag.text import content_words
from rag.verifier import Verifier

MAX_TITLE_CHARS = 60
MAX_SENTENCE_CHARS = 400


def select_context(
    query: str, passages: Sequence[Passage], budget: int, verifier: Verifier
) -> list[str]:
    """Each passage trimmed to its sentences nearest ``query``, all within ``budget`` chars.

    Every passage keeps at least its best sentence (so every [n] has something to
    cite); the rest of the budget goes to the best sentences overall, each sentence
    once even when neighbouring passages share it.  Kept sentences stay in their
    order; a gap between them shows as " … ".  A table row whose header the passage
    holds is given as a sentence naming its columns (``rag.tables``), the header row
    itself left out.
    """
    if not passages:
        return []
    sentences: list[list[str]] = []
    lists: list[list[str]] = []
    for p in passages:
        spans = sentence_spans(p.text) or [(0, len(p.text))]
        # A table row with its header's names; the header row itself says nothing more.
        said = [
            (span, text)
            for span, spoken in zip(spans, spoken_spans(p.text, spans), strict=True)
            if (text := clip(spoken))
        ]
        sentences.append([text for _, text in said] or [clip(p.text)])
        lists.extend(_in_lists(p.text, said))
    flat = [text for group in sentences for text in group]
    vectors = verifier.vectors([query, *flat])
    q_words = content_words(query)
    relevance: dict[str, float] = {}
    for text, vector in zip(flat, vectors[1:], strict=True):
        overlap = len(q_words & content_words(text)) / len(q_words) if q_words else 0.0
        relevance[text] = float(vector @ vectors[0]) + 0.3 * overlap
    for block in lists:  # the sentences of one list count as near as its nearest one
        best = max(relevance[text] for text in block)
        relevance.update(dict.fromkeys(block, best))

    kept: list[set[int]] = [set() for _ in passages]
    seen: set[str] = set()
    used = 0
    for i, group in enumerate(sentences):  # each passage's best new sentence, best first
        order = sorted(range(len(group)), key=lambda j: -relevance[group[j]])
        j = next((j for j in order if group[j] not in seen), order[0])
        kept[i].add(j)
        seen.add(group[j])
        used += len(group[j]) + 1
    ranked = sorted(
        ((i, j) for i, group in enumerate(sentences) for j in range(len(group))),
        key=lambda ij: -relevance[sentences[ij[0]][ij[1]]],
    )
    for i, j in ranked:
        text = sentences[i][j]
        if text not in seen and used + len(text) + 1 <= budget:
            kept[i].add(j)
            seen.add(text)
            used += len(text) + 1

    excerpts = []
    for group, chosen in zip(sentences, kept, strict=True):
        order = sorted(chosen)
        text = group[order[0]]
        for a, b in itertools.pairwise(order):
            text += (" … " if b != a + 1 else _joint(group[a], group[b])) + group[b]
        excerpts.append(text)
    return excerpts


def _in_lists(text: str, said: Sequence[tuple[tuple[int, int], str]]) -> list[list[str]]:
    """The sentences of each list of ``text`` with more than one item (``rag.lists.runs``),
    from ``said``, its sentences with their spans.  Each counts as near the question as
    the list's nearest sentence, so a list asked about ("What factors are listed ...?")
    is given from its first item on as far as the budget allows, not cut to the items
    whose words happen to be nearest the question."""
    found = []
    for run in runs(text):
        start, end = run[0][0], run[-1][1]
        block = [sentence for (a, b), sentence in said if start <= a and b <= end]
        if len(run) > 1 and len(block) > 1:
            found.append(block)
    return found


_STOPPED = re.compile(r"[.!?…][\"'”’)\]]*$")


def _joint(before: str, after: str) -> str:
    """What goes between two neighbouring sentences of an excerpt: a space, or a line
    break where a line ends without a full stop (a heading, a list's lead-in or item) or
    a list item starts, so the model does not read them as one sentence."""
    return "\n" if is_item(after) or not _STOPPED.search(before) else " "


def clip(text: str, limit: int = MAX_SENTENCE_CHARS) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0] + " …"


def attribute(value: str) -> str:
    return " ".join(value.split()).replace('"', "'")


def as_data(text: str) -> str:
    """Passage text that cannot close or open a passage delimiter."""
    return re.sub(r"<\s*/?\s*passage", "(passage", text, flags=re.IGNORECASE)


def passage_blocks(passages: Sequence[Passage], excerpts: Sequence[str]) -> str:
    """The numbered, fenced passages of a prompt; each article's title, publication
    date and outlet once, on its first passage (prompt tokens are what a small local model is
    slowest at)."""
    template = prompt("passage").strip()
    blocks = []
    titled: set[str] = set()
    for n, (p, text) in enumerate(zip(passages, excerpts, strict=True), 1):
        title = attribute(p.title)
        if len(title) > MAX_TITLE_CHARS:
            title = title[:MAX_TITLE_CHARS].rsplit(" ", 1)[0] + " …"
        title = "" if p.source in titled else f' title="{title}"'
        if p.published and p.source not in titled:  # news is about time: "as of" needs it
            title += f' published="{attribute(p.published)}"'
        if p.outlet and p.source not in titled:  # "what did Reuters say" names the outlet
            title += f' outlet="{attribute(p.outlet)}"'
        titled.add(p.source)
        blocks.append(
            template.format(n=n, source=attribute(p.source), title=title, text=as_data(text))
        )
    return "\n".join(blocks)


def build_messages(
    question: str,
    passages: Sequence[Passage],
    excerpts: Sequence[str],
    multi: bool = False,
    verdict: bool = False,
    timeline: bool = False,
    figures: bool = False,
    latest: bool = False,
) -> list[dict[str, str]]:
    """The chat messages asking the model to answer ``question`` from ``passages`` as JSON.

    The passages come grouped by article (see :func:`by_article`); each article's title
    is given once, on its first passage.
    """
    blocks = passage_blocks(passages, excerpts)
    instructions = "".join(
        prompt(name).strip() + "\n"
        for name, wanted in (
            ("answer_json_multi", multi),
            ("answer_json_verdict", verdict),
            ("answer_json_timeline", timeline),
            ("answer_json_dated", figures and several_dates(passages)),
            ("answer_json_latest", latest),
        )
        if wanted
    )
    user = prompt("answer_json_user").format(
        passages=blocks, instructions=instructions, question=question.strip()
    )
    return [
        {"role": "system", "content": prompt("answer_json_system").strip()},
        {"role": "user", "content": user.strip()},
    ]


def several_dates(passages: Sequence[Passage]) -> bool:
    """Whether ``passages`` come from articles published on more than one date: a figure
    asked for may then have changed between them (the newer leads, both dated)."""
    return len({p.published for p in passages if p.published}) > 1


def oldest_first(passages: Sequence[Passage]) -> list[Passage]:
    """``passages`` with their articles in order of publication, oldest first and the
    undated last; each article's passages stay together and in their order."""
    order: dict[str, int] = {}
    for p in passages:
        order.setdefault(p.source, len(order))
    dated = {p.source: p.published for p in passages if p.published}
    return sorted(
        passages,
        key=lambda p: (p.source not in dated, dated.get(p.source, ""), order[p.source]),
    )


def by_article(passages: Sequence[Passage], k: int, multi: bool = False) -> list[Passage]:
    """The ``k`` passages to give the model, grouped by article.

    Articles come in the order of their best passage, each article's passages in
    rank order.  For a question about several articles, every article retrieved gets
    its best passages in turn (round robin) before any gets a third, so each side has
    evidence.
    """
    groups: dict[str, list[Passage]] = {}
    for p in passages:
        groups.setdefault(p.source, []).append(p)
    if multi:
        chosen: list[Passage] = []
        depth = 0
        while len(chosen) < k and any(depth < len(g) for g in groups.values()):
            chosen += [g[depth] for g in groups.values() if depth < len(g)][: k - len(chosen)]
            depth += 1
        keep = {id(p) for p in chosen}
    else:
        keep = {id(p) for p in passages[:k]}
    return [p for g in groups.values() for p in g if id(p) in keep]


@cache
def example_words(name: str = "answer_system") -> frozenset[str]:
    """The content words of the example passages written into the prompt ``name``."""
    found = re.findall(r"<passage[^>]*>(.*?)</passage>", prompt(name), flags=re.DOTALL)
    return frozenset(w for text in found for w in content_words(text))


def echoes_example(sentence: str, passages: Sequence[Passage]) -> bool:
    """Whether ``sentence`` repeats the prompt's own example instead of the passages (a
    small model sometimes copies it: "The council is closing the Elm Street library
    because of a $2 million budget gap [1]."): at least three of its content words, and
    half of them, are the example's and in no passage.  A real article about a library
    closing holds those words itself, so its sentences are never taken for the example."""
    return _borrows_example(sentence, _passage_words(passages))


def without_example(reply: str, passages: Sequence[Passage]) -> str:
    """``reply`` without the sentences that repeat the prompt's example (``echoes_example``)."""
    pieces = split_answer(reply)
    held = _passage_words(passages)
    kept = [p for p in pieces if not _borrows_example(p.claim, held)]
    if len(kept) == len(pieces):
        return reply
    return "".join(p.raw + p.gap for p in kept).strip()


def _passage_words(passages: Sequence[Passage]) -> set[str]:
    return {w for p in passages for w in content_words(f"{p.about} {p.text}")}


def _borrows_example(sentence: str, held: set[str]) -> bool:
    words = content_words(sentence)
    borrowed = (words & example_words()) - held
    return len(borrowed) >= 3 and 2 * len(borrowed) >= len(words)
