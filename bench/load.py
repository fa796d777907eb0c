"""Concurrent questions against one index while a re-index runs, against a same-run baseline.

    .venv/bin/python bench/load.py                      # 4 threads, 2 x 40 s phases: ~2 minutes
    .venv/bin/python bench/load.py --threads 8 --seconds 120 --articles 60
    .venv/bin/python bench/load.py --answers            # also answers, with the small model

The corpus is the seed articles plus ``--articles`` SQuAD 2.0 paragraphs, one article
each (../shared/benchmarks/squad2), indexed once.  Each phase runs ``--threads``
threads for ``--seconds``, each calling ``Retriever.search`` over and over (one shared
Retriever, as the page's sessions share one) on SQuAD questions about the corpus:

- ``baseline``: nothing else runs;
- ``during re-index``: meanwhile ``indexer.run`` re-indexes again and again, every
  round after editing every article, so each run replaces every chunk.  By default it
  runs in its own process with its own model, at the CPU priority ``rag watch`` and
  ``rag index`` give up (``RAG_INDEX_NICE``, ``rag.indexer.yield_cpu``), as they do
  beside a chat page; ``--indexer thread`` runs it in the searching process instead,
  sharing its model (then each query embedding queues behind the indexer's batches);
- ``during re-index at full priority``: the same process without yielding (as before
  ``RAG_INDEX_NICE``), in the same run, so the two ratios can be compared.

It prints throughput (searches per second over the phase) and p50/p95 latency of
each phase, the ratios of the loaded phase to the baseline, the number of errors and
of re-index runs overlapped.  ``--answers`` adds the same two phases for whole
answers (``Answerer.ask``) with the embedded SmolLM2-135M server (started here and
stopped at the end; never the default model).  A search counts as correct when a
passage from the question's own article is in its top 5 (``hit@5``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

SQUAD = REPO.parent / "shared" / "benchmarks" / "squad2" / "squad2-open.json"


def make_corpus(folder: Path, n: int) -> list[tuple[str, str]]:
    """Seed articles plus ``n`` SQuAD articles; (question, source) pairs about the latter."""
    shutil.copytree(REPO / "seeds", folder)
    data = json.loads(SQUAD.read_text(encoding="utf-8"))["data"]
    rng = random.Random(7)
    paragraphs = [
        (article["title"].replace("_", " "), p["context"], answerable)
        for article in data
        for p in article["paragraphs"]
        if (answerable := [qa["question"] for qa in p["qas"] if not qa.get("is_impossible")])
    ]
    pairs = []
    for i, (title, context, answerable) in enumerate(rng.sample(paragraphs, n)):
        source = f"squad-{i:03d}.txt"
        (folder / source).write_text(f"{title}\n\n{context}\n", encoding="utf-8")
        pairs += [(q, source) for q in answerable[:3]]
    rng.shuffle(pairs)
    return pairs


REINDEXER = """
import sys
from pathlib import Path
from rag import indexer
from rag.config import Settings
from rag.embeddings import Embedder

folder, home = Path(sys.argv[1]), Path(sys.argv[2])
settings = Settings(home=home, articles_dir=folder, _env_file=None)
indexer.yield_cpu(settings)  # as `rag watch` and `rag index` do, before the model loads
embedder = Embedder(settings.embedding_model, settings.embedding_batch_size)
embedder.embed(["warm up"])
print("ready", flush=True)
edit = 0
for _ in sys.stdin:
    edit += 1
    for path in sorted(folder.glob("*.txt")):
        lines = path.read_text(encoding="utf-8").split("\\n", 1)
        path.write_text(f"{lines[0]}\\nRevision {edit}.\\n{lines[-1]}", encoding="utf-8")
    indexer.run(settings, embedder=embedder, lock_timeout=600)
    print("done", flush=True)
"""


class ReindexProcess:
    """Another process that edits every article and re-indexes, once per call."""

    def __init__(self, folder: Path, home: Path, nice: int) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", REINDEXER, str(folder), str(home)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "RAG_INDEX_NICE": str(nice)},
        )
        self._expect("ready")

    def _expect(self, word: str) -> None:
        assert self.process.stdout is not None
        line = self.process.stdout.readline().strip()
        if line != word:
            raise RuntimeError(f"the re-indexing process said {line!r}, not {word!r}")

    def __call__(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("go\n")
        self.process.stdin.flush()
        self._expect("done")

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=600)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def phase(
    work: Callable[[str, str], bool],
    pairs: list[tuple[str, str]],
    threads: int,
    seconds: float,
    reindex: Callable[[], None] | None,
) -> dict[str, float]:
    """``threads`` threads calling ``work`` for ``seconds``; re-indexing meanwhile if asked."""
    latencies: list[float] = []
    hits = errors = runs = 0
    lock = threading.Lock()
    stop = threading.Event()
    deadline = time.perf_counter() + seconds

    def worker(offset: int) -> None:
        nonlocal hits, errors
        i = 0
        while time.perf_counter() < deadline:
            question, source = pairs[(offset * 7919 + i) % len(pairs)]
            i += 1
            started = time.perf_counter()
            try:
                ok = work(question, source)
            except Exception as exc:
                print(f"  error: {exc}", file=sys.stderr)
                with lock:
                    errors += 1
                continue
            with lock:
                latencies.append(time.perf_counter() - started)
                hits += ok

    def reindexing() -> None:
        nonlocal runs, errors
        while not stop.is_set():
            try:
                reindex()  # type: ignore[misc]
                runs += 1
            except Exception as exc:
                print(f"  indexer error: {exc}", file=sys.stderr)
                errors += 1

    background = threading.Thread(target=reindexing) if reindex else None
    if background:
        background.start()
    started = time.perf_counter()
    pool = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    wall = time.perf_counter() - started
    stop.set()
    if background:
        background.join()
    done = len(latencies)
    return {
        "calls": done,
        "throughput": done / wall if wall else 0.0,
        "p50": 1000 * pct(latencies, 0.5),
        "p95": 1000 * pct(latencies, 0.95),
        "hit": hits / done if done else 0.0,
        "errors": errors,
        "reindex_runs": runs,
    }


def main(argv: list[str] | None = None) -> int:
    from rag import indexer
    from rag.config import Settings
    from rag.embeddings import Embedder
    from rag.retrieval import Retriever

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=40, help="length of each phase")
    parser.add_argument("--articles", type=int, default=30, help="SQuAD paragraphs added")
    parser.add_argument("--answers", action="store_true", help="also time whole answers")
    parser.add_argument("--json", type=Path, help="write the raw numbers here")
    parser.add_argument(
        "--indexer",
        choices=["process", "thread"],
        default="process",
        help="re-index in another process (default) or a thread of this one",
    )
    args = parser.parse_args(argv)

    root = Path(tempfile.mkdtemp(prefix="rag-load-bench-"))
    try:
        folder = root / "articles"
        pairs = make_corpus(folder, args.articles)
        settings = Settings(home=root / "home", articles_dir=folder, _env_file=None)
        embedder = Embedder(settings.embedding_model, settings.embedding_batch_size)
        report = indexer.run(settings, embedder=embedder)
        print(f"{report.documents} articles, {report.chunks} chunks, {len(pairs)} questions")

        edits = [0]

        def in_thread() -> None:  # edit every article: each run replaces every chunk
            edits[0] += 1
            for path in sorted(folder.glob("*.txt")):
                lines = path.read_text(encoding="utf-8").split("\n", 1)
                path.write_text(f"{lines[0]}\nRevision {edits[0]}.\n{lines[-1]}", encoding="utf-8")
            indexer.run(settings, embedder=embedder, lock_timeout=600)

        others = []
        if args.indexer == "process":  # the default priority, as `rag watch` runs
            others.append(ReindexProcess(folder, settings.home, settings.index_nice))
        reindex: Callable[[], None] = others[0] if others else in_thread
        retriever = Retriever(settings, embedder=embedder)

        def search(question: str, source: str) -> bool:
            return source in {p.source for p in retriever.search(question, k=5)}

        search(*pairs[0])  # warm: model, store, keyword index
        rows = {}
        for name, bg in (("baseline", None), ("during re-index", reindex)):
            rows[f"search, {name}"] = phase(search, pairs, args.threads, args.seconds, bg)
        if args.indexer == "process" and settings.index_nice:  # the same, without yielding
            others.append(ReindexProcess(folder, settings.home, 0))
            rows["search, during re-index at full priority"] = phase(
                search, pairs, args.threads, args.seconds, others[-1]
            )

        if args.answers:
            from rag import llm_supervisor
            from rag.answering import Answerer

            own = Settings(home=root / "llm", embedded_llm="smollm2-135m", _env_file=None)
            server = llm_supervisor.ensure_server(own)
            try:
                answering = settings.model_copy(
                    update={
                        "llm_base_url": server.url,
                        "llm_model": server.model_id,
                        "llm_max_tokens": 48,
                    }
                )
                answerer = Answerer(answering, retriever=Retriever(answering, embedder=embedder))

                def answer(question: str, source: str) -> bool:
                    return any(c.source == source for c in answerer.ask(question).citations)

                for name, bg in (("baseline", None), ("during re-index", reindex)):
                    rows[f"answer, {name}"] = phase(answer, pairs, args.threads, args.seconds, bg)
            finally:
                llm_supervisor.stop(own)
        for other in others:
            other.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)

    print(f"\n{args.threads} threads, re-indexing in a {args.indexer}\n")
    print("| phase | calls | per second | p50 ms | p95 ms | hit@5 | errors | re-index runs |")
    print("|---|---|---|---|---|---|---|---|")
    for name, r in rows.items():
        print(
            f"| {name} | {r['calls']} | {r['throughput']:.2f} | {r['p50']:.0f} | {r['p95']:.0f} "
            f"| {r['hit']:.2f} | {r['errors']} | {r['reindex_runs']} |"
        )
    print("\n| ratio, during re-index / baseline | per second | p50 | p95 |")
    print("|---|---|---|---|")
    for kind, baseline, loaded in (
        ("search", "search, baseline", "search, during re-index"),
        (
            "search, indexer at full priority",
            "search, baseline",
            "search, during re-index at full priority",
        ),
        ("answer", "answer, baseline", "answer, during re-index"),
    ):
        base, load = rows.get(baseline), rows.get(loaded)
        if base and load:
            print(
                f"| {kind} | {load['throughput'] / base['throughput']:.2f} "
                f"| {load['p50'] / base['p50']:.2f} | {load['p95'] / base['p95']:.2f} |"
            )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 1 if any(r["errors"] for r in rows.values()) else 0


if __name__ == "__main__":
    raise SystemExit(main())
