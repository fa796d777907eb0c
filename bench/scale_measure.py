"""What bench/scale.py measures, inside its worker processes (an index built with reused
vectors; searches, the keyword database's full build and a new article found, from one
reader) and from /proc and the disk.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from scale_corpus import questions

SIGMA = 0.01


def proc_mb(pid: int | str = "self") -> dict[str, float]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0]) / 1024
    return out


def disk_mb(path: Path) -> float:
    if not path.exists():
        return 0.0
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def worker_index(args: argparse.Namespace) -> dict[str, Any]:
    import numpy as np

    from rag import indexer
    from rag.config import Settings
    from rag.embeddings import Embedder
    from rag.store import text_hash

    saved = np.load(args.vectors)
    table = dict(zip(saved["hashes"].tolist(), saved["vectors"], strict=True))
    rng = np.random.default_rng(0)
    misses = 0

    class ReusedVectors(Embedder):
        """The cached vector of each text, perturbed (see bench/scale.py's docstring)."""

        @property
        def dimension(self) -> int:
            return int(saved["vectors"].shape[1])

        def embed(self, texts: Any) -> list[list[float]]:
            nonlocal misses
            out = []
            for text in texts:
                base = table.get(text_hash(text))
                if base is None:
                    misses += 1
                    base = np.asarray(super().embed([text])[0], dtype=np.float32)
                v = base + rng.normal(0.0, SIGMA, base.shape).astype(np.float32)
                out.append((v / np.linalg.norm(v)).tolist())
            return out

    settings = Settings(home=args.home, articles_dir=args.articles, chroma_url=args.url)
    embedder = ReusedVectors(settings.embedding_model)
    started = time.perf_counter()
    report = indexer.run(settings, embedder=embedder)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "chunks": report.chunks,
        "documents": report.documents,
        "misses": misses,
        "peak_mb": proc_mb()["VmHWM"],
    }


def worker_search(args: argparse.Namespace) -> dict[str, Any]:
    from rag import lexical
    from rag.config import Settings
    from rag.embeddings import Embedder
    from rag.retrieval import Retriever
    from rag.store import Store

    settings = Settings(home=args.home, articles_dir=args.articles, chroma_url=args.url)
    qs = questions(args.queries)
    embedder = Embedder(settings.embedding_model, settings.embedding_batch_size)
    embedder.embed_query("warm up")
    baseline = proc_mb()["VmRSS"]

    # Time a full build of the keyword database from the store (what a missing or
    # damaged one costs, once per machine).
    shutil.rmtree(lexical.database_path(settings).parent, ignore_errors=True)
    store = Store(settings)
    started = time.perf_counter()
    lexical.refresh(store, settings)
    bm25_build = time.perf_counter() - started

    retriever = Retriever(settings, store=store, embedder=embedder)
    started = time.perf_counter()
    retriever.search(qs[0][0], k=5)
    first = time.perf_counter() - started
    for q, _ in qs[:3]:
        retriever.search(q, k=5)

    total, hits = [], 0
    for q, gold in qs:
        started = time.perf_counter()
        passages = retriever.search(q, k=5)
        total.append(1000 * (time.perf_counter() - started))
        hits += any(p.source.rsplit("/", 1)[-1] in gold for p in passages)

    # The same searches with each query's vector computed beforehand: what the store
    # side costs, apart from the model (whose time the CPU contention inflates most).
    vectors = {q.strip(): embedder.embed_query(q) for q, _ in qs}

    class Precomputed(Embedder):
        def embed_query(self, text: str) -> list[float]:
            return vectors.get(text.strip()) or embedder.embed_query(text)

    warm = Retriever(settings, store=store, embedder=Precomputed(settings.embedding_model))
    retrieval = []
    for q, _ in qs:
        started = time.perf_counter()
        warm.search(q, k=5)
        retrieval.append(1000 * (time.perf_counter() - started))

    embed_ms, dense_ms, bm25_ms = [], [], []
    for q, _ in qs[:50]:
        t0 = time.perf_counter()
        vector = embedder.embed_query(q)
        t1 = time.perf_counter()
        store.query(vector, 20)
        t2 = time.perf_counter()
        lexical.refresh(store, settings).search(q, 20)
        t3 = time.perf_counter()
        embed_ms.append(1000 * (t1 - t0))
        dense_ms.append(1000 * (t2 - t1))
        bm25_ms.append(1000 * (t3 - t2))
    mem = proc_mb()
    fresh = new_article(args, store, settings)
    return {
        **fresh,
        "p50": pct(total, 0.5),
        "p95": pct(total, 0.95),
        "retrieval_p50": pct(retrieval, 0.5),
        "retrieval_p95": pct(retrieval, 0.95),
        "embed_p50": pct(embed_ms, 0.5),
        "dense_p50": pct(dense_ms, 0.5),
        "dense_p95": pct(dense_ms, 0.95),
        "bm25_p50": pct(bm25_ms, 0.5),
        "bm25_build_s": bm25_build,
        "first_search_s": first,
        "hit_at_5": hits / len(qs),
        "baseline_mb": baseline,
        "rss_mb": mem["VmRSS"],
        "peak_mb": mem["VmHWM"],
    }


PROBE = "Quorvatine"  # a word no SQuAD paragraph holds


def new_article(args: argparse.Namespace, store: Any, settings: Any) -> dict[str, float]:
    """One new article through a fresh `rag index`: how long after it ends this running
    process finds it by a keyword-only query, now and with the old full rebuild."""
    from rag import lexical

    path = args.articles / "zz-new" / "probe.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{PROBE} harbour\n\nThe {PROBE} ferry left the harbour late.\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(RAG_HOME=str(args.home), RAG_ARTICLES_DIR=str(args.articles), HF_HUB_OFFLINE="1")
    if args.url:
        env["RAG_CHROMA_URL"] = args.url
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "rag.cli", "index"], env=env, check=True)
    ended = time.perf_counter()
    found = None
    while found is None and time.perf_counter() - ended < 120:
        if lexical.refresh(store, settings).search(PROBE, 1):
            found = time.perf_counter() - ended
        else:
            time.sleep(0.01)
    rebuild, hit = old_full_rebuild(store, PROBE)
    path.unlink()
    return {
        "new_index_s": ended - started,
        "new_found_s": found if found is not None else float("nan"),
        "old_found_s": rebuild if hit else float("nan"),
    }


def old_full_rebuild(store: Any, word: str) -> tuple[float, bool]:
    """What each process paid after every change before the keyword database: every
    chunk read back, tokenized and indexed in memory by bm25s, then the query."""
    import bm25s

    from rag.keyword_updates import indexed_text
    from rag.lexical import BM25_B, BM25_K1
    from rag.tokens import tokenize

    started = time.perf_counter()
    corpus = [tokenize(indexed_text(c.title, c.start, c.text)) for c in store.iter_chunks()]
    vocab: dict[str, int] = {}
    ids = [[vocab.setdefault(t, len(vocab)) for t in doc] for doc in corpus]
    model = bm25s.BM25(k1=BM25_K1, b=BM25_B)
    model.index(bm25s.tokenization.Tokenized(ids=ids, vocab=vocab), show_progress=False)
    terms = [vocab[t] for t in tokenize(word) if t in vocab]
    hit = bool(terms) and float(model.get_scores(terms).max()) > 0
    return time.perf_counter() - started, hit
