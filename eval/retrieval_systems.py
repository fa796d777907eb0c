"""The systems eval/retrieval_bench.py compares: plain BM25 and plain dense retrieval over
fixed-size chunks, and ours (the real indexer and Retriever) at a given chunking.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from retrieval_metrics import Question, Ranked

from rag.config import Settings
from rag.embeddings import Embedder

FIXED_CHARS = 1000


def fixed_chunks(articles: dict[str, str], size: int = FIXED_CHARS) -> list[tuple[str, str]]:
    """Plain fixed-size windows, the usual starting point: (source, text)."""
    return [
        (name, text[i : i + size])
        for name, text in articles.items()
        for i in range(0, len(text), size)
        if text[i : i + size].strip()
    ]


class PlainBM25:
    """bm25s with its own defaults (English stopwords, no stemming) over fixed chunks."""

    def __init__(self, chunks: list[tuple[str, str]]) -> None:
        import bm25s

        self.chunks = chunks
        self.model = bm25s.BM25()
        self.model.index(
            bm25s.tokenize([t for _, t in chunks], stopwords="en", show_progress=False),
            show_progress=False,
        )
        self.vocab = self.model.vocab_dict

    def search(self, query: str, k: int = 20) -> Ranked:
        import bm25s

        tokens = bm25s.tokenize(query, stopwords="en", return_ids=False, show_progress=False)[0]
        ids = [self.vocab[t] for t in tokens if t in self.vocab]
        if not ids:
            return []
        docs, scores = self.model.retrieve([ids], k=k, show_progress=False, n_threads=0)
        return [self.chunks[int(d)] for d, s in zip(docs[0], scores[0], strict=True) if s > 0]


class PlainDense:
    """One Chroma collection (cosine) over the same fixed chunks, the usual default."""

    def __init__(self, chunks: list[tuple[str, str]], embedder: Embedder, folder: Path) -> None:
        from rag.chroma import folder_client

        self.embedder = embedder
        client = folder_client(folder)
        self.collection = client.get_or_create_collection(
            "plain", embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
        )
        if self.collection.count() != len(chunks):
            vectors = embedder.embed([t for _, t in chunks])
            for i in range(0, len(chunks), 1000):
                part = range(i, min(i + 1000, len(chunks)))
                self.collection.upsert(
                    ids=[str(j) for j in part],
                    embeddings=[vectors[j] for j in part],
                    documents=[chunks[j][1] for j in part],
                    metadatas=[{"source": chunks[j][0]} for j in part],
                )

    def search(self, query: str, k: int = 20) -> Ranked:
        res = self.collection.query(
            query_embeddings=[self.embedder.embed_query(query)],
            n_results=k,
            include=["metadatas", "documents"],
        )
        return [
            (str(m["source"]), d)
            for m, d in zip(res["metadatas"][0], res["documents"][0], strict=True)
        ]


class PrecomputedQueries(Embedder):
    """The real model, with the questions' vectors computed once in batches.

    Only for the chunk-size sweep, which reports quality, not latency: embedding each
    question again for every configuration would only repeat the same numbers.
    """

    def __init__(self, embedder: Embedder, questions: Sequence[Question]) -> None:
        super().__init__(embedder.name, embedder.batch_size)
        self._model = embedder.model
        texts = [q.text for q in questions]
        self.vectors = dict(zip(texts, embedder.embed(texts), strict=True))

    def embed_query(self, text: str) -> list[float]:
        return self.vectors.get(text) or super().embed_query(text)


def ours(
    articles_dir: Path, home: Path, embedder: Embedder, chunk_chars: int, overlap: int, **extra
) -> tuple[Settings, Callable[[bool], Callable[[str], Ranked]]]:
    """Index with the real indexer; return a factory of search functions (rerank on/off)."""
    from rag import indexer
    from rag.retrieval import Retriever

    settings = Settings(
        home=home,
        articles_dir=articles_dir,
        chunk_chars=chunk_chars,
        chunk_overlap_sentences=overlap,
        **extra,
    )
    report = indexer.run(settings, embedder=embedder)
    print(
        f"  indexed {report.documents} files, {report.chunks} chunks "
        f"({chunk_chars} chars, overlap {overlap}) in {report.seconds:.0f}s",
        file=sys.stderr,
    )

    def factory(rerank: bool) -> Callable[[str], Ranked]:
        mode = settings.reranker if rerank else "none"
        retriever = Retriever(settings.model_copy(update={"reranker": mode}), embedder=embedder)

        def search(query: str) -> Ranked:
            return [(p.source, p.text) for p in retriever.search(query, k=15)]

        return search

    return settings, factory
