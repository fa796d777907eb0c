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

Beside this file: ``scale_corpus.py`` (the articles, questions and cached vectors),
``scale_measure.py`` (what the worker processes measure) and ``scale_report.py`` (the
markdown table).
"""

from __future__ import annotations

import argparse
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
HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.append(str(HERE))  # the sibling modules, also when this file is imported
CHROMA = Path(sys.executable).with_name("chroma")

from scale_corpus import base_articles, chunk_texts, corpus, questions, vector_table  # noqa: E402
from scale_measure import disk_mb, proc_mb, worker_index, worker_search  # noqa: E402
from scale_report import table  # noqa: E402


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
