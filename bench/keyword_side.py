"""The keyword database alone at N chunks, run on demand (not in CI): 1M chunks in minutes.

    .venv/bin/python bench/keyword_side.py --chunks 100000 1000000 --json FILE

No Chroma and no embedding model, so sizes the full benchmark (bench/scale.py) cannot
reach on a 2-core machine are cheap: the chunk texts are the SQuAD 2.0 paragraphs
(../shared/benchmarks/squad2) cut at 600 characters, repeated in files of five chunks
to reach each size, written through ``KeywordIndex.put`` as the indexer writes them.
For each size it reports:

- the full build (what a missing or damaged database costs, once per machine; here
  without reading the chunks back from the store, which bench/scale.py includes);
- one new file put into the full database (what the indexer adds per file);
- a keyword query (the SQuAD questions): p50 / p95 ms, in a fresh reader process;
- the reader's resident memory: after opening the database and after the queries,
  over the same process before it (the keyword side's share of a search process);
- the database's size on disk.

Repeated texts make every term's postings longer than in a real archive of the same
size (each distinct chunk appears size/2,700 times), so query times here are an upper
bound for the same number of chunks.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SQUAD = REPO.parent / "shared" / "benchmarks" / "squad2" / "squad2-open.json"
PER_FILE = 5


def squad() -> tuple[list[str], list[str]]:
    data = json.loads(SQUAD.read_text(encoding="utf-8"))["data"]
    paragraphs = [p for a in data for p in a["paragraphs"]]
    texts = [
        p["context"][i : i + 600] for p in paragraphs for i in range(0, len(p["context"]), 600)
    ]
    questions = [q["question"] for p in paragraphs for q in p["qas"]]
    return texts, questions[:: max(1, len(questions) // 200)][:200]


def rss_mb() -> float:
    status = Path("/proc/self/status").read_text()
    return int(status.split("VmRSS:")[1].split()[0]) / 1024


def build(home: Path, size: int) -> dict[str, float]:
    from rag import lexical
    from rag.config import Settings
    from rag.keyword_updates import KeywordFile

    texts, _ = squad()
    index = lexical.open_index(Settings(home=home, _env_file=None))
    started = time.perf_counter()
    with index.writing():
        batch = []
        for f in range(size // PER_FILE):
            chunks = [
                (f"f{f}-{j}", texts[(f * PER_FILE + j) % len(texts)]) for j in range(PER_FILE)
            ]
            batch.append(KeywordFile(f"copy{f // 1000:04d}/{f}.txt", "h", 0, chunks))
            if len(batch) >= 400:
                index.put(batch)
                batch = []
        index.put(batch)
        index.mark(1)
    full = time.perf_counter() - started
    with index.writing():
        started = time.perf_counter()
        new = KeywordFile("new/one.txt", "h2", 0, [("new-0", texts[0]), ("new-1", texts[1])])
        index.put([new])
        one = time.perf_counter() - started
    disk = sum(f.stat().st_size for f in index.path.parent.iterdir()) / 1e6
    return {
        "chunks": index.count(),
        "build_s": full,
        "put_one_file_ms": 1000 * one,
        "disk_mb": disk,
    }


def read(home: Path) -> dict[str, float]:
    """In a fresh process: memory before and after, and each query's time."""
    before = rss_mb()
    from rag import lexical
    from rag.config import Settings

    _, questions = squad()
    imported = rss_mb()
    index = lexical.open_index(Settings(home=home, _env_file=None))
    index.count()
    opened = rss_mb()
    times = []
    for q in questions:
        started = time.perf_counter()
        index.scores(q).top(40)
        times.append(1000 * (time.perf_counter() - started))
    times.sort()
    return {
        "query_p50_ms": times[len(times) // 2],
        "query_p95_ms": times[int(0.95 * len(times))],
        "rss_before_mb": before,
        "rss_imported_mb": imported,
        "rss_opened_mb": opened,
        "rss_after_queries_mb": rss_mb(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--reader", type=Path, help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.reader:
        print(json.dumps(read(opts.reader)))
        return
    work = opts.workdir or Path(tempfile.mkdtemp(prefix="rag-bench-keyword-"))
    rows: list[dict[str, Any]] = []
    for size in opts.chunks:
        home = work / str(size)
        shutil.rmtree(home, ignore_errors=True)
        row: dict[str, Any] = build(home, size)
        done = subprocess.run(
            [sys.executable, __file__, "--reader", str(home)], capture_output=True, text=True
        )
        if done.returncode != 0:
            raise SystemExit(done.stderr[-3000:])
        row.update(json.loads(done.stdout.strip().splitlines()[-1]))
        rows.append(row)
        shutil.rmtree(home, ignore_errors=True)
        print(json.dumps(row), file=sys.stderr)
    print(
        "| chunks | full build s | one new file ms | query p50 / p95 ms"
        " | reader RSS MB: opened · after queries (over imports) | disk MB |"
    )
    print("|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['chunks']:,} | {r['build_s']:.1f} | {r['put_one_file_ms']:.1f} "
            f"| {r['query_p50_ms']:.1f} / {r['query_p95_ms']:.1f} "
            f"| +{r['rss_opened_mb'] - r['rss_imported_mb']:.0f} · "
            f"+{r['rss_after_queries_mb'] - r['rss_imported_mb']:.0f} | {r['disk_mb']:.0f} |"
        )
    if opts.json:
        opts.json.write_text(json.dumps(rows, indent=1) + "\n")
    if opts.workdir is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
