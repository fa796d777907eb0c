"""Indexing benchmark, run on demand (not in CI).

    .venv/bin/python bench/index.py [--articles 1000] [--workdir DIR]

Builds a corpus of news-sized articles from the SQuAD 2.0 Wikipedia paragraphs
(../shared/benchmarks/squad2), then measures, in one process and on the same texts:

- the embedding model's raw throughput (one ``encode`` call over every distinct chunk
  text the indexer will embed) against the indexer's end-to-end throughput (reading,
  hashing, chunking, embedding, writing Chroma, the manifest and the keyword index);
  target: pipeline overhead <= 10 %, in wall time and in CPU time (the second is the
  fairer one on a machine shared with other work);
- a no-op re-index of the whole folder (target < 1 s), in process and as a fresh
  ``rag index`` command (whose wall time also pays Python start-up and imports);
- one new article added to the full index (target < 2 s), in process with the model
  loaded, and as a fresh command (target <= 3 s wall), beside the floor of a fresh
  command: a fresh process that only loads the model and embeds one text, timed in
  the same run (``--repeat`` pairs, alternating, medians), so the ratio says what
  the command adds to the model's own load.

The results are printed as a table; ``--json FILE`` also writes them as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SQUAD = REPO.parent / "shared" / "benchmarks" / "squad2" / "squad2-open.json"


def make_corpus(dest: Path, n: int, seed: int = 0) -> list[Path]:
    """Write ``n`` article files built from SQuAD paragraphs; return their paths.

    Article i takes 3-6 paragraphs of one Wikipedia article in a random order under a
    headline and a dateline, so the files look like news articles and almost every
    chunk text is distinct (the benchmark counts only distinct texts anyway).
    """
    data = json.loads(SQUAD.read_text(encoding="utf-8"))["data"]
    dest.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        rng = random.Random(seed * 1_000_003 + i)
        article = data[i % len(data)]
        paragraphs = [p["context"].strip() for p in article["paragraphs"]]
        picked = rng.sample(paragraphs, k=min(len(paragraphs), rng.randint(3, 6)))
        title = article["title"].replace("_", " ")
        day = f"20{rng.randint(10, 24):02d}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        body = "\n\n".join(picked)
        text = f"{title}: report {i}\n\nPublished {day}.\n\n{body}\n"
        slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:40]
        path = dest / f"{i:04d}_{slug}.txt"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def _cli(args: list[str], env: dict[str, str]) -> tuple[float, dict]:
    started = time.perf_counter()
    out = subprocess.run(
        [str(REPO / ".venv" / "bin" / "rag"), *args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return time.perf_counter() - started, json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument(
        "--measure",
        type=int,
        default=None,
        help="Compare with the raw model on the first N articles only (default: all); "
        "the rest is indexed afterwards, untimed.",
    )
    parser.add_argument("--workdir", type=Path, default=None, help="Kept after the run.")
    parser.add_argument("--json", type=Path, default=None, help="Also write results here.")
    parser.add_argument(
        "--repeat", type=int, default=3, help="Fresh-process pairs timed (one new article, floor)."
    )
    opts = parser.parse_args()

    from rag import indexer
    from rag.chunking import chunk
    from rag.config import Settings
    from rag.documents import iter_files, load
    from rag.embeddings import Embedder

    work = opts.workdir or Path(tempfile.mkdtemp(prefix="rag-bench-index-"))
    articles, home = work / "articles", work / "home"
    shutil.rmtree(articles, ignore_errors=True)
    shutil.rmtree(home, ignore_errors=True)
    measured = min(opts.measure or opts.articles, opts.articles)
    make_corpus(articles, measured)
    settings = Settings(home=home, articles_dir=articles)
    rows: dict[str, float | int | str] = {"articles": opts.articles, "measured": measured}

    embedder = Embedder(settings.embedding_model, settings.embedding_batch_size)
    embedder.embed(["warm-up: load the model and its kernels before timing"])

    # The distinct chunk texts the indexer is going to embed.
    texts: dict[str, None] = {}
    for entry in iter_files(articles):
        doc = load(entry, settings.max_file_bytes)
        for piece in chunk(doc, settings.chunk_chars, settings.chunk_overlap_sentences):
            texts.setdefault(piece.text, None)
    unique = list(texts)
    rows["chunks"] = len(unique)

    started, cpu = time.perf_counter(), time.process_time()
    embedder.embed(unique)
    raw, raw_cpu = time.perf_counter() - started, time.process_time() - cpu

    started, cpu = time.perf_counter(), time.process_time()
    report = indexer.run(settings, embedder=embedder)
    full, full_cpu = time.perf_counter() - started, time.process_time() - cpu
    assert report.embedded == len(unique), (report.embedded, len(unique))
    if measured < opts.articles:
        make_corpus(articles, opts.articles)
        indexer.run(settings, embedder=embedder)
    rows.update(
        raw_seconds=round(raw, 2),
        raw_chunks_per_s=round(len(unique) / raw, 1),
        index_seconds=round(full, 2),
        index_chunks_per_s=round(report.embedded / full, 1),
        overhead=round(full / raw - 1, 3),
        raw_cpu_seconds=round(raw_cpu, 2),
        index_cpu_seconds=round(full_cpu, 2),
        overhead_cpu=round(full_cpu / raw_cpu - 1, 3),
    )

    # No-op: a fresh Embedder proves the model is never loaded.
    idle = Embedder(settings.embedding_model)
    started = time.perf_counter()
    noop = indexer.run(settings, embedder=idle)
    rows["noop_seconds"] = round(time.perf_counter() - started, 3)
    assert noop.unchanged == opts.articles and not noop.changed and idle._model is None

    env = {**os.environ, "RAG_HOME": str(home), "RAG_ARTICLES_DIR": str(articles)}
    wall, out = _cli(["index", "--json"], env)
    rows["noop_cli_wall_seconds"] = round(wall, 2)
    rows["noop_cli_run_seconds"] = out["seconds"]

    make_corpus(work / "extra", opts.articles + 1 + opts.repeat)
    extra = sorted((work / "extra").iterdir())[opts.articles :]
    shutil.copy(extra[0], articles / ("new-" + extra[0].name))
    started = time.perf_counter()
    one = indexer.run(settings, embedder=embedder)
    rows["one_new_seconds"] = round(time.perf_counter() - started, 3)
    rows["one_new_chunks"] = one.embedded
    assert one.added == 1

    walls, runs, floors = [], [], []
    for path in extra[1:]:
        shutil.copy(path, articles / ("new-" + path.name))
        wall, out = _cli(["index", "--json"], env)
        assert out["added"] == 1, out
        walls.append(wall)
        runs.append(out["seconds"])
        floors.append(_model_load(env))
    rows["one_new_cli_wall_seconds"] = round(statistics.median(walls), 2)
    rows["one_new_cli_run_seconds"] = round(statistics.median(runs), 2)
    rows["model_load_wall_seconds"] = round(statistics.median(floors), 2)
    rows["one_new_cli_over_model_load"] = round(
        rows["one_new_cli_wall_seconds"] / rows["model_load_wall_seconds"], 2
    )

    table = [
        (
            "corpus",
            f"{opts.articles} articles; throughput on {measured} ({len(unique)} chunks)",
            "",
            "",
        ),
        ("raw model", f"{rows['raw_chunks_per_s']} chunks/s ({raw:.1f} s)", "", ""),
        (
            "indexer, full build",
            f"{rows['index_chunks_per_s']} chunks/s ({full:.1f} s)",
            f"overhead {100 * (full / raw - 1):+.1f} %",
            "<= +10 %",
        ),
        (
            "  same, in CPU seconds",
            f"raw {raw_cpu:.1f} s, indexer {full_cpu:.1f} s",
            f"overhead {100 * (full_cpu / raw_cpu - 1):+.1f} %",
            "<= +10 %",
        ),
        (
            "no-op re-index (in process)",
            f"{rows['noop_seconds']:.3f} s",
            _ratio(rows["noop_seconds"], 1),
            "< 1 s",
        ),
        (
            "no-op `rag index` (fresh process)",
            f"{rows['noop_cli_wall_seconds']:.2f} s wall, run {rows['noop_cli_run_seconds']:.2f} s",
            _ratio(rows["noop_cli_run_seconds"], 1),
            "< 1 s",
        ),
        (
            "one new article (in process)",
            f"{rows['one_new_seconds']:.3f} s ({one.embedded} chunks)",
            _ratio(rows["one_new_seconds"], 2),
            "< 2 s",
        ),
        (
            f"one new `rag index` (fresh process, median of {opts.repeat})",
            f"{rows['one_new_cli_wall_seconds']:.2f} s wall, run {rows['one_new_cli_run_seconds']:.2f} s",
            _ratio(rows["one_new_cli_wall_seconds"], 3),
            "<= 3 s wall",
        ),
        (
            "  floor: a fresh process loading the model, embedding one text",
            f"{rows['model_load_wall_seconds']:.2f} s wall",
            f"`rag index` = {rows['one_new_cli_over_model_load']:.2f}x the floor",
            "",
        ),
    ]
    widths = [max(len(str(r[i])) for r in table) for i in range(4)]
    header = ("measure", "result", "vs target", "target")
    widths = [max(w, len(h)) for w, h in zip(widths, header, strict=True)]
    for row in (header, tuple("-" * w for w in widths), *table):
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))
    print(f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; work dir {work})")
    if opts.json:
        opts.json.write_text(json.dumps(rows, indent=2) + "\n")
    if opts.workdir is None:
        shutil.rmtree(work, ignore_errors=True)


def _model_load(env: dict[str, str]) -> float:
    """Wall seconds of a fresh process that loads the embedding model and embeds one text."""
    code = (
        "from rag.config import Settings; from rag.embeddings import Embedder; "
        "s = Settings(); Embedder(s.embedding_model, s.embedding_batch_size).embed(['one'])"
    )
    started = time.perf_counter()
    python = REPO / ".venv" / "bin" / "python"
    subprocess.run([str(python), "-c", code], env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def _ratio(value: float | int | str, target: float) -> str:
    return f"{float(value) / target:.2f}x of budget"


if __name__ == "__main__":
    sys.exit(main())
