"""Search latency at 10k and 100k chunks, each stage apart, against same-run baselines.

    .venv/bin/python bench/search.py                       # 10k and 100k chunks
    .venv/bin/python bench/search.py --sizes 10000 --queries 50

The chunks are the SQuAD 2.0 articles (../shared/benchmarks/squad2) cut by the real
chunker with the default settings, copied into as many folders as it takes to reach
each size.  Embedding 100,000 chunks would take hours on a shared 2-core CPU, so each
distinct chunk is embedded once (cached in the work folder) and every copy gets that
vector plus small Gaussian noise (sigma 0.01 per dimension, re-normalised), inserted
straight into the store with a manifest record per file; the keyword database is then
built from them by the real code (``lexical.refresh``).

For each size, one ``Retriever`` answers SQuAD questions and the time of each stage
is recorded (query embedding, dense query, BM25 scores, fusion, rerank).  Absolute
times on a busy machine mean little, so the same run also times two baselines on
the same store, and the table prints ours as a ratio of them:

- ``plain dense``: embed the query + one Chroma query for 10 results (the usual
  starting point);
- ``plain BM25``: ``bm25s.retrieve`` for 10 results over the same chunks.

Target (issue 3): retrieval p50 < 50 ms at 10k chunks and < 150 ms at 100k.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

SQUAD = REPO.parent / "shared" / "benchmarks" / "squad2" / "squad2-open.json"
SIGMA = 0.01
TARGETS = {10_000: 50.0, 100_000: 150.0}


def base_chunks(chunk_chars: int, overlap: int) -> list[tuple[str, int, int, str, str]]:
    """(source, start, end, title, text) of the SQuAD articles cut by the real chunker."""
    from rag.chunking import chunk
    from rag.documents import Document, content_hash

    data = json.loads(SQUAD.read_text(encoding="utf-8"))["data"]
    out = []
    for article in data:
        title = article["title"].replace("_", " ")
        text = title + "\n\n" + "\n\n".join(p["context"].strip() for p in article["paragraphs"])
        doc = Document(
            source=article["title"] + ".txt",
            text=text,
            title=title,
            content_hash=content_hash(text.encode()),
            size=len(text),
            modified=0.0,
        )
        out += [(c.source, c.start, c.end, title, c.text) for c in chunk(doc, chunk_chars, overlap)]
    return out


def questions(n: int) -> list[str]:
    data = json.loads(SQUAD.read_text(encoding="utf-8"))["data"]
    qs = [
        qa["question"]
        for a in data
        for p in a["paragraphs"]
        for qa in p["qas"]
        if not qa.get("is_impossible")
    ]
    step = max(1, len(qs) // n)
    return qs[::step][:n]


def base_vectors(texts: list[str], cache: Path, embedder: object) -> np.ndarray:
    if cache.exists():
        saved = np.load(cache, allow_pickle=False)
        if saved.shape[0] == len(texts):
            return saved
    print(f"embedding {len(texts)} distinct chunks once ...", file=sys.stderr)
    vectors = np.asarray(embedder.embed(texts), dtype=np.float32)  # type: ignore[attr-defined]
    np.save(cache, vectors)
    return vectors


def build(home: Path, size: int, chunks: list, vectors: np.ndarray) -> None:
    """A store of ``size`` chunks: copies of the base chunks with jittered vectors."""
    from rag import lexical
    from rag.chunking import chunk_id
    from rag.config import Settings
    from rag.schema import FileRecord
    from rag.store import Store, StoredChunk

    settings = Settings(home=home, _env_file=None)
    store = Store(settings)
    if store.count() == size:
        return
    rng = np.random.default_rng(size)
    started = time.perf_counter()
    step = 2000
    files: dict[str, FileRecord] = {}  # the manifest the keyword index is built from
    for first in range(0, size, step):
        rows = range(first, min(size, first + step))
        stored, embs = [], []
        for i in rows:
            copy, j = divmod(i, len(chunks))
            source, start, end, title, text = chunks[j]
            vec = vectors[j] + rng.normal(0, SIGMA, vectors.shape[1]).astype(np.float32)
            published = f"20{10 + copy % 15:02d}-{1 + j % 12:02d}-{1 + j % 28:02d}"
            embs.append((vec / np.linalg.norm(vec)).tolist())
            name = f"copy{copy:03d}/{source}"
            old = files.get(name)
            files[name] = FileRecord(
                name,
                "synthetic",
                0,
                0.0,
                title,
                published,
                (old.chunks if old else 0) + 1,
                "done",
                0.0,
            )
            stored.append(
                StoredChunk(
                    chunk_id=chunk_id(name, "synthetic", j),
                    source=name,
                    start=start,
                    end=end,
                    text=text,
                    title=title,
                    published=published,
                    content_hash="synthetic",
                    index=j,
                )
            )
        store.add_chunks(stored, embs)
        print(f"  {rows.stop}/{size} chunks inserted", file=sys.stderr, end="\r")
    store.put_files(list(files.values()))
    store.bump_generation()
    print(f"\n  inserted in {time.perf_counter() - started:.0f}s", file=sys.stderr)
    started = time.perf_counter()
    lexical.refresh(store, settings)
    print(f"  keyword index built in {time.perf_counter() - started:.0f}s", file=sys.stderr)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure(home: Path, qs: list[str], embedder: object) -> dict[str, dict[str, float]]:
    from rag import lexical
    from rag.config import Settings
    from rag.retrieval import Retriever

    settings = Settings(home=home, _env_file=None)
    retriever = Retriever(settings, embedder=embedder)  # type: ignore[arg-type]
    store = retriever.store
    for q in qs[:3]:  # warm: model, store, keyword index loaded
        retriever.search(q, k=5)
    lex = lexical.refresh(store, settings)
    vocab = lex.model.vocab_dict  # type: ignore[attr-defined]

    stages: dict[str, list[float]] = {}
    for q in qs:
        started = time.perf_counter()
        retriever.search(q, k=5)
        total = time.perf_counter() - started
        laps = dict(retriever.timings)
        laps["total"] = total
        laps["retrieval (no embedding)"] = total - laps.get("embed", 0.0)

        t0 = time.perf_counter()
        store.query(retriever.embedder.embed_query(q), 10)
        t1 = time.perf_counter()
        ids = [vocab[t] for t in lexical.tokenize(q) if t in vocab]
        if ids:
            lex.model.retrieve([ids], k=10, show_progress=False, n_threads=0)  # type: ignore[attr-defined]
        t2 = time.perf_counter()
        laps["baseline: plain dense"] = t1 - t0
        laps["baseline: plain BM25"] = t2 - t1
        for name, seconds in laps.items():
            stages.setdefault(name, []).append(1000 * seconds)
    return {
        name: {"p50": pct(v, 0.5), "p95": pct(v, 0.95), "mean": statistics.fmean(v)}
        for name, v in stages.items()
    }


def main(argv: list[str] | None = None) -> int:
    from rag.config import Settings
    from rag.embeddings import Embedder

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--work", type=Path, help="Keep stores and vectors here between runs.")
    args = parser.parse_args(argv)

    defaults = Settings(_env_file=None)
    work = args.work or Path(tempfile.mkdtemp(prefix="rag-search-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    embedder = Embedder(defaults.embedding_model, defaults.embedding_batch_size)
    chunks = base_chunks(defaults.chunk_chars, defaults.chunk_overlap_sentences)
    vectors = base_vectors([c[4] for c in chunks], work / "vectors.npy", embedder)
    qs = questions(args.queries)
    print(f"{len(chunks)} distinct chunks, {len(qs)} questions", file=sys.stderr)

    tables = []
    for size in args.sizes:
        home = work / f"home-{size}"
        build(home, size, chunks, vectors)
        rows = measure(home, qs, embedder)
        dense = rows["baseline: plain dense"]["p50"]
        bm25 = rows["baseline: plain BM25"]["p50"]
        lines = [
            f"## {size:,} chunks (target p50 < {TARGETS.get(size, float('nan')):.0f} ms)",
            "",
            "| stage | p50 ms | p95 ms | p50 / plain dense | p50 / plain BM25 |",
            "|---|---|---|---|---|",
        ]
        for name, r in rows.items():
            lines.append(
                f"| {name} | {r['p50']:.1f} | {r['p95']:.1f} | {r['p50'] / dense:.2f} "
                f"| {r['p50'] / max(bm25, 1e-6):.1f} |"
            )
        tables.append("\n".join(lines))
        print(tables[-1] + "\n", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
