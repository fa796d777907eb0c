"""Scale benchmark, run on demand (not in CI): 1k, 10k, 100k chunks, embedded and server.

    .venv/bin/python bench/scale.py --out bench/results/scale.md
    .venv/bin/python bench/scale.py --sizes 1000 10000 --modes embedded   # a quick look

For each corpus size and each store (the embedded Chroma store, and a real
``chroma run`` server on loopback) it builds an index with the real indexer
(``rag.indexer.run``: hashing, chunking, manifest, Chroma upserts, keyword index), then,
in a fresh process holding one ``Retriever``, measures what a chat page would pay:
search latency p50/p95 over SQuAD questions (query embedding, dense query, BM25,
fusion), each stage apart, the keyword database's full build, one new article
through a fresh ``rag index`` found by a keyword-only query in that running process
(against the old full in-memory rebuild, timed in the same process), resident
memory, and the index's size on disk.

The texts come from ../shared/benchmarks/squad2: its 1,216 Wikipedia paragraphs are
grouped into news-sized articles (five consecutive paragraphs under a headline),
giving about 1,700 distinct chunks.  Larger corpora hold copies of those articles in
further folders.  Embedding 100,000 texts would take hours on a shared 2-core CPU,
so each distinct chunk text is embedded once (cached in the work folder) and every
copy reuses its vector plus a small random perturbation (Gaussian, sigma 0.01 per
dimension, re-normalised: cosine ~0.98 to the original), so the vector index holds
100,000 distinct points.  The indexing throughput is therefore the pipeline without
the model; the model's own rate is measured apart, and the end-to-end rate follows
from both.  BM25 sees repeated texts: its vocabulary stops growing after the first
copy, which understates the keyword index's memory a little (its size is dominated
by postings, which do grow with the corpus).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SQUAD = REPO.parent / "shared" / "benchmarks" / "squad2" / "squad2-open.json"
if not SQUAD.exists():
    SQUAD = Path("/work/shared/benchmarks/squad2/squad2-open.json")
CHROMA = Path(sys.executable).with_name("chroma")
PARAGRAPHS_PER_ARTICLE = 5
SIGMA = 0.01


# --- corpus -----------------------------------------------------------------------------


def base_articles(dest: Path) -> list[tuple[Path, str]]:
    """News-sized articles from the SQuAD paragraphs: (file, gold-paragraph key) pairs."""
    data = json.loads(SQUAD.read_text(encoding="utf-8"))["data"]
    dest.mkdir(parents=True, exist_ok=True)
    out = []
    n = 0
    for article in data:
        title = article["title"].replace("_", " ")
        paragraphs = [p["context"].strip() for p in article["paragraphs"]]
        for part, i in enumerate(range(0, len(paragraphs), PARAGRAPHS_PER_ARTICLE), 1):
            day = f"20{10 + n % 15:02d}-{1 + n % 12:02d}-{1 + n % 28:02d}"
            body = "\n\n".join(paragraphs[i : i + PARAGRAPHS_PER_ARTICLE])
            path = dest / f"{n:04d}_{article['title'][:40]}_{part}.txt"
            if not path.exists():
                path.write_text(f"{title}, part {part}\n\nPublished {day}.\n\n{body}\n")
            out.append((path, path.name))
            n += 1
    return out


def questions(limit: int) -> list[tuple[str, set[str]]]:
    """Answerable SQuAD questions with the base articles holding their gold paragraph."""
    data = json.loads(SQUAD.read_text(encoding="utf-8"))["data"]
    by_paragraph: dict[str, str] = {}
    n = 0
    for article in data:
        paragraphs = article["paragraphs"]
        for part, i in enumerate(range(0, len(paragraphs), PARAGRAPHS_PER_ARTICLE), 1):
            name = f"{n:04d}_{article['title'][:40]}_{part}.txt"
            for p in paragraphs[i : i + PARAGRAPHS_PER_ARTICLE]:
                by_paragraph[p["context"].strip()] = name
            n += 1
    out = []
    for article in data:
        for p in article["paragraphs"]:
            for qa in p["qas"]:
                if not qa.get("is_impossible"):
                    out.append((qa["question"], {by_paragraph[p["context"].strip()]}))
    step = max(1, len(out) // limit)
    return out[::step][:limit]


def chunk_texts(files: list[tuple[Path, str]]) -> dict[str, list[str]]:
    """Each base article's chunk texts, exactly as the indexer will cut them."""
    from rag.chunking import chunk
    from rag.config import Settings
    from rag.documents import FileEntry, load

    s = Settings()
    out = {}
    for path, name in files:
        doc = load(FileEntry(path=path, source=name), s.max_file_bytes)
        out[name] = [c.text for c in chunk(doc, s.chunk_chars, s.chunk_overlap_sentences)]
    return out


def vector_table(texts: list[str], cache: Path) -> tuple[dict[str, Any], float, int]:
    """text hash -> vector for every text (embedding the missing ones); texts/s measured."""
    import numpy as np

    from rag.config import Settings
    from rag.embeddings import Embedder
    from rag.store import text_hash

    table: dict[str, Any] = {}
    if cache.exists():
        saved = np.load(cache)
        table = dict(zip(saved["hashes"].tolist(), saved["vectors"], strict=True))
    missing = list({text_hash(t): t for t in texts if text_hash(t) not in table}.values())
    embedder = Embedder(Settings().embedding_model, 64)
    sample = missing or texts[:64]
    embedder.embed(sample[:8])  # load the model outside the timing
    started = time.perf_counter()
    vectors = embedder.embed(sample)
    rate = len(sample) / (time.perf_counter() - started)
    for text, vector in zip(sample, vectors, strict=True):
        table[text_hash(text)] = np.asarray(vector, dtype=np.float32)
    if missing:
        np.savez(
            cache,
            hashes=np.array(list(table)),
            vectors=np.stack(list(table.values())),
        )
    return table, rate, len(missing)


def corpus(size: int, files: list[tuple[Path, str]], counts: dict[str, int], dest: Path) -> int:
    """Hard-link copies of the base articles into ``dest`` until ``size`` chunks; files."""
    if dest.exists():
        shutil.rmtree(dest)
    total = n = copy = 0
    while total < size:
        folder = dest / f"copy{copy:03d}"
        folder.mkdir(parents=True)
        for path, name in files:
            os.link(path, folder / name)
            total += counts[name]
            n += 1
            if total >= size:
                break
        copy += 1
    return n


# --- measuring ----------------------------------------------------------------------------


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
        """The cached vector of each text, perturbed (see the module docstring)."""

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


def run_worker(kind: str, home: Path, articles: Path, url: str | None, **extra: Any) -> Any:
    command = [sys.executable, __file__, "--worker", kind, "--home", str(home)]
    command += ["--articles", str(articles)]
    if url:
        command += ["--url", url]
    for key, value in extra.items():
        command += [f"--{key}", str(value)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(HF_HUB_OFFLINE="1", PYTHONWARNINGS="ignore", TOKENIZERS_PARALLELISM="false")
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{kind} worker failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


class Server:
    def __init__(self, path: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.address = ["--host", "127.0.0.1", "--port", str(self.port)]
        log = path.with_suffix(".log").open("wb")
        self.process = subprocess.Popen(
            [str(CHROMA), "run", "--path", str(path), *self.address],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        for _ in range(600):
            try:
                with urllib.request.urlopen(f"{self.url}/api/v2/heartbeat", timeout=1):
                    return
            except OSError:
                time.sleep(0.2)
        raise SystemExit("chroma run did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=60)


# --- the table ------------------------------------------------------------------------------


def measure(args: argparse.Namespace) -> dict[str, Any]:
    work = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    files = base_articles(work / "base")
    # Articles holding the questions' answers first, so every size contains them all.
    golds = set().union(*(gold for _, gold in questions(args.queries)))
    files.sort(key=lambda f: f[1] not in golds)
    texts = chunk_texts(files)
    counts = {name: len(t) for name, t in texts.items()}
    all_texts = [t for ts in texts.values() for t in ts]
    _, embed_rate, embedded = vector_table(all_texts, work / "vectors.npz")
    print(
        f"{len(files)} base articles, {len(all_texts)} chunks ({len(set(all_texts))} distinct); "
        f"model: {embed_rate:.0f} texts/s ({embedded} embedded now)",
        flush=True,
    )
    results: dict[str, Any] = {
        "embed_rate": embed_rate,
        "distinct_chunks": len(set(all_texts)),
        "load_before": os.getloadavg(),
        "rows": [],
    }
    for size in args.sizes:
        run_dir = work / "runs" / str(size)
        articles = run_dir / "articles"
        n_files = corpus(size, files, counts, articles)
        for mode in args.modes:
            home = run_dir / mode / "home"
            shutil.rmtree(run_dir / mode, ignore_errors=True)
            home.mkdir(parents=True)
            server = Server(run_dir / mode / "chroma-server") if mode == "server" else None
            try:
                url = server.url if server else None
                built = run_worker("index", home, articles, url, vectors=work / "vectors.npz")
                searched = run_worker("search", home, articles, url, queries=args.queries)
                server_mem = proc_mb(server.process.pid) if server else {}
            finally:
                if server:
                    server.stop()
            store_dir = run_dir / mode / "chroma-server" if server else home / "chroma"
            row = {
                "size": size,
                "mode": mode,
                "files": n_files,
                **{f"index_{k}": v for k, v in built.items()},
                **searched,
                "store_mb": disk_mb(store_dir),
                "bm25_mb": disk_mb(home / "keyword"),
                "server_rss_mb": server_mem.get("VmRSS"),
                "server_peak_mb": server_mem.get("VmHWM"),
                "load": os.getloadavg()[0],
            }
            results["rows"].append(row)
            print(json.dumps(row), flush=True)
            if not args.keep:
                shutil.rmtree(run_dir / mode, ignore_errors=True)
        if not args.keep:
            shutil.rmtree(articles, ignore_errors=True)
    results["load_after"] = os.getloadavg()
    return results


def table(results: dict[str, Any], command: str) -> str:
    rows = results["rows"]
    rate = results["embed_rate"]
    lines = [
        "# Scale benchmark",
        "",
        f"Regenerate: `{command}`",
        "",
        f"Measured {time.strftime('%Y-%m-%d')} on 2 CPU cores **shared with other jobs** "
        f"(load average {results['load_before'][0]:.1f} before, "
        f"{results['load_after'][0]:.1f} after; each row shows its own): absolute times are "
        "inflated and noisy, the ratios between rows are the useful part.  "
        f"Texts: SQuAD 2.0 paragraphs in news-sized articles, "
        f"{results['distinct_chunks']:,} distinct chunks; larger corpora hold copies whose "
        "vectors are the cached vector of the text plus a small perturbation (see "
        "bench/scale.py), so *index* throughput excludes the embedding model, whose own "
        f"rate here was {rate:.0f} chunks/s.",
        "",
        "| chunks | store | index chunks/s (no model) | end-to-end chunks/s* | disk MB (store + keyword)"
        " | search p50 / p95 ms | without query embedding p50 / p95 ms"
        " | embed · dense · BM25 p50 ms | keyword full build s"
        " | new article found after `rag index` ends s: now · old full rebuild"
        " | reader RSS MB (Δ over model) | server RSS MB | hit@5 | load |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        pipeline = r["index_chunks"] / r["index_seconds"]
        end_to_end = 1 / (1 / pipeline + 1 / rate)
        server = f"{r['server_rss_mb']:.0f}" if r["server_rss_mb"] else "–"
        lines.append(
            f"| {r['index_chunks']:,} | {r['mode']} | {pipeline:,.0f} | {end_to_end:,.0f} "
            f"| {r['store_mb']:.0f} + {r['bm25_mb']:.0f} "
            f"| {r['p50']:.0f} / {r['p95']:.0f} "
            f"| {r['retrieval_p50']:.0f} / {r['retrieval_p95']:.0f} "
            f"| {r['embed_p50']:.0f} · {r['dense_p50']:.1f} · {r['bm25_p50']:.1f} "
            f"| {r['bm25_build_s']:.1f} "
            f"| {_found(r)} "
            f"| {r['rss_mb']:.0f} ({r['rss_mb'] - r['baseline_mb']:+.0f}) | {server} "
            f"| {r['hit_at_5']:.2f} | {r['load']:.1f} |"
        )
    lines += [
        "",
        "\\* end-to-end = the pipeline and the model in series: 1 / (1/pipeline + 1/model).",
        "",
        "## Growth (each size against the one before, same store)",
        "",
        "| store | chunks | × chunks | × disk | × reader RSS Δ | × server RSS | × dense p50"
        " | × BM25 p50 | × keyword full build | × search p50 | × search p50 without embedding |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for mode in dict.fromkeys(r["mode"] for r in rows):
        mine = [r for r in rows if r["mode"] == mode]
        for a, b in itertools.pairwise(mine):

            def x(key: str, a: dict[str, Any] = a, b: dict[str, Any] = b) -> str:
                return f"{b[key] / a[key]:.1f}" if a.get(key) and b.get(key) else "–"

            def delta(r: dict[str, Any]) -> float:
                return max(1.0, r["rss_mb"] - r["baseline_mb"])

            lines.append(
                f"| {mode} | {b['index_chunks']:,} | "
                f"{b['index_chunks'] / a['index_chunks']:.1f} | "
                f"{(b['store_mb'] + b['bm25_mb']) / (a['store_mb'] + a['bm25_mb']):.1f} | "
                f"{delta(b) / delta(a):.1f} | {x('server_rss_mb')} | {x('dense_p50')} | "
                f"{x('bm25_p50')} | {x('bm25_build_s')} | {x('p50')} | {x('retrieval_p50')} |"
            )
    lines += projection(rows)
    return "\n".join(lines) + "\n"


def _found(r: dict[str, Any]) -> str:
    if "new_found_s" not in r:
        return "–"  # a run from before the keyword database
    return (
        f"{r['new_found_s']:.2f} · {r['old_found_s']:.1f} "
        f"(×{r['old_found_s'] / max(r['new_found_s'], 1e-3):.0f})"
    )


def projection(rows: list[dict[str, Any]]) -> list[str]:
    """Cost per extra chunk between the two largest sizes, and what 1M chunks would take."""
    lines = [
        "",
        "## Per extra chunk, and a straight line to 1M chunks",
        "",
        "Marginal cost between the two largest sizes measured, times one million.",
        "",
        "| store | disk KB | reader RSS KB | server RSS KB | keyword full build ms"
        " | → 1M: disk GB | reader GB | server GB | keyword full build min |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for mode in dict.fromkeys(r["mode"] for r in rows):
        mine = [r for r in rows if r["mode"] == mode]
        if len(mine) < 2:
            continue
        a, b = mine[-2], mine[-1]
        n = b["index_chunks"] - a["index_chunks"]

        def per(key: str, a: dict[str, Any] = a, b: dict[str, Any] = b, n: int = n) -> float:
            return ((b.get(key) or 0.0) - (a.get(key) or 0.0)) / n

        disk = per("store_mb") + per("bm25_mb")
        reader, server, rebuild = per("rss_mb"), per("server_rss_mb"), per("bm25_build_s")
        kb, gb = (f"{server * 1024:.1f}", f"{server * 1e6 / 1024:.1f}") if server else ("–", "–")
        lines.append(
            f"| {mode} | {disk * 1024:.1f} | {reader * 1024:.1f} | {kb} | {rebuild * 1000:.2f} "
            f"| {disk * 1e6 / 1024:.1f} | {reader * 1e6 / 1024:.1f} | {gb} "
            f"| {rebuild * 1e6 / 60:.0f} |"
        )
    lines += [
        "",
        "The keyword index is one SQLite FTS5 database per collection on the machine, changed",
        "by the indexer file by file: its full build (the column above) happens once, when it",
        "is missing or damaged, not after every change in every process; a reader holds only",
        "SQLite's page cache and two small arrays per chunk row. The vector index grows",
        "linearly (HNSW is kept in RAM: about 1.6 KB of vector per chunk plus its graph), in",
        "every reader process with the embedded store and once in the server otherwise.",
        "Search latency itself grows slowly (HNSW is logarithmic; BM25 reads the query",
        "terms' postings).",
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--modes", nargs="+", default=["embedded", "server"])
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/rag-scale"))
    parser.add_argument("--out", type=Path, help="Write the markdown table here.")
    parser.add_argument("--json", type=Path, help="Write the raw numbers here.")
    parser.add_argument("--keep", action="store_true", help="Keep the indexes built.")
    parser.add_argument("--from-json", type=Path, help="Only re-render a --json file.")
    parser.add_argument("--worker", choices=["index", "search"], help=argparse.SUPPRESS)
    parser.add_argument("--home", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--articles", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--vectors", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker = worker_index if args.worker == "index" else worker_search
        print(json.dumps(worker(args)))
        return
    # --from-json re-renders the table from the raw numbers of an earlier run.
    results = json.loads(args.from_json.read_text()) if args.from_json else measure(args)
    command = results.setdefault(
        "command", " ".join([".venv/bin/python", "bench/scale.py", *sys.argv[1:]])
    )
    text = table(results, command)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
