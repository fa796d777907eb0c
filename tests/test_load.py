"""Several sessions asking at once against one index while a re-index runs.

Each thread is one chat session with its own question about its own article; all
share one Answerer, as page sessions share the page's cached one.  Meanwhile the
indexer replaces every chunk of those articles several times over.  No session may
see an error, or an answer, passage or citation belonging to another session's
question.  Throughput and p95 under this load: bench/load.py.
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest

from rag import indexer
from rag.answering import Answer, Answerer, Done, Retrieved, Token
from rag.config import Settings
from rag.embeddings import Embedder
from rag.markers import parse_markers
from rag.retrieval import Retriever

SEEDS = Path(__file__).resolve().parents[1] / "seeds"

# One article per session: (file, question, a phrase only its answer can hold).
SESSIONS = [
    (
        "quillon.txt",
        "Who designed the tidal desalination plant at Quillon Bay?",
        "Quillon Bay approves a tidal desalination plant\nThe harbour council of Quillon Bay "
        "voted to build a tidal desalination plant. The plant was designed by the "
        "engineering cooperative Marrowind.\n",
    ),
    (
        "orrefield.txt",
        "Which choir won the Orrefield singing contest?",
        "Orrefield singing contest\nThe Orrefield singing contest was won by the Velmora "
        "Youth Choir. The jury praised its rendition of an old sea shanty.\n",
    ),
    (
        "kestrel.txt",
        "How long is the new Kestrel Pass railway tunnel?",
        "Kestrel Pass tunnel opens\nThe new Kestrel Pass railway tunnel is 14 kilometres "
        "long. Trains will cross the mountain in eleven minutes instead of forty.\n",
    ),
    (
        "dunmarsh.txt",
        "What did archaeologists find near Dunmarsh?",
        "Dunmarsh excavation\nArchaeologists found a bronze-age canoe buried in the peat "
        "near Dunmarsh. It is the oldest boat ever found in the region.\n",
    ),
]


@pytest.fixture
def library(tmp_path: Path, embedder: Embedder) -> Settings:
    articles = tmp_path / "articles"
    shutil.copytree(SEEDS, articles)
    for name, _question, text in SESSIONS:
        (articles / name).write_text(text, encoding="utf-8")
    s = Settings(home=tmp_path / "home", articles_dir=articles, llm_max_retries=0)
    indexer.run(s, embedder=embedder)
    return s


def check_own(answer: Answer, source: str, question: str, cites_own: bool = True) -> None:
    """The answer is to this session's question, from its article, with sound citations.

    ``cites_own``: the answer cites the session's article (extractive answers always do;
    the tiny model sometimes writes about another retrieved passage instead)."""
    assert answer.question == question
    assert answer.passages and answer.passages[0].source == source, [
        p.source for p in answer.passages
    ]
    assert set(parse_markers(answer.answer)) == {c.n for c in answer.citations}
    for c in answer.citations:
        p = answer.passages[c.n - 1]
        assert (c.source, c.chunk_id, c.start, c.end) == (p.source, p.chunk_id, p.start, p.end)
    if cites_own:
        assert any(c.source == source for c in answer.citations), answer.answer


def ask_streaming(answerer: Answerer, question: str) -> Answer:
    """One streamed answer; its events must all belong to it (no tokens from elsewhere)."""
    events = list(answerer.stream(question))
    retrieved, done = events[0], events[-1]
    assert isinstance(retrieved, Retrieved) and isinstance(done, Done)
    answer = done.answer
    assert retrieved.passages == answer.passages and retrieved.query == answer.query
    tokens = "".join(e.text for e in events if isinstance(e, Token)).strip()
    assert tokens == (answer.llm_answer or ""), (tokens, answer.llm_answer)
    return answer


def run_sessions(
    answerer: Answerer, rounds: int, reindex: Settings, embedder: Embedder, llm: bool = False
) -> list:
    """Every session asks ``rounds`` times while the indexer keeps rewriting the articles."""
    outcomes: list[tuple[str, object]] = []
    lock = threading.Lock()
    stop = threading.Event()

    def session(source: str, question: str) -> None:
        for _ in range(rounds):
            try:
                answer: object = ask_streaming(answerer, question)
                check_own(answer, source, question, cites_own=not llm)  # type: ignore[arg-type]
            except Exception as exc:
                answer = exc
            with lock:
                outcomes.append((source, answer))

    def reindexing() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            for name, _question, text in SESSIONS:  # every chunk of every article replaced
                (reindex.articles_dir / name).write_text(f"Update {n}.\n{text}", encoding="utf-8")
            try:
                indexer.run(reindex, embedder=embedder, lock_timeout=60)
            except Exception as exc:
                with lock:
                    outcomes.append(("indexer", exc))
        with lock:
            outcomes.append(("indexer runs", n))

    indexing = threading.Thread(target=reindexing)
    indexing.start()
    threads = [threading.Thread(target=session, args=(s, q)) for s, q, _t in SESSIONS]
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    stop.set()
    indexing.join(600)
    return outcomes


def assert_clean(outcomes: list, rounds: int) -> None:
    errors = [(who, o) for who, o in outcomes if isinstance(o, BaseException)]
    assert not errors, errors[:3]
    answers = [o for who, o in outcomes if who != "indexer runs"]
    assert len(answers) == rounds * len(SESSIONS)
    [runs] = [o for who, o in outcomes if who == "indexer runs"]
    assert runs >= 2, "the questions overlapped with more than one re-index"


def test_concurrent_sessions_during_a_reindex_keep_their_own_citations(
    library: Settings, embedder: Embedder
) -> None:
    offline = library.model_copy(update={"llm_base_url": "http://127.0.0.1:9/v1", "llm_model": "x"})
    answerer = Answerer(offline, retriever=Retriever(offline, embedder=embedder))
    small_batches = library.model_copy(update={"embedding_batch_size": 2})  # many write phases
    assert_clean(run_sessions(answerer, 6, small_batches, embedder), 6)
    final = indexer.run(library, embedder=embedder)
    assert final.documents == len(SESSIONS) + 2 and not final.skipped


@pytest.mark.slow
def test_concurrent_llm_answers_during_a_reindex_keep_their_own_citations(
    library: Settings, embedder: Embedder, small_llm: tuple[str, str]
) -> None:
    url, model = small_llm
    s = library.model_copy(update={"llm_base_url": url, "llm_model": model, "llm_max_tokens": 32})
    answerer = Answerer(s, retriever=Retriever(s, embedder=embedder))
    assert_clean(run_sessions(answerer, 2, library, embedder, llm=True), 2)
