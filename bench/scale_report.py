"""The markdown bench/scale.py prints: one row per size and store, the growth from one
size to the next, and the cost per extra chunk projected to 1M chunks.
"""

from __future__ import annotations

import itertools
import time
from typing import Any


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
