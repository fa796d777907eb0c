"""Document -> Chunk: exact offsets, sentence packing with overlap, stable ids."""

from __future__ import annotations

import re
from itertools import pairwise
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rag.chunking import Chunk, chunk, sentence_spans
from rag.documents import Document, content_hash
from rag.front_matter import without_front_matter

SEEDS = Path(__file__).resolve().parents[1] / "seeds"


def document(text: str, source: str = "a.txt") -> Document:
    return Document(
        source=source,
        text=text,
        title="t",
        content_hash=content_hash(text.encode("utf-8")),
        size=len(text),
        modified=0.0,
    )


def assert_exact(doc: Document, chunks: list[Chunk]) -> None:
    for c in chunks:
        assert doc.text[c.start : c.end] == c.text
        assert c.source == doc.source
    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert len({c.chunk_id for c in chunks}) == len(chunks)


def covered(doc: Document, chunks: list[Chunk]) -> set[int]:
    return {i for c in chunks for i in range(c.start, c.end)}


PROSE = " ".join(
    f"Sentence number {i} reports that the council met on day {i} and voted {i % 7} times."
    for i in range(40)
)


def test_seed_articles_offsets_point_at_the_exact_text() -> None:
    for path in sorted(SEEDS.glob("*.txt")):
        doc = document(path.read_text(encoding="utf-8"), path.name)
        chunks = chunk(doc, 600, 1)
        assert len(chunks) > 3
        assert_exact(doc, chunks)
        assert all(len(c.text) <= 600 for c in chunks)
        non_space = {i for i, ch in enumerate(doc.text) if not ch.isspace()}
        assert non_space <= covered(doc, chunks)


def test_neighbours_share_a_sentence_and_start_on_sentence_boundaries() -> None:
    doc = document(PROSE)
    chunks = chunk(doc, 300, overlap=1)
    assert len(chunks) > 5
    assert_exact(doc, chunks)
    starts = {s for s, _ in sentence_spans(doc.text)}
    for a, b in pairwise(chunks):
        assert b.start < a.end  # overlap
        shared = doc.text[b.start : a.end]
        assert re.fullmatch(r"Sentence number \d+ .*\.", shared)  # exactly whole sentences
        assert b.start in starts and a.start in starts


def test_no_overlap_when_asked() -> None:
    doc = document(PROSE)
    chunks = chunk(doc, 300, overlap=0)
    for a, b in pairwise(chunks):
        assert b.start > a.end - 1
        assert doc.text[a.end : b.start].strip() == ""


def test_no_chunk_repeats_only_what_its_neighbour_already_holds() -> None:
    # The overlap sentence plus the next long one do not fit together: the next chunk
    # must start at the new sentence instead of being the old sentence alone.
    text = ("A" * 40 + ". ") + ("B" * 250 + ". ") + ("C" * 280 + ". ") + ("D" * 50 + ".")
    doc = document(text)
    chunks = chunk(doc, 320, overlap=1)
    assert_exact(doc, chunks)
    for a, b in pairwise(chunks):
        assert b.end > a.end, (a, b)
    assert [c.text[0] for c in chunks] == ["A", "C", "D"]


def test_abbreviations_do_not_end_a_sentence() -> None:
    text = "Dr. Smith met Mr. Jones in the U.S. capital. They spoke. It rained."
    spans = [text[s:e] for s, e in sentence_spans(text)]
    assert spans == ["Dr. Smith met Mr. Jones in the U.S. capital.", "They spoke.", "It rained."]


def test_a_numbered_list_item_is_one_sentence_with_its_number() -> None:
    text = "Steps include:\n1. Buy pumps. Then wait.\n  12. Sell tanks\nHe scored 3. Then left."
    spans = [text[s:e] for s, e in sentence_spans(text)]
    assert spans == [
        "Steps include:",
        "1. Buy pumps.",
        "Then wait.",
        "12. Sell tanks",
        "He scored 3.",
        "Then left.",
    ]


def test_a_sentence_longer_than_the_limit_is_cut_at_spaces() -> None:
    words = [f"word{i}" for i in range(400)]
    doc = document("Intro sentence here. " + " ".join(words) + ". Outro sentence.")
    chunks = chunk(doc, 200, overlap=1)
    assert_exact(doc, chunks)
    assert all(len(c.text) <= 200 for c in chunks)
    for c in chunks:  # cut between words, never inside one
        assert re.fullmatch(r"[\w. ]+", c.text)
        assert c.start == 0 or doc.text[c.start - 1] == " "
    assert " ".join(c.text for c in chunks).count("word399") >= 1


def test_a_run_without_spaces_is_cut_hard() -> None:
    doc = document("x" * 1000)
    chunks = chunk(doc, 300, overlap=1)
    assert [len(c.text) for c in chunks] == [300, 300, 300, 100]
    assert_exact(doc, chunks)


def test_ids_are_stable_and_depend_on_path_and_content() -> None:
    doc = document(PROSE)
    first = [c.chunk_id for c in chunk(doc, 300)]
    assert first == [c.chunk_id for c in chunk(document(PROSE), 300)]
    moved = [c.chunk_id for c in chunk(document(PROSE, "other.txt"), 300)]
    edited = [c.chunk_id for c in chunk(document(PROSE + " One more."), 300)]
    assert not set(first) & set(moved)
    assert not set(first) & set(edited)


def test_tiny_limits_are_refused() -> None:
    import pytest

    with pytest.raises(ValueError):
        chunk(document(PROSE), 10)


# --- any text at all ----------------------------------------------------------

texts = st.text(
    alphabet=st.one_of(
        st.sampled_from(list("  \n\n\t.!?\"'()…”“’Aa1 ")),
        st.characters(codec="utf-8"),
    ),
    max_size=3000,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=texts, limit=st.integers(50, 400), overlap=st.integers(0, 3))
def test_any_text_offsets_exact_full_coverage_and_bounded(
    text: str, limit: int, overlap: int
) -> None:
    doc = document(text)
    chunks = chunk(doc, limit, overlap)
    assert_exact(doc, chunks)
    body = len(text) - len(without_front_matter(text))  # front matter is no passage
    non_space = {i for i, ch in enumerate(text) if not ch.isspace() and i >= body}
    assert non_space <= covered(doc, chunks)
    for c in chunks:
        assert 0 < len(c.text) <= limit  # a cut is always possible, so never over
        assert not c.text[0].isspace() and not c.text[-1].isspace()
    assert all(b.start > a.start and b.end > a.end for a, b in pairwise(chunks))


def test_front_matter_is_no_passage_and_offsets_stay_the_file_s() -> None:
    text = (
        "---\ntitle: Harbour opens\ndate: 2025-06-01\nauthor: Ann Lee\n---\n\n"
        "# Harbour opens\n\nThe harbour opened on Monday. Ferries will call twice a day.\n"
    )
    doc = document(text, "harbour.md")
    chunks = chunk(doc, 200)
    assert_exact(doc, chunks)
    assert chunks and chunks[0].text.startswith("# Harbour opens")
    assert all("author:" not in c.text for c in chunks)
