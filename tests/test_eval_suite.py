"""Labelled suites: loading, checking the evidence, and choosing the items a run asks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag import eval_suite as ev
from rag.config import Settings

REPO = Path(__file__).resolve().parents[1]


def test_the_seed_suite_loads_with_offsets_verified() -> None:
    suite = ev.load_suite("seeds")
    assert len(suite.items) == 83
    text = (REPO / "seeds" / suite.items[0].evidence[0].source).read_text(encoding="utf-8")
    e = suite.items[0].evidence[0]
    assert text[e.start : e.end] == e.quote
    follow_ups = [it for it in suite.items if it.category == "follow_up"]
    assert follow_ups and all(it.history for it in follow_ups)


def test_a_suite_may_give_quotes_without_offsets(tmp_path: Path) -> None:
    (tmp_path / "art.txt").write_text("Intro line.\nThe mayor resigned on Monday.\n")
    suite = tmp_path / "mine.jsonl"
    row = {
        "question": "Who resigned?",
        "answerable": True,
        "evidence": [{"source": "art.txt", "quote": "The mayor resigned"}],
        "key_facts": [["mayor"]],
    }
    suite.write_text(json.dumps(row) + "\n")
    [item] = ev.load_suite(str(suite), articles_dir=tmp_path).items
    assert item.evidence == [ev.Evidence("art.txt", 12, 30, "The mayor resigned")]
    assert item.gold_sources == ["art.txt"] and item.key_facts == [["mayor"]]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "line 1 is not valid JSON"),
        ('{"question": "q"}', "lacks answerable"),
        ('{"question": "q", "answerable": true}', "has no evidence or key_facts"),
        (
            '{"question": "q", "answerable": true, "key_facts": [["x"]], '
            '"evidence": [{"source": "art.txt", "quote": "absent words"}]}',
            "quote is not in art.txt",
        ),
        (
            '{"question": "q", "answerable": true, "key_facts": [["x"]], '
            '"evidence": [{"source": "art.txt", "quote": "Intro", "start": 3, "end": 8}]}',
            "no longer at art.txt 3-8",
        ),
        (
            '{"question": "q", "answerable": true, "key_facts": [["x"]], '
            '"evidence": [{"source": "gone.txt", "quote": "x"}]}',
            "gone.txt, which is not in",
        ),
    ],
)
def test_bad_suites_fail_with_one_sentence(tmp_path: Path, line: str, message: str) -> None:
    (tmp_path / "art.txt").write_text("Intro line.\n")
    suite = tmp_path / "bad.jsonl"
    suite.write_text(line + "\n")
    with pytest.raises(ev.EvalError, match=message) as err:
        ev.load_suite(str(suite), articles_dir=tmp_path)
    assert "\n" not in str(err.value) and str(err.value).endswith(".")


def test_unknown_suite_names_the_choices() -> None:
    with pytest.raises(ev.EvalError, match="use seeds, dated, squad2 or the path"):
        ev.load_suite("nope")


def test_samples_are_fixed_and_stratified_by_category() -> None:
    items = ev.load_suite("seeds").items
    subset = ev.sample(items, 30)
    assert len(subset) == 30
    assert subset == ev.sample(items, 30)
    assert {it.category for it in subset} == {it.category for it in items}
    assert [it.id for it in subset] == sorted(it.id for it in subset)  # file order kept
    assert ev.sample(items, None) == items
    shuffled = ev.sample(items, 10, seed=1)
    assert shuffled == ev.sample(items, 10, seed=1) != ev.sample(items, 10, seed=2)


def test_the_squad_suite_writes_one_file_per_article(tmp_path: Path) -> None:
    if not ev.SQUAD_PATH.is_file():
        pytest.skip("the SQuAD 2.0 benchmark file is not on this machine")
    suite = ev.load_suite("squad2", home=tmp_path)
    files = sorted((tmp_path / "eval-squad2" / "articles").glob("*.txt"))
    assert len(files) == 36
    assert len(suite.items) == 3050
    assert sum(not it.answerable for it in suite.items) == 1552
    texts = {f.name: f.read_text(encoding="utf-8") for f in files}
    for item in ev.sample(suite.items, 40, seed=0):
        for e in item.evidence:
            assert texts[e.source][e.start : e.end] == e.quote
    mtime = files[0].stat().st_mtime_ns
    ev.load_suite("squad2", home=tmp_path)  # unchanged files are not rewritten
    assert files[0].stat().st_mtime_ns == mtime


def test_squad_halves_are_fixed_by_id_and_a_run_asks_one_balanced_half() -> None:
    items = [
        ev.EvalItem(
            id=f"q{i:03d}",
            question="?",
            answerable=i % 2 == 0,
            category="squad_answerable" if i % 2 == 0 else "squad_unanswerable",
        )
        for i in range(200)
    ]
    halves = {it.id: ev.squad_half(it.id) for it in items}
    assert set(halves.values()) == {"tune", "test"}
    assert halves == {it.id: ev.squad_half(it.id) for it in reversed(items)}  # not by order
    suite = ev.Suite("squad2", items, REPO, kind="squad")
    test = ev.select(suite, 20)
    assert len(test) == 20 and all(halves[it.id] == "test" for it in test)
    assert sum(it.answerable for it in test) == 10  # as many unanswerable as answerable
    assert test == ev.select(suite, 20)
    tune = ev.select(suite, 20, half="tune")
    assert all(halves[it.id] == "tune" for it in tune)
    with pytest.raises(ev.EvalError, match="use tune, test or all"):
        ev.select(suite, 20, half="train")


# --- the dated suite -------------------------------------------------------------------

DATED_CATEGORIES = {"relative-date", "latest", "timeline", "disagreeing-update", "wire-copy"}


def test_the_dated_suite_loads_with_its_fixtures_and_a_pinned_today() -> None:
    suite = ev.load_suite("dated")
    assert suite.name == "dated" and suite.today == "2025-06-16"
    assert suite.articles_dir == REPO / "eval" / "dated" / "articles"
    assert {it.category for it in suite.items} == DATED_CATEGORIES
    for it in suite.items:
        assert it.answerable and it.key_facts and it.evidence
        for e in it.evidence:  # offsets found and checked by the loader
            assert e.source in it.gold_sources and e.end > e.start
        for source in it.gold_sources:
            assert (suite.articles_dir / source).is_file(), source
    # A --limit subset still asks every category.
    assert {it.category for it in ev.select(suite, 5)} == DATED_CATEGORIES


def test_the_dated_suite_answers_as_of_its_own_today(settings: Settings) -> None:
    from datetime import date

    from rag.evaluation import eval_settings

    suite = ev.load_suite("dated")
    local = eval_settings(settings.model_copy(update={"today": None}), suite)
    assert local.current_date == date(2025, 6, 16)
    assert local.articles_dir == suite.articles_dir
    assert eval_settings(settings, ev.load_suite("seeds")).today == settings.today


def test_the_dated_questions_windows_hold_their_gold_articles() -> None:
    """The corpus and the pinned today agree: each relative-date question's window (as
    code resolves it) holds the articles its answer is in."""
    from datetime import date

    from rag.documents import FileEntry, load
    from rag.timeframe import resolve

    suite = ev.load_suite("dated")
    today = date.fromisoformat(suite.today or "")
    for it in suite.items:
        frame = resolve(it.question, today)
        if it.category == "relative-date":
            assert frame is not None and frame.after and frame.before, it.id
            for e in it.evidence:
                path = suite.articles_dir / e.source
                published = load(FileEntry(path, e.source), 1 << 20).published
                assert published and frame.after <= published <= frame.before, it.id
        elif it.category == "latest":
            assert frame is not None and frame.latest, it.id
