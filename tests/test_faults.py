"""Faults around the store: a full disk, a read-only RAG_HOME, damaged files, a Chroma
server that goes away mid-session.

Every process is real (`rag` subprocesses, a real `chroma run`), and the disk really
fills: a small tmpfs mounted in a private mount namespace (`unshare -m`) holds RAG_HOME.
After each fault the store must hold exactly what a clean build of the folder holds.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import run_process
from test_server_mode import QUESTION, QUESTION_SOURCE, ChromaServer

from rag import indexer
from rag.answering import Answerer
from rag.chunking import chunk
from rag.config import Settings
from rag.documents import iter_files, load
from rag.embeddings import Embedder
from rag.retrieval import Retriever
from rag.store import ChunkFilter, Store, StoreError

REPO = Path(__file__).resolve().parents[1]
RAG = str(REPO / ".venv" / "bin" / "rag")
SEED_A = "000_577bfc99f1868438.txt"


def expected(settings: Settings) -> dict[str, tuple[str, int, int, str]]:
    """The chunks a clean build of the folder holds: id -> (source, start, end, text)."""
    out = {}
    for entry in iter_files(settings.articles_dir):
        doc = load(entry, settings.max_file_bytes)
        for p in chunk(doc, settings.chunk_chars, settings.chunk_overlap_sentences):
            out[p.chunk_id] = (p.source, p.start, p.end, p.text)
    return out


def stored(settings: Settings) -> dict[str, tuple[str, int, int, str]]:
    store = Store(settings)
    out = {c.chunk_id: (c.source, c.start, c.end, c.text) for c in store.iter_chunks()}
    assert len(out) == store.count()
    return out


def assert_like_a_clean_build(settings: Settings) -> None:
    store = Store(settings)
    assert stored(settings) == expected(settings)
    records = store.file_records()
    assert {r.state for r in records.values()} <= {"done"}
    assert set(records) == {e.source for e in iter_files(settings.articles_dir)}
    assert store.meta()["run_state"] == "clean"


def rag(
    settings: Settings, *args: str, wrap: Callable[[list[str]], list[str]] = lambda c: c
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(RAG_HOME=str(settings.home), RAG_ARTICLES_DIR=str(settings.articles_dir))
    return run_process(wrap([RAG, *args]), env=env, capture_output=True, text=True, timeout=600)


def one_sentence_error(result: subprocess.CompletedProcess[str], *words: str) -> str:
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def add_articles(folder: Path, n: int) -> None:
    for i in range(n):
        body = " ".join(
            f"Harbour bulletin {i} notes that ferry {j} left pier {i + j} at {j % 12 + 1} o'clock."
            for j in range(40)
        )
        (folder / f"bulletin-{i:02d}.txt").write_text(f"Harbour bulletin {i}\n\n{body}\n")


def forget_clients() -> None:
    """Drop this process's cached Chroma engines, as a fresh process would start."""
    from rag import chroma

    chroma.forget_engines()


# --- a full disk ---------------------------------------------------------------------

FULL_DISK = r"""
set -u
mount -t tmpfs -o size=6m tmpfs "$MNT"
cp -a "$HOME_SRC" "$MNT/home"
step() {  # step NAME ARGS...: run `rag ARGS`, keep its output and exit code
    name=$1; shift
    "$RAG" "$@" >"$OUT/$name.out" 2>"$OUT/$name.err"; echo $? >"$OUT/$name.rc"
}
fill() {  # leave about $1 KiB free
    rm -f "$MNT/filler"
    free=$(df -k --output=avail "$MNT" | tail -1)
    count=$(( (free - $1) / 4 ))
    if [ "$count" -gt 0 ]; then dd if=/dev/zero of="$MNT/filler" bs=4k count=$count 2>/dev/null; fi
    true
}
export RAG_HOME="$MNT/home"
fill 0
step full-index index --json
step full-status status --json
fill 250
step mid-index index --json
step mid-search search "$QUERY" -k 3 --json
cp -a "$MNT/home" "$OUT/after-failure"
rm -f "$MNT/filler"
step freed-index index --json
cp -a "$MNT/home" "$OUT/after-recovery"
"""


def can_mount_tmpfs() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = run_process(
        ["unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=1m tmpfs /mnt"],
        capture_output=True,
    )
    return probe.returncode == 0


@pytest.mark.slow
def test_a_full_disk_is_one_sentence_and_the_store_stays_intact(
    settings: Settings, embedder: Embedder, tmp_path: Path
) -> None:
    if not can_mount_tmpfs():
        pytest.skip("cannot mount a small tmpfs here (needs `unshare -m` and mount rights)")
    clean = indexer.run(settings, embedder=embedder)
    before = stored(settings)
    add_articles(settings.articles_dir, 30)  # enough new chunks to fill 250 KiB
    out = tmp_path / "out"
    mnt = tmp_path / "mnt"
    out.mkdir()
    mnt.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(
        MNT=str(mnt),
        OUT=str(out),
        HOME_SRC=str(settings.home),
        RAG=RAG,
        RAG_ARTICLES_DIR=str(settings.articles_dir),
        QUERY=QUESTION,
    )
    done = run_process(
        ["unshare", "-m", "bash", "-c", FULL_DISK], env=env, capture_output=True, timeout=900
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]

    def result(name: str) -> subprocess.CompletedProcess[str]:
        rc = int((out / f"{name}.rc").read_text())
        return subprocess.CompletedProcess(
            [name], rc, (out / f"{name}.out").read_text(), (out / f"{name}.err").read_text()
        )

    # A disk full before anything is written, and one that fills half-way through.
    for name in ("full-index", "full-status", "mid-index"):
        message = one_sentence_error(result(name), "is full", "free some space")
        assert "--rebuild" not in message  # nothing is damaged: never advise a rebuild
    # The store is still readable and still answers from what it held.
    search = result("mid-search")
    assert search.returncode == 0, search.stderr
    assert json.loads(search.stdout)["passages"][0]["source"] == QUESTION_SOURCE
    forget_clients()
    failed = settings.model_copy(update={"home": out / "after-failure"})
    kept = stored(failed)
    assert {cid: v for cid, v in kept.items() if cid in before} == before, "old chunks intact"
    # Once there is room again, the next run finishes the job: a clean build's chunks.
    recovered = result("freed-index")
    assert recovered.returncode == 0, recovered.stderr
    assert json.loads(recovered.stdout)["documents"] == clean.documents + 30
    assert_like_a_clean_build(settings.model_copy(update={"home": out / "after-recovery"}))


# --- a read-only RAG_HOME ---------------------------------------------------------------


@pytest.mark.parametrize("locked", ["home", "store"])
def test_a_read_only_home_is_one_sentence_and_the_store_stays_intact(
    indexed: Settings,
    embedder: Embedder,
    unprivileged: Callable[[list[str]], list[str]],
    locked: str,
) -> None:
    before = stored(indexed)
    (indexed.articles_dir / "new.txt").write_text("Ferry news\nThe island ferry resumed.\n")
    folder = indexed.home if locked == "home" else indexed.store_dir
    modes = {p: p.stat().st_mode for p in [folder, *folder.rglob("*")]}
    for p in modes:
        p.chmod(p.stat().st_mode & ~0o222)
    try:
        index = rag(indexed, "index", "--json", wrap=unprivileged)
        search = rag(indexed, "search", QUESTION, "-k", "2", "--json", wrap=unprivileged)
    finally:
        for p, mode in modes.items():
            p.chmod(mode)
    message = one_sentence_error(index)
    assert "writable" in message and "RAG_HOME" in message and "--rebuild" not in message
    if search.returncode:  # Chroma writes when it opens a store: then it must say why
        one_sentence_error(search, "read-only", "RAG_HOME")
    assert stored(indexed) == before  # nothing was lost or half-written
    report = indexer.run(indexed, embedder=embedder)  # writable again: it just works
    assert report.added_files == ["new.txt"]
    assert_like_a_clean_build(indexed)


# --- damaged files -------------------------------------------------------------------


def test_a_damaged_store_file_is_one_sentence_and_rebuild_recovers(settings: Settings) -> None:
    assert rag(settings, "index").returncode == 0  # built by another process
    db = settings.store_dir / "chroma.sqlite3"
    with db.open("r+b") as f:
        f.write(b"not a database!!" * 256)

    for args in (["index"], ["status"], ["search", QUESTION]):
        one_sentence_error(rag(settings, *args), "rag index --rebuild")
    rebuilt = rag(settings, "index", "--rebuild", "--json")
    assert rebuilt.returncode == 0, rebuilt.stderr
    report = json.loads(rebuilt.stdout)
    assert report["rebuilt"] and report["added"] == 2
    damaged = [p for p in settings.home.iterdir() if p.name.startswith("chroma.damaged-")]
    assert len(damaged) == 1 and (damaged[0] / "chroma.sqlite3").is_file(), "kept, not deleted"
    assert_like_a_clean_build(settings)


def test_a_damaged_index_state_file_is_ignored_and_rewritten(
    indexed: Settings, embedder: Embedder
) -> None:
    state = indexed.home / f"{indexed.collection}-index-state.json"
    assert state.is_file()
    state.write_text('{"collection": "articles", "files": {"000_')  # cut short
    (indexed.articles_dir / SEED_A).write_text("Changed\nThe article was rewritten.\n")
    report = indexer.run(indexed, embedder=embedder)
    assert report.updated_files == [SEED_A]
    assert json.loads(state.read_text())["documents"] == 2
    assert_like_a_clean_build(indexed)


@pytest.mark.parametrize("damage", ["wrong chunk count", "record lost", "chunks lost", "pending"])
def test_a_manifest_that_disagrees_with_the_chunks_is_repaired(
    indexed: Settings, embedder: Embedder, damage: str
) -> None:
    store = Store(indexed)
    record = store.file_records()[SEED_A]
    if damage == "wrong chunk count":
        store.put_file(record.__class__(**{**record.__dict__, "chunks": record.chunks + 3}))
    elif damage == "record lost":
        store.delete_files([SEED_A])
    elif damage == "chunks lost":
        ids = sorted(c.chunk_id for c in store.iter_chunks(ChunkFilter.source(SEED_A)))
        store.delete_chunk_ids(ids[:2])
    else:
        store.put_file(record.__class__(**{**record.__dict__, "state": "pending"}))
    for f in indexed.home.glob("*-index-state.json"):
        f.unlink()  # as after a run of another version, or a store copied from elsewhere

    indexer.run(indexed, embedder=embedder)
    assert_like_a_clean_build(indexed)
    assert Retriever(indexed, embedder=embedder).search(QUESTION, k=3)[0].source == SEED_A


# --- a Chroma server that goes away mid-session ------------------------------------------


def test_answers_with_the_chroma_server_down_say_so_and_recover(
    settings: Settings, embedder: Embedder, tmp_path: Path
) -> None:
    server = ChromaServer(tmp_path / "chroma-server")
    server.start()
    try:
        s = settings.model_copy(
            update={
                "chroma_url": server.url,
                "llm_base_url": "http://127.0.0.1:9/v1",
                "llm_max_retries": 0,
            }
        )
        indexer.run(s, embedder=embedder)
        answerer = Answerer(s, retriever=Retriever(s, embedder=embedder))
        first = answerer.ask(QUESTION)
        assert first.citations and first.citations[0].source == QUESTION_SOURCE

        server.stop()
        with pytest.raises(StoreError) as down:
            answerer.ask(QUESTION)
        message = str(down.value)
        assert "unreachable" in message and server.url in message and "\n" not in message

        server.start()  # the same session, no restart
        again = answerer.ask(QUESTION)
        assert [c.source for c in again.citations] == [c.source for c in first.citations]
    finally:
        server.stop()
