"""Hybrid retrieval on a real Chroma store with the real embedding model."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from rag import indexer, lexical
from rag.cli import app
from rag.config import Settings
from rag.embeddings import Embedder
from rag.retrieval import BM25_WEIGHT, Filters, Passage, RetrievalError, Retriever
from rag.store import Store
from rag.tables import spoken

RARE = "Okonkwo-Baptiste"

BRIEFING = f"""Ceasefire monitors report on the eastern front

Monitors from several countries toured the front line this week and met local officials.
They described damaged roads, closed schools and long queues for water in the villages.
The mission's deputy head, Amara {RARE}, said the next report would reach the council in June.
Aid convoys were delayed twice by shelling near the river crossing.
"""


def retriever(settings: Settings, embedder: Embedder, **overrides: object) -> Retriever:
    return Retriever(settings.model_copy(update=overrides), embedder=embedder)


def file_text(settings: Settings, source: str) -> str:
    return (settings.articles_dir / source).read_text(encoding="utf-8")


def test_exact_rare_term_is_found_first(indexed: Settings, embedder: Embedder) -> None:
    (indexed.articles_dir / "briefing.txt").write_text(BRIEFING, encoding="utf-8")
    indexer.run(indexed, embedder=embedder)

    passages = retriever(indexed, embedder).search(f"Who is {RARE}?", k=3)

    assert passages[0].source == "briefing.txt"
    assert RARE in passages[0].text
    assert passages[0].scores["bm25"] > 0


def test_passages_point_at_exact_file_text(indexed: Settings, embedder: Embedder) -> None:
    passages = retriever(indexed, embedder).search(
        "What do analysts say about the peace plan?", k=5
    )

    assert 1 <= len(passages) <= 5
    for p in passages:
        assert isinstance(p, Passage)
        assert file_text(indexed, p.source)[p.start : p.end] == p.text
        assert set(p.to_dict()) >= {"source", "chunk_id", "start", "end", "text", "score"}
    scores = [p.score for p in passages]
    assert scores == sorted(scores, reverse=True)


def test_top_k_are_distinct_non_overlapping_spans(indexed: Settings, embedder: Embedder) -> None:
    passages = retriever(indexed, embedder).search("Trump peace plan Moscow Kremlin", k=12)

    assert len(passages) >= 6
    spans: dict[str, list[tuple[int, int]]] = {}
    for p in passages:
        for start, end in spans.get(p.source, []):
            assert p.end <= start or end <= p.start, f"{p.source} {p.start}-{p.end} overlaps"
        spans.setdefault(p.source, []).append((p.start, p.end))
    assert len({p.text for p in passages}) == len(passages)


def test_the_best_passage_runs_on_into_the_chunk_after_it(
    indexed: Settings, embedder: Embedder
) -> None:
    """The seed article on the talks says the memorandum was presented in one chunk and
    lists its demands in the next: the best passage is continued into it."""
    r = retriever(indexed, embedder)
    found = r.search("What did the Russian negotiators present in Istanbul?", k=3)
    assert "memorandum" in found[0].text and "Among its demands" not in found[0].text
    more = r.continued(found)
    first = more[0]
    assert (first.source, first.start, first.chunk_id) == (
        found[0].source, found[0].start, found[0].chunk_id
    )  # fmt: skip
    assert first.end > found[0].end and "Among its demands" in first.text
    assert file_text(indexed, first.source)[first.start : first.end] == first.text
    assert more[1:] == found[1:]
    spans = [(p.source, p.start, p.end) for p in more]
    for i, (src, a, b) in enumerate(spans):  # still no text shown twice
        for src2, c, d in spans[i + 1 :]:
            assert src != src2 or b <= c or d <= a
    # A passage list whose next text is already shown stays as it is.
    assert r.continued([found[0], replace(more[0], start=found[0].end)])[0] == found[0]


def test_fusion_gives_every_candidate_both_true_scores(
    indexed: Settings, embedder: Embedder
) -> None:
    query = "Why did Russia reject the proposal?"
    r = retriever(indexed, embedder, reranker="none")
    lex = lexical.refresh(r.store, indexed)
    vector = np.asarray(embedder.embed_query(query), dtype=np.float32)

    candidates = r.candidates(query, vector, Filters(), lex, None, pool=6)

    hits = lex.scores(query)
    best = hits.top(1)[0][1]
    assert best > 0
    fused = [c.fused for c in candidates]
    assert fused == sorted(fused, reverse=True)
    # Both sides proposed chunks the other did not rank first, yet all have both scores.
    assert len(candidates) > 6
    texts = [c.chunk.text for c in candidates]
    for cand, vec in zip(candidates, embedder.embed(texts), strict=True):
        assert cand.dense == pytest.approx(float(np.dot(vector, vec)), abs=1e-3)
        assert cand.bm25 == pytest.approx(hits.of([cand.chunk.chunk_id])[cand.chunk.chunk_id])
        expected = BM25_WEIGHT * cand.bm25 / best + (1 - BM25_WEIGHT) * cand.dense
        assert cand.fused == pytest.approx(expected, abs=1e-6)
    # Without a reranker the passages come out in fused order.
    passages = r.search(query, k=4)
    assert [p.scores["fused"] for p in passages] == sorted(
        (p.scores["fused"] for p in passages), reverse=True
    )
    assert all("rerank" not in p.scores for p in passages)


def test_default_reranker_scores_are_used(indexed: Settings, embedder: Embedder) -> None:
    passages = retriever(indexed, embedder).search("Why did Russia reject the proposal?", k=4)

    assert all("rerank" in p.scores for p in passages)
    assert all(p.score == p.scores["rerank"] >= p.scores["fused"] for p in passages)


def test_source_filter_by_name_and_glob(indexed: Settings, embedder: Embedder) -> None:
    r = retriever(indexed, embedder)
    name = "004_3c5e144f33afb4e5.txt"

    by_name = r.search("peace talks", k=5, filters=Filters.parse(source=name))
    by_glob = r.search("peace talks", k=5, filters=Filters.parse(source="000_*"))

    assert by_name and {p.source for p in by_name} == {name}
    assert by_glob and {p.source for p in by_glob} == {"000_577bfc99f1868438.txt"}
    with pytest.raises(RetrievalError, match="--source"):
        r.search("peace talks", filters=Filters.parse(source="nothing-like-this*.txt"))


def dated_article(folder: Path, name: str, when: str, topic: str) -> None:
    (folder / name).write_text(
        f"---\ntitle: {topic} update\ndate: {when}\n---\n\n"
        f"Officials gave an update on the {topic} harbour project on {when}. "
        f"The {topic} harbour will open to ferries next spring, they said.\n",
        encoding="utf-8",
    )


def test_date_filters(settings: Settings, embedder: Embedder) -> None:
    dated_article(settings.articles_dir, "early.md", "2024-01-10", "northern")
    dated_article(settings.articles_dir, "middle.md", "2024-03-05", "western")
    dated_article(settings.articles_dir, "late.md", "2024-06-20", "southern")
    indexer.run(settings, embedder=embedder)
    r = retriever(settings, embedder)

    def sources(**dates: str) -> set[str]:
        return {p.source for p in r.search("harbour ferries", k=10, filters=Filters.parse(**dates))}

    assert sources(after="2024-02-01") == {"middle.md", "late.md"}
    assert sources(before="2024-03-05") == {"early.md", "middle.md"}
    assert sources(after="2024-02-01", before="2024-04-01") == {"middle.md"}
    with pytest.raises(RetrievalError, match="filters"):
        r.search("harbour", filters=Filters.parse(after="2030-01-01"))


@pytest.mark.parametrize(
    ("after", "before", "message"),
    [
        ("2024-13-01", None, "--after"),
        (None, "yesterday", "--before"),
        ("2024-05-01", "2024-01-01", "swap"),
    ],
)
def test_bad_dates_are_one_clear_sentence(
    after: str | None, before: str | None, message: str
) -> None:
    with pytest.raises(RetrievalError, match=message) as info:
        Filters.parse(after=after, before=before)
    assert str(info.value).count(".") <= 2 and "\n" not in str(info.value)


def test_empty_index_is_a_clear_error(settings: Settings, embedder: Embedder) -> None:
    with pytest.raises(RetrievalError, match="rag index"):
        retriever(settings, embedder).search("anything")


def test_keyword_index_follows_add_change_delete(indexed: Settings, embedder: Embedder) -> None:
    r = retriever(indexed, embedder)
    path = indexed.articles_dir / "briefing.txt"

    def found(word: str) -> bool:
        return any(word in p.text and p.source == "briefing.txt" for p in r.search(word, k=3))

    path.write_text(BRIEFING, encoding="utf-8")
    indexer.run(indexed, embedder=embedder)
    assert found(RARE)

    path.write_text(BRIEFING.replace(RARE, "Vasquez-Lindqvist"), encoding="utf-8")
    indexer.run(indexed, embedder=embedder)
    assert found("Vasquez-Lindqvist")
    assert not found(RARE)

    path.unlink()
    indexer.run(indexed, embedder=embedder)
    assert not found("Vasquez-Lindqvist")
    assert all(p.source != "briefing.txt" for p in r.search("ceasefire monitors", k=10))
    store = Store(indexed)
    keywords = lexical.refresh(store, indexed)
    assert keywords.count() == store.count()
    assert sorted(keywords.row_ids([c.chunk_id for c in store.iter_chunks()])) == sorted(
        c.chunk_id for c in store.iter_chunks()
    )


def test_corrupt_keyword_index_is_rebuilt(indexed: Settings, embedder: Embedder) -> None:
    path = lexical.database_path(indexed)
    assert path.is_file()
    lexical._indexes.clear()  # as a fresh process would start
    for f in path.parent.iterdir():
        if f.name.startswith(path.name) and not f.name.endswith(".lock"):
            f.write_bytes(b"\x00garbage" * 100)

    passages = retriever(indexed, embedder).search("Istanbul memorandum", k=3)

    assert any("Istanbul" in p.text and p.scores["bm25"] > 0 for p in passages)
    assert lexical.open_index(indexed).generation() == Store(indexed).generation


def test_missing_keyword_index_is_rebuilt(indexed: Settings, embedder: Embedder) -> None:
    shutil.rmtree(lexical.database_path(indexed).parent)
    lexical._indexes.clear()

    passages = retriever(indexed, embedder).search("Istanbul memorandum", k=3)

    assert any("Istanbul" in p.text and p.scores["bm25"] > 0 for p in passages)
    assert lexical.database_path(indexed).is_file()


# --- the command -----------------------------------------------------------------


def test_cli_search_json(indexed: Settings) -> None:
    result = CliRunner().invoke(app, ["search", "Istanbul memorandum", "-k", "2", "--json"])

    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["query"] == "Istanbul memorandum"
    assert 1 <= len(out["passages"]) <= 2
    first = out["passages"][0]
    assert {"source", "chunk_id", "start", "end", "text", "score"} <= set(first)
    assert "Istanbul" in first["text"]
    assert file_text(indexed, first["source"])[first["start"] : first["end"]] == first["text"]


def test_cli_search_batch_from_stdin(indexed: Settings) -> None:
    questions = "Istanbul memorandum\n\nWhat did the Moscow Times examine?\n"

    result = CliRunner().invoke(app, ["search", "--batch", "-", "-k", "3"], input=questions)

    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["query"] for line in lines] == [
        "Istanbul memorandum",
        "What did the Moscow Times examine?",
    ]
    assert all(1 <= len(line["passages"]) <= 3 for line in lines)


def test_cli_search_readable_and_errors(indexed: Settings) -> None:
    runner = CliRunner()
    readable = runner.invoke(app, ["search", "Istanbul memorandum", "-k", "1"])
    assert readable.exit_code == 0
    assert "[1]" in readable.stdout and "Istanbul" in readable.stdout

    bad = runner.invoke(app, ["search", "peace", "--after", "June"])
    assert bad.exit_code == 1
    assert "YYYY-MM-DD" in bad.stderr and "Traceback" not in bad.output
    assert len(bad.stderr.strip().splitlines()) == 1


def test_cli_search_on_empty_index(settings: Settings) -> None:
    result = CliRunner().invoke(app, ["search", "anything"])

    assert result.exit_code == 1
    assert "rag index" in result.stderr and "Traceback" not in result.output


TABLED = """Ministers compare three budget plans

The finance ministry published a comparison of the three budget plans before the vote.
Officials said the figures were final and that no further changes would be made this year.
Each plan was scored on the same six areas, and the ministry listed them side by side.

| Area | Green plan | Blue plan |
|---|---|---|
| Schools | Two new schools | One new school |
| Hospitals | Longer opening hours | A new wing in the capital |
| Roads | Repairs only | A ring road around the port |
| Railways | Electrified northern line | No change |
| Housing | Rent caps in cities | Grants for first homes |
| Energy | Wind farms on the coast | A gas plant near the border |
| Water | New reservoirs | Leak repairs in old towns |

The vote on the budget takes place next week in the lower house.
"""


def test_a_passage_starting_inside_a_table_runs_back_to_its_header(
    indexed: Settings, embedder: Embedder
) -> None:
    """A row without its header does not say which plan is which: the passage is run
    back to the header row, and the rows are read with the columns' names."""
    (indexed.articles_dir / "budget.txt").write_text(TABLED, encoding="utf-8")
    indexer.run(indexed, embedder=embedder)
    r = retriever(indexed, embedder)
    found = [p for p in r.search("Which plan builds a gas plant near the border?", k=5)
             if p.source == "budget.txt"]  # fmt: skip
    row = next(p for p in found if "gas plant" in p.text)
    assert row.text.startswith("|") and "Green plan" not in row.text, row.text
    headed = r.headed(found)
    mine = next(p for p in headed if p.chunk_id == row.chunk_id)
    text = file_text(indexed, "budget.txt")
    assert mine.text.startswith("| Area | Green plan | Blue plan |")
    assert mine.end == row.end and text[mine.start : mine.end] == mine.text
    assert "Area: Energy; Green plan: Wind farms on the coast; Blue plan: A gas plant" in spoken(
        mine.text
    )
    # Passages that do not open inside a table are left as they are.
    others = [p for p in found if p.chunk_id != row.chunk_id]
    assert [p for p in headed if p.chunk_id != row.chunk_id] == others
    assert r.headed(others) == others


LISTED = """River council weighs flood defences

The river council met on Tuesday to discuss the flooding that hit the lower town twice this autumn.
Engineers told the members that the old wall was built for a smaller river and would not hold another storm.
Residents who lost their homes in October asked the council to act before the winter rains arrive.
The mayor said the town could not wait for national funds and would have to pay for the first steps itself.
Measures the council could take include:
- Raising the river wall by a metre along the whole lower town
- Buying six pumps for the streets nearest the water
- Paying for sandbags and storing them in the school gym
- Planting willows on the eastern bank to slow the current
- Moving the bus depot to higher ground north of the market
The vote on the measures takes place next week, after a public meeting in the town hall.
"""


def test_a_passage_starting_inside_a_list_runs_back_to_its_lead_in(
    indexed: Settings, embedder: Embedder
) -> None:
    """An item without the line introducing its list does not say what it is an item
    of: the passage is run back to that line, in the article's own text."""
    (indexed.articles_dir / "flood.txt").write_text(LISTED, encoding="utf-8")
    indexer.run(indexed, embedder=embedder)
    r = retriever(indexed, embedder)
    found = [p for p in r.search("Where would the bus depot be moved?", k=5)
             if p.source == "flood.txt"]  # fmt: skip
    item = next(p for p in found if p.text.startswith("- "))
    assert "Measures the council" not in item.text, item.text
    mine = next(p for p in r.headed(found) if p.chunk_id == item.chunk_id)
    text = file_text(indexed, "flood.txt")
    assert mine.text.startswith("Measures the council could take include:\n- ")
    assert mine.end == item.end and text[mine.start : mine.end] == mine.text


def test_a_list_cut_between_two_chunks_that_do_not_overlap_is_read_with_its_lead_in(
    indexed: Settings, embedder: Embedder
) -> None:
    """The seed article's countermeasures list is cut after its first item, the next
    chunk starting on the line after: the item passage gets the lead-in from the chunk
    before, and still points at the article's exact text."""
    r = retriever(indexed, embedder)
    found = r.search("What cyber-related countermeasure is suggested for Western governments?", k=6)
    item = next(p for p in found if p.text.startswith("- Expanding targeted sanctions"))
    mine = next(p for p in r.headed(found) if p.chunk_id == item.chunk_id)
    assert mine.text.startswith("Countermeasures that Western governments could consider include:")
    assert file_text(indexed, mine.source)[mine.start : mine.end] == mine.text
