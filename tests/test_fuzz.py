"""Property-based tests on arbitrary input: loading files, chunking what was loaded, and
reading citation markers out of any answer text.

Chunking any *text* is tests/test_chunking.py; a safe upload name for any name is
tests/test_uploads.py; a model answer of well-formed sentences carrying any numbers is
tests/test_citations.py.  Here the input is arbitrary bytes and arbitrary answer text.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rag.chunking import chunk
from rag.citations import check
from rag.documents import DocumentError, FileEntry, content_hash, load
from rag.embeddings import Embedder
from rag.markers import parse_markers, split_answer, strip_markers
from rag.retrieval import Passage
from rag.verifier import Verifier

SEED = Path(__file__).resolve().parents[1] / "seeds" / "004_3c5e144f33afb4e5.txt"

# Bytes that look like articles more often than random bytes do: markup, front matter,
# dates, markers, odd whitespace, other encodings.
PIECES = [
    b"---\ntitle: T\ndate: 2024-01-02\n---\n",
    b"<html><head><title>X</title></head><body><p>",
    b"</p><script>alert(1)</script>",
    b"Published: 2023-02-30\n",
    b"[1]",
    b"[12, 3]",
    b"\r\n",
    b"\n\n",
    b"\xef\xbb\xbf",
    b"\xff\xfe",
    b"\x00",
    "Überschrift café – 東京. ".encode(),
    "caf\xe9 ".encode("latin-1"),
    b"The talks ended. Mr. Smith left! ",
]
raw_bytes = st.one_of(
    st.binary(max_size=2000),
    st.lists(st.one_of(st.sampled_from(PIECES), st.binary(max_size=40)), max_size=60).map(b"".join),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=raw_bytes, suffix=st.sampled_from([".txt", ".md", ".html"]))
def test_any_bytes_load_as_a_document_or_one_clear_reason(
    data: bytes, suffix: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = tmp_path_factory.mktemp("fuzz", numbered=True)
    path = folder / f"a{suffix}"
    path.write_bytes(data)
    try:
        doc = load(FileEntry(path=path, source=path.name), max_bytes=1_000_000)
    except DocumentError as exc:
        message = str(exc)
        assert message and "\n" not in message and "Traceback" not in message
        return
    assert doc.text.strip(), "a loaded document has text"
    assert doc.content_hash == content_hash(data)
    assert doc.source == path.name and isinstance(doc.title, str)
    assert doc.published is None or len(doc.published) == 10
    for piece in chunk(doc, 200, 1):
        assert doc.text[piece.start : piece.end] == piece.text
        assert 0 < len(piece.text) <= 200


answer_text = st.text(
    alphabet=st.one_of(
        st.sampled_from(list("[]0123456789,. \n!?;:-–()")), st.characters(codec="utf-8")
    ),
    max_size=400,
)


@settings(max_examples=500, deadline=None)
@given(text=answer_text)
def test_any_text_parses_into_markers_consistently(text: str) -> None:
    numbers = parse_markers(text)
    assert all(isinstance(n, int) and n >= 0 for n in numbers)
    assert parse_markers(strip_markers(text)) == []
    pieces = split_answer(text)
    assert sorted(n for p in pieces for n in p.numbers) == sorted(numbers)
    for p in pieces:
        assert parse_markers(p.claim) == []


@pytest.fixture(scope="module")
def passages() -> list[Passage]:
    text = SEED.read_text(encoding="utf-8")
    out = []
    for i, start in enumerate(range(0, 2400, 600)):
        out.append(
            Passage(
                source=SEED.name, chunk_id=f"c{i}", start=start, end=start + 600,
                text=text[start : start + 600],
            )
        )  # fmt: skip
    return out


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=answer_text)
def test_any_answer_text_shows_only_checked_citations(
    text: str, passages: list[Passage], embedder: Embedder
) -> None:
    out = check(text, passages, Verifier(embedder))
    shown = parse_markers(out.answer)
    assert set(shown) == {c.n for c in out.citations}
    assert all(1 <= n <= len(passages) for n in shown)
    for c in out.citations:
        p = passages[c.n - 1]
        assert (c.chunk_id, c.start, c.end, c.text) == (p.chunk_id, p.start, p.end, p.text)
        assert p.start <= c.quote_start <= c.quote_end <= p.end
