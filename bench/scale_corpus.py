"""The corpus for bench/scale.py: news-sized articles from the SQuAD paragraphs, the
questions whose gold article every size holds, each chunk's cached vector, and the
hard-linked copies that make a corpus of a given size.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SQUAD = REPO.parent / "shared" / "benchmarks" / "squad2" / "squad2-open.json"
PARAGRAPHS_PER_ARTICLE = 5


def base_articles(dest: Path) -> list[tuple[Path, str]]:
    """News-sized articles from the SQuAD paragraphs: (file, gold-paragraph key) pairs."""
    data = json.loads(SQUAD.read_text(encoding="utf-8"))["data"]
    dest.mkdir(parents=True, exist_ok=True)
    out = []
    n = 0
    for article in data:
        title = article["title"].replace("_", " ")
        paragraphs = [p["context"].strip() for p in article["paragraphs"]]
        for part, i in enumerate(range(0, len(paragraphs), PARAGRAPHS_PER_ARTICLE), 1):
            day = f"20{10 + n % 15:02d}-{1 + n % 12:02d}-{1 + n % 28:02d}"
            body = "\n\n".join(paragraphs[i : i + PARAGRAPHS_PER_ARTICLE])
            path = dest / f"{n:04d}_{article['title'][:40]}_{part}.txt"
            if not path.exists():
                path.write_text(f"{title}, part {part}\n\nPublished {day}.\n\n{body}\n")
            out.append((path, path.name))
            n += 1
    return out


def questions(limit: int) -> list[tuple[str, set[str]]]:
    """Answerable SQuAD questions with the base articles holding their gold paragraph."""
    data = json.loads(SQUAD.read_text(encoding="utf-8"))["data"]
    by_paragraph: dict[str, str] = {}
    n = 0
    for article in data:
        paragraphs = article["paragraphs"]
        for part, i in enumerate(range(0, len(paragraphs), PARAGRAPHS_PER_ARTICLE), 1):
            name = f"{n:04d}_{article['title'][:40]}_{part}.txt"
            for p in paragraphs[i : i + PARAGRAPHS_PER_ARTICLE]:
                by_paragraph[p["context"].strip()] = name
            n += 1
    out = []
    for article in data:
        for p in article["paragraphs"]:
            for qa in p["qas"]:
                if not qa.get("is_impossible"):
                    out.append((qa["question"], {by_paragraph[p["context"].strip()]}))
    step = max(1, len(out) // limit)
    return out[::step][:limit]


def chunk_texts(files: list[tuple[Path, str]]) -> dict[str, list[str]]:
    """Each base article's chunk texts, exactly as the indexer will cut them."""
    from rag.chunking import chunk
    from rag.config import Settings
    from rag.documents import FileEntry, load

    s = Settings()
    out = {}
    for path, name in files:
        doc = load(FileEntry(path=path, source=name), s.max_file_bytes)
        out[name] = [c.text for c in chunk(doc, s.chunk_chars, s.chunk_overlap_sentences)]
    return out


def vector_table(texts: list[str], cache: Path) -> tuple[dict[str, Any], float, int]:
    """text hash -> vector for every text (embedding the missing ones); texts/s measured."""
    import numpy as np

    from rag.config import Settings
    from rag.embeddings import Embedder
    from rag.store import text_hash

    table: dict[str, Any] = {}
    if cache.exists():
        saved = np.load(cache)
        table = dict(zip(saved["hashes"].tolist(), saved["vectors"], strict=True))
    missing = list({text_hash(t): t for t in texts if text_hash(t) not in table}.values())
    embedder = Embedder(Settings().embedding_model, 64)
    sample = missing or texts[:64]
    embedder.embed(sample[:8])  # load the model outside the timing
    started = time.perf_counter()
    vectors = embedder.embed(sample)
    rate = len(sample) / (time.perf_counter() - started)
    for text, vector in zip(sample, vectors, strict=True):
        table[text_hash(text)] = np.asarray(vector, dtype=np.float32)
    if missing:
        np.savez(
            cache,
            hashes=np.array(list(table)),
            vectors=np.stack(list(table.values())),
        )
    return table, rate, len(missing)


def corpus(size: int, files: list[tuple[Path, str]], counts: dict[str, int], dest: Path) -> int:
    """Hard-link copies of the base articles into ``dest`` until ``size`` chunks; files."""
    if dest.exists():
        shutil.rmtree(dest)
    total = n = copy = 0
    while total < size:
        folder = dest / f"copy{copy:03d}"
        folder.mkdir(parents=True)
        for path, name in files:
            os.link(path, folder / name)
            total += counts[name]
            n += 1
            if total >= size:
                break
        copy += 1
    return n
