"""The BM25 side, kept in step with the store through its ``generation`` counter.

The keyword index is derived data: it is rebuilt from the store's chunks whenever
the store's generation differs from the one it was built for, and saved under
``RAG_HOME/bm25/``.  A missing, stale or corrupt copy is simply rebuilt, so it can
never disagree with the store for long, in this process or another one sharing a
Chroma server.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rag.config import Settings
from rag.store import Store

_WORD = re.compile(r"\w+", re.UNICODE)
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "for",
        "from",
        "has",
        "have",
        "he",
        "her",
        "his",
        "i",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "she",
        "that",
        "the",
        "their",
        "them",
        "they",
        "this",
        "to",
        "was",
        "were",
        "which",
        "who",
        "will",
        "with",
        "would",
        "do",
        "does",
        "did",
        "what",
        "when",
        "where",
        "why",
        "how",
        "whom",
        "whose",
        "there",
        "than",
        "then",
        "so",
        "if",
        "into",
        "about",
        "also",
        "been",
        "being",
        "can",
        "could",
        "should",
        "may",
        "might",
        "must",
        "our",
        "we",
        "you",
        "your",
        "not",
        "no",
        "yes",
    ]
)


# Bump when tokenize() or the BM25 parameters change: saved indexes are then rebuilt.
TOKENIZER_VERSION = "snowball-en-1"
# k1 and b as Anserini uses them for passage retrieval (Lin et al.); short passages
# want less length normalisation than bm25s' document defaults (1.5, 0.75).
BM25_K1 = 0.9
BM25_B = 0.4


@functools.cache
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


def tokenize(text: str) -> list[str]:
    """Lower-cased, accent-folded, stemmed words without stopwords.

    Snowball stemming lets "elected" find "election" and "universities" find
    "university"; the same function tokenizes queries, passages and sentences.
    """
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    words = [w for w in _WORD.findall(text) if w not in STOPWORDS]
    return _stemmer().stemWords(words) if words else []


@dataclass
class LexicalIndex:
    generation: int
    ids: list[str]
    sources: list[str]
    published: np.ndarray  # YYYYMMDD per chunk, 0 when unknown
    model: object | None  # bm25s.BM25, or None for an empty index
    _position: dict[str, int] | None = None
    _df: np.ndarray | None = None
    _files: tuple[list[str], np.ndarray] | None = None

    def files(self) -> tuple[list[str], np.ndarray]:
        """The distinct sources, and for each chunk the index of its source among them."""
        if self._files is None:
            names, codes = np.unique(np.array(self.sources, dtype=object), return_inverse=True)
            self._files = ([str(n) for n in names], codes.reshape(-1))
        return self._files

    def position(self, chunk_id: str) -> int | None:
        if self._position is None:
            self._position = {cid: i for i, cid in enumerate(self.ids)}
        return self._position.get(chunk_id)

    def term_ids(self, tokens: Sequence[str]) -> list[int]:
        if self.model is None:
            return []
        vocab = self.model.vocab_dict  # type: ignore[attr-defined]
        return [vocab[t] for t in dict.fromkeys(tokens) if t in vocab]

    def scores(self, query: str, mask: np.ndarray | None = None) -> np.ndarray:
        """The BM25 score of every chunk (aligned with ``ids``); masked-out chunks score 0."""
        terms = self.term_ids(tokenize(query))
        if not terms:
            return np.zeros(len(self.ids), dtype=np.float32)
        out = self.model.get_scores(terms)  # type: ignore[attr-defined]
        return out * mask if mask is not None else out

    def search(self, query: str, k: int, mask: np.ndarray | None = None) -> list[tuple[str, float]]:
        """(chunk id, BM25 score) best first; ``mask`` (1 = allowed) filters chunks."""
        if not self.ids:
            return []
        scores = self.scores(query, mask)
        return [(self.ids[i], float(scores[i])) for i in top(scores, k)]

    def idf(self, tokens: Sequence[str]) -> dict[str, float]:
        """Inverse document frequency of each known token (BM25's smoothed form)."""
        if self.model is None:
            return {}
        if self._df is None:
            indptr = np.asarray(self.model.scores["indptr"])  # type: ignore[attr-defined]
            self._df = np.diff(indptr)
        vocab = self.model.vocab_dict  # type: ignore[attr-defined]
        n = len(self.ids)
        out = {}
        for t in tokens:
            if t in vocab:
                df = float(self._df[vocab[t]])
                out[t] = float(np.log(1.0 + (n - df + 0.5) / (df + 0.5)))
        return out


def top(scores: np.ndarray, k: int) -> list[int]:
    """Indices of the ``k`` highest positive scores, best first."""
    k = min(k, len(scores))
    if k <= 0:
        return []
    part = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
    part = part[scores[part] > 0]
    return [int(i) for i in part[np.argsort(-scores[part], kind="stable")]]


_cache: dict[str, LexicalIndex] = {}
_cache_lock = threading.Lock()


def _dir(settings: Settings) -> Path:
    return settings.home / "bm25" / settings.collection


def refresh(store: Store, settings: Settings) -> LexicalIndex:
    """The keyword index for the store's current generation, rebuilt if needed."""
    generation = store.generation
    key = f"{settings.home.resolve()}::{settings.collection}::{settings.chroma_url}"
    with _cache_lock:
        cached = _cache.get(key)
        if cached is not None and cached.generation == generation:
            return cached
        index = _load(settings, generation)
        if index is None:
            index = _build(store, generation)
            _save(settings, index)
        _cache[key] = index
        return index


def _build(store: Store, generation: int) -> LexicalIndex:
    import bm25s

    ids, sources, published, corpus = [], [], [], []
    for c in store.iter_chunks():
        ids.append(c.chunk_id)
        sources.append(c.source)
        published.append(int((c.published or "0").replace("-", "")))
        corpus.append(tokenize(f"{c.title}\n{c.text}" if c.start == 0 else c.text))
    model = None
    if ids:
        model = bm25s.BM25(k1=BM25_K1, b=BM25_B)
        model.index(_as_tokenized(corpus), show_progress=False)
    return LexicalIndex(generation, ids, sources, np.array(published, dtype=np.int64), model)


def _as_tokenized(corpus: Sequence[list[str]]) -> object:
    import bm25s

    vocab: dict[str, int] = {}
    ids = [[vocab.setdefault(t, len(vocab)) for t in doc] for doc in corpus]
    return bm25s.tokenization.Tokenized(ids=ids, vocab=vocab)


def _save(settings: Settings, index: LexicalIndex) -> None:
    """Write to a fresh folder, then swap it in with one rename."""
    base = _dir(settings)
    tmp = base.with_name(base.name + f".tmp{os.getpid()}")
    try:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if index.model is not None:
            index.model.save(str(tmp / "bm25"))  # type: ignore[attr-defined]
        (tmp / "meta.json").write_text(
            json.dumps(
                {
                    "generation": index.generation,
                    "tokenizer": TOKENIZER_VERSION,
                    "ids": index.ids,
                    "sources": index.sources,
                    "published": index.published.tolist(),
                }
            )
        )
        old = base.with_name(base.name + f".old{os.getpid()}")
        if base.exists():
            os.replace(base, old)
        os.replace(tmp, base)
        shutil.rmtree(old, ignore_errors=True)
    except OSError:
        # The keyword index is a cache: failing to persist it only costs a rebuild later.
        shutil.rmtree(tmp, ignore_errors=True)


def _load(settings: Settings, generation: int) -> LexicalIndex | None:
    base = _dir(settings)
    try:
        meta = json.loads((base / "meta.json").read_text())
        if int(meta["generation"]) != generation or meta.get("tokenizer") != TOKENIZER_VERSION:
            return None
        ids = [str(i) for i in meta["ids"]]
        model = None
        if ids:
            import bm25s

            model = bm25s.BM25.load(str(base / "bm25"))
            if int(model.scores["num_docs"]) != len(ids):
                return None
        return LexicalIndex(
            generation,
            ids,
            [str(s) for s in meta["sources"]],
            np.array(meta["published"], dtype=np.int64),
            model,
        )
    except Exception:
        return None
