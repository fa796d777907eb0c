"""How the embedded llama.cpp server is tuned: threads, batch and context, as measured.

Defaults for the embedded Qwen2.5-Coder-1.5B Q4_K_M, measured on the target
machine (2 cores, no GPU, llama-cpp-python 0.3.36), tokens per second:

    threads (generation/prompt)   quiet machine       other work on both cores
                                  prompt   generate   prompt   generate
    2 / 2                         86       27         7-12     0.3-0.7
    1 / 1                         45       17         15-18    7-8
    1 / 2  (default)              86*      17*        7        4-5

(* taken from the rows above: the machine was never quiet again to measure the
mix itself; "other work" was a load average of 7-15 from parallel benchmarks.)

- ``n_threads = cores - 1`` (1 here): the 2-thread speed-up on a quiet machine
  turns into a 10-20x slowdown as soon as anything else runs (the UI, indexing,
  even the server's own streaming), because llama.cpp's threads wait for each
  other at every token. ``n_threads_batch = cores``: on a quiet machine it halves
  the wait for a 900-token prompt (10 s instead of 20 s); on a busy one it costs
  2x, not 20x. Override with RAG_LLM_THREADS / RAG_LLM_BATCH_THREADS.
- ``n_batch = 512``: 128, 256 and 512 all gave 86 tok/s on a 900-token prompt.
- ``n_ctx = 4096`` (RAG_LLM_CONTEXT): a question with five 600-character
  passages is ~900 tokens, plus up to 400 for the answer; the KV cache costs
  about 115 MB. A typical answer thus takes ~10 s of prompt plus ~1 s per 17 words.
- The server starts in ~5 s (the GGUF is memory-mapped); joining the 22 parts
  into one file takes ~6 s, once.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from rag.config import Settings
from rag.llm_process import LOOPBACK


def cpu_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def server_options(settings: Settings) -> dict[str, int | bool]:
    """The llama.cpp options a running server must match to be reused.

    Generation leaves one core free: llama.cpp's threads wait for each other at
    every step, so when anything else needs a core (the server's own streaming,
    the UI, indexing) a thread per core stalls them all (measured 0.5 tok/s
    instead of 7). The prompt uses every core; see the module docstring.
    """
    cores = cpu_cores()
    return {
        "n_ctx": settings.llm_context,
        "n_batch": settings.llm_batch,
        "n_threads": settings.llm_threads or max(1, cores - 1),
        "n_threads_batch": settings.llm_batch_threads or cores,
        # The server's default keeps logits for every context position (for logprobs,
        # which we never ask for): Qwen's server then holds 1.9 GB of RAM, not 0.8 GB.
        "logits_all": False,
    }


def server_config(
    model_path: Path, model_id: str, port: int, options: dict[str, int | bool]
) -> dict[str, Any]:
    """llama_cpp.server's config file for one model on a loopback port."""
    # A config file rather than flags: llama_cpp.server's settings otherwise also
    # read same-named environment variables (API_KEY, MODEL, ...) meant for others.
    return {
        "host": LOOPBACK,
        "port": port,
        # Queue concurrent requests; by default a new request cuts off a running stream.
        "interrupt_requests": False,
        "models": [
            {
                "model": str(model_path),
                "model_alias": model_id,
                "verbose": True,
                **options,
            }
        ],
    }
