"""Wire copies: one story in several outlets is one piece of evidence, on a real index."""

from __future__ import annotations

import json
import os
from itertools import product
from pathlib import Path

import pytest
from conftest import run_process

from rag import indexer, wire_copies
from rag.config import Settings
from rag.embeddings import Embedder
from rag.retrieval import Retriever

STORY = (
    "VALMORA — The strike at the port of Valmora ended on Wednesday after the port "
    "authority and the Coastal Dock Union agreed a pay rise of 6 percent over two years, "
    "both sides said.\n\n"
    "Union members approved the deal in a vote at the union hall, and work at the container "
    "terminals is due to resume on Thursday morning. The agreement also adds a housing "
    "allowance for workers who live in the harbour district.\n\n"
    'Port authority director Elena Marsh said the deal was "fair to the workers and to the '
    'port\'s customers". Union secretary Tomas Reyes called it "a victory won on the picket '
    'line".\n\n'
    "The strike lasted 23 days. Harbour pilots said it would take at least a week to clear "
    "the ships waiting at anchor.\n"
)
OTHER = (
    "---\ntitle: Serin approves its flood wall\ndate: 2025-06-14\noutlet: Harbour Gazette\n---\n"
    "# Serin approves its flood wall\n\n"
    "The town council of Serin approved a flood wall on the east bank of the Lune by 19 votes "
    "to 4. Construction will start in August, and the wall's budget stays at 5.9 million "
    "euros. A dockworkers' pay deal in the region was also discussed by the council.\n"
)
COPIES = {
    "gazette.md": ("Valmora dock strike ends with a pay deal", "Harbour Gazette", "2025-06-11"),
    "post.md": ("Dockers back to work as Valmora deal is struck", "Northern Post", "2025-06-11"),
    "coast.md": ("Pay deal ends the strike at Valmora", "Coastline Daily", "2025-06-12"),
}


def copy_text(title: str, outlet: str, day: str) -> str:
    return (
        f"---\ntitle: {title}\ndate: {day}\nauthor: Ines Duarte\noutlet: {outlet}\n---\n\n"
        f"# {title}\n\n{STORY}"
    )


@pytest.fixture
def wire(tmp_path: Path, rag_env: Path, embedder: Embedder) -> Settings:
    folder = tmp_path / "wire"
    folder.mkdir()
    for name, (title, outlet, day) in COPIES.items():
        (folder / name).write_text(copy_text(title, outlet, day), encoding="utf-8")
    (folder / "serin.md").write_text(OTHER, encoding="utf-8")
    s = Settings(home=rag_env, articles_dir=folder)
    indexer.run(s, embedder=embedder)
    return s


def test_three_copies_of_one_story_are_one_passage_naming_the_others(
    wire: Settings, embedder: Embedder
) -> None:
    passages = Retriever(wire, embedder=embedder).search("What pay rise ended the strike?", k=4)
    copies = [p for p in passages if p.source in COPIES]
    assert len({p.source for p in copies}) == 1  # one copy's passages stand for all three
    kept = copies[0]
    assert set(kept.copies) == set(COPIES) - {kept.source}
    assert kept.outlet == COPIES[kept.source][1] and kept.author == "Ines Duarte"
    assert "serin.md" in {p.source for p in passages}  # the room goes to other evidence
    other = next(p for p in passages if p.source == "serin.md")
    assert other.copies == () and other.outlet == "Harbour Gazette" and other.author is None


def test_an_update_that_changes_a_figure_is_not_a_copy(wire: Settings, embedder: Embedder) -> None:
    updated = STORY.replace("6 percent", "7 percent")
    (wire.articles_dir / "update.md").write_text(
        "---\ntitle: Valmora deal revised\ndate: 2025-06-13\n---\n\n" + updated, encoding="utf-8"
    )
    indexer.run(wire, embedder=embedder)
    passages = Retriever(wire, embedder=embedder).search("What pay rise ended the strike?", k=4)
    sources = {p.source for p in passages}
    assert "update.md" in sources and len(sources & set(COPIES)) == 1
    kept = next(p for p in passages if p.source in COPIES)
    assert "update.md" not in kept.copies and len(kept.copies) == 2


def test_search_json_carries_author_outlet_and_copies(wire: Settings) -> None:
    env = {**os.environ, "RAG_ARTICLES_DIR": str(wire.articles_dir)}  # RAG_HOME: the fixture's
    rag = str(Path(__file__).resolve().parents[1] / ".venv" / "bin" / "rag")
    out = run_process(
        [rag, "search", "What pay rise ended the strike?", "-k", "3", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr
    passages = json.loads(out.stdout)["passages"]
    for p in passages:
        assert {"published", "author", "outlet", "copies"} <= set(p)
    kept = next(p for p in passages if p["source"] in COPIES)
    assert kept["author"] == "Ines Duarte" and len(kept["copies"]) == 2
    serin = next(p for p in passages if p["source"] == "serin.md")
    assert serin["author"] is None and serin["outlet"] == "Harbour Gazette"


# --- the rules, on their own -------------------------------------------------------------


def test_copies_need_the_same_words_length_and_figures() -> None:
    a = copy_text("A", "Gazette", "2025-06-11")
    assert wire_copies.are_copies(a, copy_text("B other headline", "Post", "2025-06-12"))
    assert not wire_copies.are_copies(a, a.replace("23 days", "24 days"))  # a figure changed
    more = " ".join("".join(w) for w in product("klmnoprstu", repeat=3))  # 1,000 new words
    assert not wire_copies.are_copies(a, a + more)  # a long piece quoting the whole story
    assert not wire_copies.are_copies(a, OTHER)


def test_articles_are_put_back_together_from_overlapping_chunks() -> None:
    class Piece:
        def __init__(self, start: int, text: str) -> None:
            self.source, self.start, self.text = "a.md", start, text

    text = "One two three. Four five six. Seven eight."
    pieces = [Piece(15, text[15:29]), Piece(0, text[0:29]), Piece(30, text[30:])]
    # The whitespace between two chunks is not stored: a line break stands for it.
    assert wire_copies.article_texts(pieces) == {"a.md": text[:29] + "\n" + text[30:]}
