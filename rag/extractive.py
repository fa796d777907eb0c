"""No LLM: an answer quoted from the passage sentences nearest the question.

Used when the LLM cannot be reached or times out; the answerer then puts the quoted
sentences through the same checks as a model's claims.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from rag.chunking import sentence_spans
from rag.lists import item_text
from rag.markers import defuse_markers, parse_markers, strip_markers
from rag.prompting import clip
from rag.questions import Question, holds_type
from rag.retrieval import Passage
from rag.text import content_words
from rag.verifier import Verifier

EXTRACTIVE_SENTENCES = 2
EXTRACTIVE_MARGIN = 0.1  # cosine below the best sentence's at which others stop counting
EXTRACTIVE_ARTICLES = 3  # a question about several articles: at most this many sides quoted


def extractive(
    query: str,
    passages: Sequence[Passage],
    verifier: Verifier,
    hint: str | None = None,
    count: int = EXTRACTIVE_SENTENCES,
    each_article: bool = False,
    shape: Question | None = None,
) -> str:
    """An answer made of the passage sentences nearest the query (or the model's text).

    The sentences come from the passages the model's text cites when it cites any (a
    small model sometimes answers with a bare "[2]": it points at the evidence without
    stating it), and those holding a phrase it put in quotation marks (it copies the
    words right more often than it numbers their passage right), otherwise from the
    three best passages.  A question asking for a date or a number (``shape``) is
    quoted from sentences stating one, from the three best passages too when the cited
    ones state none.  For a question about several
    articles (``each_article``) every side is quoted: the nearest sentence of each
    article, from all the passages unless the cited ones already span two articles.
    """
    pointed = sorted({n for n in parse_markers(hint or "") if 1 <= n <= len(passages)})
    if pointed:  # ... and the passages holding a phrase the model quoted, whatever it cited
        pointed = sorted(set(pointed) | set(quoting(hint or "", passages)))
    best = list(range(1, min(len(passages), 3) + 1))
    sources = pointed or best
    if each_article and len({passages[n - 1].source for n in sources}) < 2:
        sources = list(range(1, len(passages) + 1))
    said = strip_markers(hint or "").strip()
    probes = [query] + ([said] if said else [])
    candidates, said_in = _candidates(passages, sources)
    sims = _nearness(probes, candidates, verifier)
    order = sorted(range(len(candidates)), key=lambda i: -sims[i])
    if shape is not None and shape.expects in ("date", "number") and not each_article:
        # "When ...?" or "How many ...?" is answered by a sentence stating a date or a
        # number about as near the question as the nearest sentence; if the passages the
        # model cited hold none, the best passages may.
        fitting = _typed(order, candidates, sims, shape)
        if not fitting and set(best) - set(sources):
            wider, wider_said = _candidates(passages, sorted(set(sources) | set(best)))
            wider_sims = _nearness(probes, wider, verifier)
            wider_order = sorted(range(len(wider)), key=lambda i: -wider_sims[i])
            if fitting := _typed(wider_order, wider, wider_sims, shape):
                candidates, said_in, sims = wider, wider_said, wider_sims
        order = fitting or order
    if not candidates:
        return ""
    picked = _each_article(order, candidates, passages) if each_article else []
    for i in order if not picked else ():
        if picked and sims[i] < sims[order[0]] - EXTRACTIVE_MARGIN:
            break  # much further from the question than the best: noise, not evidence
        if candidates[i][2] not in {candidates[j][2] for j in picked}:
            picked.append(i)
        if len(picked) == count:
            break
    chosen = {candidates[i][:2] for i in picked}
    chosen |= {q for n, k in chosen if (q := whole_quote(said_in[n], n, k))}
    out = []
    for n, k in sorted(chosen):
        text = said_in[n][k]
        text = text if re.search(r"[.!?…][\"'”’)]*$", text) else text + "."
        out.append(f"{clip(text)} [{n}]")
    return " ".join(out)


def _candidates(
    passages: Sequence[Passage], sources: Sequence[int]
) -> tuple[list[tuple[int, int, str]], dict[int, list[str]]]:
    """The sentences of the ``sources`` passages a quote can be made of, as (passage
    number, index of the sentence in the passage, its text), and each source passage's
    sentences in order.  Lines without a full stop (titles, table rows) only when no
    sentence has one."""
    candidates: list[tuple[int, int, str]] = []
    headlines: list[tuple[int, int, str]] = []
    said_in: dict[int, list[str]] = {}
    for n in sources:
        p = passages[n - 1]
        said_in[n] = []
        for a, b in sentence_spans(p.text):
            # without its list marker: an item's "2." is no number the quote states
            text = defuse_markers(item_text(" ".join(p.text[a:b].split())).lstrip("-•* ").strip())
            said_in[n].append(text)
            if len(content_words(text)) >= 4 and "|" not in text:
                ends = re.search(r"[.!?…][\"'”’)]*$", text)
                (candidates if ends else headlines).append((n, len(said_in[n]) - 1, text))
    return candidates or headlines, said_in


def _nearness(
    probes: Sequence[str], candidates: Sequence[tuple[int, int, str]], verifier: Verifier
) -> np.ndarray:
    """Each candidate sentence's cosine with the nearest of ``probes``."""
    if not candidates:
        return np.zeros(0, dtype=np.float32)
    vectors = verifier.vectors([*probes, *(t for _, _, t in candidates)])
    return (vectors[len(probes) :] @ vectors[: len(probes)].T).max(axis=1)


def _typed(
    order: Sequence[int],
    candidates: Sequence[tuple[int, int, str]],
    sims: np.ndarray,
    shape: Question,
) -> list[int]:
    """The candidates (indexes, nearest first) stating the date or number ``shape`` asks
    for and within ``EXTRACTIVE_MARGIN`` of the nearest sentence, [] when none is: a
    sentence far from the question is no answer for stating a year."""
    if not order:
        return []
    floor = sims[order[0]] - EXTRACTIVE_MARGIN
    return [
        i for i in order if sims[i] >= floor and holds_type(candidates[i][2], shape.expects, shape)
    ]


# A news quote split around who said it: "“Putin seems to believe time is on his side,”
# said Tatiana Stanovaya. “But he may be underestimating Trump’s need to show strength.”"
_OPENS = re.compile(r"^[\"“]")
_ATTRIBUTION = re.compile(
    r"[,.!?…][\"”]\s+(?:[\w.’'-]+\s+){0,4}?"
    r"(?:said|says|added|adds|told|warned|warns|wrote|writes|noted|notes|argued|argues)\b"
)


def whole_quote(sentences: Sequence[str], n: int, k: int) -> tuple[int, int] | None:
    """(n, index) of the sentence that completes sentence ``k``'s quote: the speaker's next
    words after a sentence attributing a quote ("“A,” said X." -> "“B.”"), or the
    attribution before a bare quote ("“B.”" -> "“A,” said X."), so a quoted sentence keeps
    its speaker and its speaker's point.  None when the sentence is no such part."""
    here = sentences[k]
    if not _OPENS.match(here):
        return None
    if _ATTRIBUTION.search(here):
        after = sentences[k + 1] if k + 1 < len(sentences) else ""
        return (n, k + 1) if _OPENS.match(after) and not _ATTRIBUTION.search(after) else None
    before = sentences[k - 1] if k > 0 else ""
    return (n, k - 1) if _OPENS.match(before) and _ATTRIBUTION.search(before) else None


_QUOTED = re.compile(r"[\"“]([^\"“”]{4,200})[\"”]")


def quoting(text: str, passages: Sequence[Passage]) -> list[int]:
    """The numbers of the passages holding a phrase ``text`` puts in quotation marks
    (case and spacing aside): 'the authors use the word "devastating" [4]'."""
    phrases = [" ".join(q.split()).lower() for q in _QUOTED.findall(strip_markers(text))]
    phrases = [q for q in phrases if q]
    if not phrases:
        return []
    texts = [" ".join(p.text.split()).lower() for p in passages]
    return [n for n, t in enumerate(texts, 1) if any(q in t for q in phrases)]


def _each_article(
    order: Sequence[int], candidates: Sequence[tuple[int, int, str]], passages: Sequence[Passage]
) -> list[int]:
    """The nearest sentence of each article (``order`` is nearest first), however far:
    a question about several articles asked for every side.  Empty when only one
    article has a sentence (the nearest sentences are then taken as usual)."""
    best: dict[str, int] = {}
    for i in order:
        best.setdefault(passages[candidates[i][0] - 1].source, i)
    chosen = list(best.values())[:EXTRACTIVE_ARTICLES]
    return chosen if len(chosen) > 1 else []


def other_sides(
    query: str, cited: Sequence[int], passages: Sequence[Passage], verifier: Verifier
) -> str:
    """For a question about several articles answered from some of them: the nearest
    sentence of each retrieved article that none of the ``cited`` passages is from
    (cited, as :func:`extractive` cites), so every side the question asked about is shown.
    "" when the answer already cites every article (or only one was retrieved)."""
    articles: dict[str, list[int]] = {}
    for n, p in enumerate(passages, 1):
        articles.setdefault(p.source, []).append(n)
    if len(articles) < 2:
        return ""
    covered = {passages[n - 1].source for n in cited if 1 <= n <= len(passages)}
    if not covered:
        return ""
    sides = [s for s in list(articles)[:EXTRACTIVE_ARTICLES] if s not in covered]
    found = [
        extractive(query, passages, verifier, hint="".join(f"[{n}]" for n in articles[s]), count=1)
        for s in sides
    ]
    return " ".join(f for f in found if f)
