#!/usr/bin/env python3
"""Time to the first words and to the whole answer on the page's path, embedded default LLM.

Indexes the seed articles into a scratch home, starts (or reuses) the embedded
llama.cpp server with the default model, warms it up with one question, then asks
a fixed, category-stratified subset of eval/seeds.jsonl (follow-ups with their
history, so condensation is included) exactly as the page does (``Answerer.stream``),
under each setting given: passages per answer (-k), the passage budget in characters,
and llama.cpp threads.  "First words" is the first claim shown (a ``Token`` event);
a refusal's first words are its end.

Beside them: the model's own time to read the same prompt (the same messages sent
with max_tokens=1 after a request that shares only the system prompt, so both have
the same prefix cached), so the overhead is a ratio measured in the same run.
Prints one Markdown table and the machine's load.

Targets (2 cores): p50 first words <= 6 s, p50 total <= 12 s.

Usage:
  .venv/bin/python bench/answer.py [--limit 12] [--k 5,3] [--budget 2000,1500,1000]
      [--threads 1,2] [--batch-threads 1,2] [--max-tokens 160] [--out FILE.md] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
import urllib.request
from collections import defaultdict
from itertools import product
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rag import indexer, llm, llm_supervisor  # noqa: E402
from rag.answering import Answerer, Done, Token  # noqa: E402
from rag.config import Settings  # noqa: E402
from rag.retrieval import Retriever  # noqa: E402


def stratified(items: list[dict], limit: int) -> list[dict]:
    """A fixed subset: categories taken in turn, in file order."""
    by_cat: dict[str, list[dict]] = defaultdict(list)
    for item in items:
        by_cat[item["category"]].append(item)
    out: list[dict] = []
    while len(out) < min(limit, len(items)):
        for cat in sorted(by_cat):
            if by_cat[cat] and len(out) < limit:
                out.append(by_cat[cat].pop(0))
    return out


class Recorder:
    """Keeps the messages of the last answer request the answerer sends (either path),
    so the model's read time is measured on the prompt it was actually given."""

    def __init__(self, client: llm.LLM) -> None:
        self.last: list[dict[str, str]] | None = None
        for name in ("stream", "stream_json"):
            original = getattr(client, name)

            def recording(messages, *args, _original=original, **kwargs):  # type: ignore[no-untyped-def]
                self.last = list(messages)
                return _original(messages, *args, **kwargs)

            setattr(client, name, recording)


def prompt_tokens(server: llm_supervisor.EmbeddedServer, messages: list[dict[str, str]]) -> int:
    """Tokens of the answer prompt as the server counts them (chat template aside)."""
    text = "\n".join(m["content"] for m in messages)
    body = json.dumps({"input": text, "model": server.model_id}).encode()
    root = server.url.removesuffix("/v1")
    request = urllib.request.Request(
        f"{root}/extras/tokenize", data=body, headers={"Content-Type": "application/json"}
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=600) as response:
        return len(json.load(response)["tokens"])


def read_time(client: llm.LLM, messages: list[dict[str, str]]) -> float:
    """Seconds the model takes to read ``messages`` (one token out), with only the
    system prompt already in its cache, as it is on the page's path."""
    client.chat([messages[0], {"role": "user", "content": "Hi"}], max_tokens=1)
    t = time.perf_counter()
    client.chat(messages, max_tokens=1)
    return time.perf_counter() - t


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, default=12)
    parser.add_argument("--k", default="5")
    parser.add_argument("--budget", default="2000,1500")
    parser.add_argument("--threads", default="", help="Generation threads, e.g. 1,2.")
    parser.add_argument("--batch-threads", default="", help="Prompt threads, e.g. 1,2.")
    parser.add_argument("--max-tokens", type=int, default=None)
    parser.add_argument("--embedded-llm", default=None)
    parser.add_argument("--work", type=Path, default=Path("/tmp/rag-bench-answer"))
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--raw", type=Path, default=None, help="Write every answer as JSON lines.")
    args = parser.parse_args()

    items = [json.loads(line) for line in (REPO / "eval" / "seeds.jsonl").open(encoding="utf-8")]
    chosen = stratified(items, args.limit)
    articles = args.work / "articles"
    if not articles.exists():
        shutil.copytree(REPO / "seeds", articles)
    base = {
        "home": args.work / "home",
        "articles_dir": articles,
        "llm_base_url": None,
        "models_dir": Path(os.environ.get("RAG_MODELS_DIR", "/tmp/rag-models")),
    }
    if args.embedded_llm:
        base["embedded_llm"] = args.embedded_llm
    if args.max_tokens:
        base["llm_max_tokens"] = args.max_tokens
    indexer.run(Settings(**base))

    rows = []
    raw = args.raw.open("w", encoding="utf-8") if args.raw else None
    load_start = os.getloadavg()
    threads = [int(t) for t in args.threads.split(",") if t] or [None]
    batch_threads = [int(t) for t in args.batch_threads.split(",") if t] or [None]
    for n_threads, n_batch_threads, k, budget in product(
        threads,
        batch_threads,
        [int(x) for x in args.k.split(",")],
        [int(x) for x in args.budget.split(",")],
    ):
        s = Settings(
            **base,
            llm_threads=n_threads,
            llm_batch_threads=n_batch_threads,
            answer_context_chars=budget,
            top_k=k,
        )
        t = time.perf_counter()
        server = llm_supervisor.ensure_server(s)
        start_s = time.perf_counter() - t
        answerer = Answerer(s, retriever=Retriever(s))
        answerer.ask("What is this about?")  # warm-up: model, embedder, prompt prefix cache
        recorder = Recorder(answerer.llm)
        first, total, retrieval, chars, tokens, prompt, read = [], [], [], [], [], [], []
        refused = fallback = 0
        for item in chosen:
            pieces = 0
            answer = None
            recorder.last = None
            t_ask = time.perf_counter()
            first_words = None
            for event in answerer.stream(item["question"], item.get("history") or None):
                if isinstance(event, Token):
                    pieces += 1
                    if first_words is None:
                        first_words = time.perf_counter() - t_ask
                elif isinstance(event, Done):
                    answer = event.answer
            assert answer is not None
            first.append(first_words if first_words is not None else answer.timings["total"])
            total.append(answer.timings["total"])
            retrieval.append(answer.timings["retrieval"])
            chars.append(len(answer.answer))
            tokens.append(pieces)
            if answer.llm_answer is not None and recorder.last is not None:
                messages = recorder.last
                prompt.append(prompt_tokens(server, messages))
                read.append(read_time(answerer.llm, messages))
            refused += answer.refused
            fallback += answer.fallback is not None
            if raw:
                raw.write(
                    json.dumps(
                        {"id": item["id"], "k": k, "budget": budget, **answer.to_dict()},
                        ensure_ascii=False,
                    )
                    + "\n"
                )
        rows.append(
            {
                "threads": f"{server.options['n_threads']}/{server.options['n_threads_batch']}",
                "k": k,
                "budget": budget,
                "server_start_s": start_s,
                "p50_first": statistics.median(first),
                "p90_first": pct(first, 0.9),
                "p50_total": statistics.median(total),
                "p90_total": pct(total, 0.9),
                "p50_retrieval": statistics.median(retrieval),
                "p50_tokens": statistics.median(tokens),
                "p50_prompt_tokens": statistics.median(prompt) if prompt else float("nan"),
                "p50_read": statistics.median(read) if read else float("nan"),
                "refused": refused,
                "fallback": fallback,
                "n": len(chosen),
            }
        )
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    load_end = os.getloadavg()
    llm_supervisor.stop(Settings(**base))

    model = Settings(**base).embedded_llm
    lines = [
        f"## bench/answer.py: {len(chosen)} seed questions, embedded {model}, "
        f"max_tokens {Settings(**base).llm_max_tokens}",
        "",
        f"Load average (1, 5, 15 min) at start {load_start[0]:.1f} {load_start[1]:.1f} "
        f"{load_start[2]:.1f}, at end {load_end[0]:.1f} {load_end[1]:.1f} {load_end[2]:.1f} "
        f"on {os.cpu_count()} cores.",
        "",
        "| threads gen/prompt | k | budget chars | p50 first words s | p90 first words s "
        "| p50 total s | p90 total s | p50 model read s | first words / read | total / read "
        "| p50 retrieval s | p50 prompt tokens | p50 claims | refused | fallback |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['threads']} | {r['k']} | {r['budget']} | {r['p50_first']:.1f} "
            f"| {r['p90_first']:.1f} | {r['p50_total']:.1f} | {r['p90_total']:.1f} "
            f"| {r['p50_read']:.1f} | {r['p50_first'] / r['p50_read']:.2f} "
            f"| {r['p50_total'] / r['p50_read']:.2f} "
            f"| {r['p50_retrieval']:.2f} | {r['p50_prompt_tokens']:.0f} | {r['p50_tokens']:.0f} "
            f"| {r['refused']}/{r['n']} "
            f"| {r['fallback']}/{r['n']} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
