"""The eval metrics on hand-made answers with known scores, suites, report, and the floors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag import eval_report as rep
from rag import evaluation as ev
from rag.answering import Answer
from rag.citations import Citation, Sentence
from rag.config import Settings
from rag.retrieval import Passage

REPO = Path(__file__).resolve().parents[1]

# Two made-up files: a.txt holds the gold spans [100, 160) and b.txt [50, 90).
GOLD_A = ev.Evidence("a.txt", 100, 160, "cited unresolved sanctions and NATO expansion")
GOLD_B = ev.Evidence("b.txt", 50, 90, "withdrawal from four regions")
P_GOLD_A = Passage("a.txt", "a-1", 80, 300, "…sanctions and NATO expansion…")
P_OTHER_A = Passage("a.txt", "a-2", 400, 600, "…an unrelated part of a.txt…")
P_GOLD_B = Passage("b.txt", "b-1", 0, 200, "…withdrawal from four regions…")
P_OTHER_B = Passage("b.txt", "b-2", 300, 500, "…an unrelated part of b.txt…")

SINGLE = ev.EvalItem(
    id="single",
    question="Why did the Kremlin reject the plan?",
    answerable=True,
    category="single_fact",
    gold_sources=["a.txt"],
    evidence=[GOLD_A],
    key_facts=[["sanctions"], ["NATO expansion", "NATO"]],
)
MULTI = ev.EvalItem(
    id="multi",
    question="What do both articles say Russia wants?",
    answerable=True,
    category="both_articles",
    gold_sources=["a.txt", "b.txt"],
    evidence=[GOLD_A, GOLD_B],
    key_facts=[["sanctions"], ["four regions", "4 regions"]],
)
UNANSWERABLE = ev.EvalItem(
    id="none",
    question="What did the Pope say about the plan?",
    answerable=False,
    category="unanswerable",
)
REFUSAL = "I cannot find that in the articles."


def cite(n: int, p: Passage, supported: bool = True) -> Citation:
    return Citation(
        n=n, source=p.source, chunk_id=p.chunk_id, start=p.start, end=p.end, text=p.text,
        title="", supported=supported, score=0.9 if supported else 0.1,
        quote_start=p.start, quote_end=p.end,
    )  # fmt: skip


def answer(
    sentences: list[tuple[str, list[int], bool]],
    passages: list[Passage],
    refused: bool = False,
    verifier: dict[int, bool] | None = None,
) -> Answer:
    """An Answer whose [n] cite ``passages[n - 1]``; verifier verdicts default to True."""
    verifier = verifier or {}
    used = sorted({n for _, ns, _ in sentences for n in ns})
    citations = [cite(n, passages[n - 1], verifier.get(n, True)) for n in used]
    text = " ".join(t + "".join(f"[{n}]" for n in ns) for t, ns, _ in sentences)
    return Answer(
        question="q", query="q", answer=text, refused=refused, fallback=None,
        citations=citations, passages=passages,
        sentences=[Sentence(t, ns, ok) for t, ns, ok in sentences],
        timings={"total": 1.0, "first_token": 0.5},
    )  # fmt: skip


def refusal(passages: list[Passage] | None = None) -> Answer:
    return answer([(REFUSAL, [], False)], passages or [], refused=True)


# --- the seed-set metrics on hand-made answers ----------------------------------------


def test_a_perfect_answer_scores_one_everywhere() -> None:
    a = answer([("Officials cited sanctions and NATO expansion.", [1], True)], [P_GOLD_A])
    s = ev.score(SINGLE, a, latency=2.0)
    assert s.answer_correct and s.refusal_correct and s.passed
    assert s.citation_recall == s.citation_precision == 1.0
    assert s.source_precision == s.source_recall == 1.0
    assert s.retrieval_recall_at_5 == s.retrieval_mrr == 1.0
    assert s.verifier_recall == s.verifier_precision == 1.0
    assert s.sentence_agreement == (1, 1) and s.citation_agreement == (1, 1)
    assert s.latency == 2.0


def test_a_wrong_citation_loses_support_but_not_the_facts() -> None:
    # The text is right, but [1] points at a part of the right file without the evidence,
    # and the verifier (wrongly) calls it supported.
    a = answer(
        [("Officials cited sanctions and NATO expansion.", [1], True)], [P_OTHER_A, P_GOLD_A]
    )
    s = ev.score(SINGLE, a)
    assert s.answer_correct and not s.passed
    assert s.citation_recall == 0.0 and s.citation_precision == 0.0
    assert s.source_precision == 1.0 and s.source_recall == 1.0  # the file is right
    assert s.verifier_recall == 1.0
    assert s.sentence_agreement == (0, 1) and s.citation_agreement == (0, 1)
    assert s.retrieval_mrr == 0.5  # the gold passage came second


def test_a_missing_citation_halves_recall_not_precision() -> None:
    a = answer(
        [("Officials cited sanctions.", [1], True), ("They also named NATO expansion.", [], False)],
        [P_GOLD_A],
    )
    s = ev.score(SINGLE, a)
    assert s.citation_recall == 0.5
    assert s.citation_precision == 1.0
    assert s.verifier_recall == 0.5
    assert s.sentence_agreement == (2, 2)  # the verifier saw the missing citation too
    assert s.answer_correct and not s.passed


def test_an_uncited_answer_scores_zero_precision() -> None:
    a = answer([("Officials cited sanctions and NATO expansion.", [], False)], [P_GOLD_A])
    s = ev.score(SINGLE, a)
    assert s.citation_recall == 0.0 and s.citation_precision == 0.0
    assert s.source_precision == 0.0 and s.source_recall == 0.0


def test_a_missing_key_fact_makes_the_answer_wrong() -> None:
    a = answer([("Officials cited sanctions.", [1], True)], [P_GOLD_A])
    s = ev.score(SINGLE, a)
    assert s.facts_found == [True, False]
    assert not s.answer_correct
    assert s.citation_recall == 1.0  # what it says is cited right


def test_refusing_an_answerable_question_is_a_wrong_refusal() -> None:
    s = ev.score(SINGLE, refusal([P_GOLD_A]))
    assert not s.refusal_correct and not s.answer_correct
    assert s.citation_recall is None and s.source_recall is None  # nothing to judge
    assert s.retrieval_recall_at_5 == 1.0  # retrieval found it; the answer step refused
    total = ev.totals([s])
    assert total["answered_rate"] == 0.0 and total["refusal_accuracy"] == 0.0


def test_answering_an_unanswerable_question_is_an_over_answer() -> None:
    a = answer([("The Pope welcomed the plan.", [1], False)], [P_OTHER_A])
    s = ev.score(UNANSWERABLE, a)
    assert not s.refusal_correct and not s.answer_correct
    assert s.citation_recall is None and s.retrieval_recall_at_5 is None
    assert ev.totals([s])["refusal_recall"] == 0.0


def test_refusing_an_unanswerable_question_is_right_only_without_citations() -> None:
    assert ev.score(UNANSWERABLE, refusal([P_OTHER_A])).passed
    cited = answer([(REFUSAL, [1], False)], [P_OTHER_A], refused=True)
    s = ev.score(UNANSWERABLE, cited)
    assert s.refusal_correct and not s.answer_correct


def test_multi_source_sentences_need_each_fact_from_its_own_file() -> None:
    both = answer(
        [("Russia wants sanctions lifted [1] and four regions.", [1, 2], True)],
        [P_GOLD_A, P_GOLD_B],
    )
    s = ev.score(MULTI, both)
    assert s.citation_recall == s.citation_precision == 1.0  # each citation is needed
    assert s.source_recall == 1.0 and s.retrieval_recall_at_5 == 1.0

    one_file = answer(
        [("Russia wants sanctions lifted and four regions.", [1], True)], [P_GOLD_A, P_GOLD_B]
    )
    s = ev.score(MULTI, one_file)
    assert s.citation_recall == 0.0 and s.citation_precision == 0.0
    assert s.source_recall == 0.5 and s.source_precision == 1.0
    assert s.sentence_agreement == (0, 1)


def test_a_redundant_citation_is_imprecise() -> None:
    # [1] holds the fact; [2] neither holds it nor is needed (ALCE's over-citation).
    a = answer([("Officials cited sanctions and NATO.", [1, 2], True)], [P_GOLD_A, P_OTHER_B])
    s = ev.score(SINGLE, a)
    assert s.citation_recall == 1.0
    assert s.citation_precision == 0.5
    assert s.source_precision == 0.5


def test_a_sentence_stating_no_key_fact_is_judged_by_any_gold_span() -> None:
    a = answer(
        [
            ("Officials cited sanctions and NATO expansion.", [1], True),
            ("This reflects a wider pattern.", [1], True),
            ("Analysts disagree.", [2], True),
        ],
        [P_GOLD_A, P_OTHER_B],
    )
    s = ev.score(SINGLE, a)
    assert [j.supported for j in s.sentences] == [True, True, False]
    assert s.citation_recall == pytest.approx(2 / 3)
    assert s.citation_precision == pytest.approx(2 / 3)


def test_a_verbatim_quote_of_the_cited_passage_is_supported_off_the_gold_spans() -> None:
    outside = Passage(
        "a.txt", "a-3", 700, 800, "Earlier, the talks in Geneva “stalled again” on Monday."
    )
    quote = answer([("The talks in Geneva “stalled again” on Monday.", [1], True)], [outside])
    assert ev.score(SINGLE, quote).citation_recall == 1.0
    short = answer([("Talks “stalled again”.", [1], True)], [outside])  # under five words
    assert ev.score(SINGLE, short).citation_recall == 0.0
    altered = answer([("The talks in Geneva collapsed on Monday.", [1], True)], [outside])
    assert ev.score(SINGLE, altered).citation_recall == 0.0


def test_retrieval_recall_counts_key_facts_found_in_the_top_five() -> None:
    filler = [Passage("a.txt", f"f{i}", 1000 + i * 100, 1050 + i * 100, "") for i in range(4)]
    only_a = answer([(REFUSAL, [], False)], [P_GOLD_A, *filler, P_GOLD_B], refused=True)
    s = ev.score(MULTI, only_a)
    assert s.retrieval_recall_at_5 == 0.5  # b.txt's evidence is sixth
    assert s.retrieval_mrr == 1.0
    assert ev.score(MULTI, refusal([P_OTHER_A, P_OTHER_B])).retrieval_mrr == 0.0


def test_key_facts_match_across_typography_and_ignore_markers() -> None:
    assert ev.fact_present(
        ["Kremlin's perspective-specifically"], "the Kremlin’s perspective—specifically"
    )
    assert ev.fact_present(["“intransigence”"], 'its "INTRANSIGENCE" [2]')
    assert ev.fact_present(["sanctions relief"], "sanctions [1] relief")
    assert not ev.fact_present(["four regions"], "forty regions")


def test_totals_are_macro_means_over_the_items_each_metric_applies_to() -> None:
    perfect = ev.score(SINGLE, answer([("Sanctions and NATO.", [1], True)], [P_GOLD_A]), 1.0)
    half = ev.score(
        SINGLE,
        answer([("Sanctions.", [1], True), ("And NATO.", [], False)], [P_GOLD_A]),
        3.0,
    )
    refused_right = ev.score(UNANSWERABLE, refusal(), 5.0)
    refused_wrong = ev.score(SINGLE, refusal([P_OTHER_A]), 7.0)
    total = ev.totals([perfect, half, refused_right, refused_wrong])
    assert total["n"] == 4 and total["n_answerable"] == 3 and total["n_answered"] == 2
    assert total["citation_recall"] == 0.75  # (1 + 0.5) / 2 answered answerable
    assert total["citation_precision"] == 1.0
    assert total["answer_accuracy"] == 0.75  # all but refused_wrong
    assert total["refusal_accuracy"] == 0.75
    assert total["retrieval_recall_at_5"] == pytest.approx(2 / 3, abs=1e-4)
    assert total["latency_p50"] == 4.0 and total["latency_p95"] == pytest.approx(6.7)
    assert total["passed"] == 2
    assert set(ev.HEADLINE) <= set(total)


# --- SQuAD scoring -------------------------------------------------------------------


def test_squad_normalisation_is_the_official_one() -> None:
    assert ev.squad_normalise("The  Denver Broncos!") == "denver broncos"
    assert ev.squad_normalise("an apple, a pear") == "apple pear"
    assert ev.squad_exact("Denver Broncos", "the denver broncos.") == 1.0
    assert ev.squad_f1("Denver Broncos", "the Denver Broncos won") == pytest.approx(0.8)
    assert ev.squad_f1("Denver Broncos", "Carolina Panthers") == 0.0
    assert ev.squad_scores([], "") == (1.0, 1.0)  # unanswerable and declined
    assert ev.squad_scores([], "Denver") == (0.0, 0.0)
    assert ev.squad_scores(["Broncos", "Denver Broncos"], "Denver Broncos") == (1.0, 1.0)


def test_squad_items_score_exact_match_f1_and_containment() -> None:
    item = ev.EvalItem(
        id="q1", question="Who won?", answerable=True, category="squad_answerable",
        gold_sources=["a.txt"], evidence=[ev.Evidence("a.txt", 120, 134, "Denver Broncos")],
        key_facts=[["Denver Broncos"]], answers=["Denver Broncos", "Denver Broncos"],
    )  # fmt: skip
    s = ev.score(item, answer([("The Denver Broncos won the game.", [1], True)], [P_GOLD_A]))
    assert s.squad_exact_match == 0.0
    assert s.squad_f1 == pytest.approx(2 * (2 / 4) * 1 / (2 / 4 + 1))
    assert s.squad_answer_recall == 1.0 and s.citation_recall == 1.0
    impossible = ev.EvalItem(id="q2", question="?", answerable=False, category="squad_unanswerable")
    assert ev.score(impossible, refusal()).squad_exact_match == 1.0


# --- suites ---------------------------------------------------------------------------


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
    with pytest.raises(ev.EvalError, match="use seeds, squad2 or the path"):
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


# --- saved runs ---------------------------------------------------------------------


def test_a_saved_run_can_be_rescored_to_the_same_numbers(tmp_path: Path) -> None:
    pairs = [
        (SINGLE, answer([("Sanctions and NATO.", [1], True)], [P_OTHER_A, P_GOLD_A])),
        (MULTI, answer([("Sanctions [1] and four regions.", [1, 2], False)], [P_GOLD_A, P_GOLD_B])),
        (UNANSWERABLE, refusal([P_OTHER_B])),
    ]
    scores = [ev.score(item, a, 1.5) for item, a in pairs]
    run = ev.EvalRun("hand", scores, "2025-01-01T00:00:00", 4.5, {})
    saved = rep.load_results(rep.save_results(run, tmp_path / "results.json"))
    suite = ev.Suite("hand", [item for item, _ in pairs], tmp_path)
    again = ev.rescore(saved, suite)
    assert again.totals == run.totals
    assert [s.to_dict() for s in again.scores] == [s.to_dict() for s in scores]


# --- the command, on real parts -------------------------------------------------------


def test_rag_eval_rejects_an_unknown_suite_in_one_sentence() -> None:
    from typer.testing import CliRunner

    from rag.cli import app

    result = CliRunner().invoke(app, ["eval", "--suite", "nope.jsonl"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: No suite 'nope.jsonl'; use seeds, squad2 or the path of a labelled .jsonl file."
    ]


def test_rag_eval_prints_a_table_writes_a_report_and_json(
    small_llm: tuple[str, str], articles: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from rag.cli import app

    url, model = small_llm
    monkeypatch.setenv("RAG_LLM_BASE_URL", url)
    monkeypatch.setenv("RAG_LLM_MODEL", model)
    monkeypatch.setenv("RAG_LLM_TIMEOUT", "600")  # a busy machine must not force the fallback
    seeds = ev.load_suite("seeds").items
    rows = [
        {
            "id": it.id,
            "question": it.question,
            "answerable": it.answerable,
            "category": it.category,
            "evidence": [{"source": e.source, "quote": e.quote} for e in it.evidence],
            "key_facts": it.key_facts,
        }
        for it in (seeds[0], next(it for it in seeds if not it.answerable))
    ]
    suite = tmp_path / "mine.jsonl"
    suite.write_text("".join(json.dumps(r) + "\n" for r in rows))
    runner = CliRunner()
    args = ["eval", "--suite", str(suite), "--articles", str(articles)]

    result = runner.invoke(app, [*args, "--report", str(tmp_path / "report")])
    assert result.exit_code == 0, result.output
    assert "citation_recall" in result.output and "by category" in result.output
    text = (tmp_path / "report" / "report.md").read_text()
    assert "# Evaluation: mine suite" in text and "## Items (failures first)" in text
    assert (tmp_path / "report" / "metrics.png").read_bytes().startswith(b"\x89PNG")

    result = runner.invoke(app, [*args, "--json", "--limit", "1"])
    assert result.exit_code == 0, result.output
    totals = json.loads(result.output)
    assert list(totals)[: len(ev.HEADLINE)] == list(ev.HEADLINE)
    assert totals["n"] == 1 and totals["suite"] == "mine"
    assert 0.0 <= totals["refusal_accuracy"] <= 1.0
    saved = rep.load_results(rep.latest_results(Settings()))
    assert saved["totals"]["n"] == 1  # the chat page finds the last run


# --- the floors CI holds the product to --------------------------------------------------

FLOORS = REPO / "eval" / "floors.json"


@pytest.mark.slow
def test_the_seed_suite_stays_above_its_floors(
    default_llm: tuple[str, str], tmp_path: Path
) -> None:
    """The fixed CI subset of the seed suite, on the embedded default model (docs/eval.md)."""
    if not FLOORS.exists():
        # Floors come only from a first honest full measurement (issue 6); until one is
        # committed there is nothing to hold the suite to, and inventing numbers would lie.
        pytest.skip("eval/floors.json not measured yet: run `rag eval --report ...` and commit it")
    floors = json.loads(FLOORS.read_text())
    url, model = default_llm
    # A generous timeout: the floors measure quality; a slow CI box must not turn into fallbacks.
    settings = Settings(llm_base_url=url, llm_model=model, llm_timeout=600)
    suite = ev.load_suite("seeds")
    run = ev.run(suite, settings, ev.sample(suite.items, floors["subset"]))
    report = rep.write_report(run, tmp_path / "report")
    total = run.totals
    below = {
        name: (total.get(name), floor)
        for name, floor in floors["floors"].items()
        if total.get(name) is None or total[name] < floor
    }
    assert not below, f"(value, floor) below the floors: {below}; see {report}"
