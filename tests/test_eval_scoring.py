"""One answer judged against its labelled item: hand-made answers with known scores."""

from __future__ import annotations

import pytest
from eval_items import (
    MULTI,
    P_GOLD_A,
    P_GOLD_B,
    P_OTHER_A,
    P_OTHER_B,
    REFUSAL,
    SINGLE,
    UNANSWERABLE,
    answer,
    refusal,
)

from rag import eval_metrics as metrics
from rag import eval_scoring as sc
from rag.eval_suite import EvalItem, Evidence
from rag.retrieval import Passage

# --- the seed-set metrics on hand-made answers ----------------------------------------


def test_a_perfect_answer_scores_one_everywhere() -> None:
    a = answer([("Officials cited sanctions and NATO expansion.", [1], True)], [P_GOLD_A])
    s = sc.score(SINGLE, a, latency=2.0)
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
    s = sc.score(SINGLE, a)
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
    s = sc.score(SINGLE, a)
    assert s.citation_recall == 0.5
    assert s.citation_precision == 1.0
    assert s.verifier_recall == 0.5
    assert s.sentence_agreement == (2, 2)  # the verifier saw the missing citation too
    assert s.answer_correct and not s.passed


def test_an_uncited_answer_scores_zero_precision() -> None:
    a = answer([("Officials cited sanctions and NATO expansion.", [], False)], [P_GOLD_A])
    s = sc.score(SINGLE, a)
    assert s.citation_recall == 0.0 and s.citation_precision == 0.0
    assert s.source_precision == 0.0 and s.source_recall == 0.0


def test_a_missing_key_fact_makes_the_answer_wrong() -> None:
    a = answer([("Officials cited sanctions.", [1], True)], [P_GOLD_A])
    s = sc.score(SINGLE, a)
    assert s.facts_found == [True, False]
    assert not s.answer_correct
    assert s.citation_recall == 1.0  # what it says is cited right


def test_refusing_an_answerable_question_is_a_wrong_refusal() -> None:
    s = sc.score(SINGLE, refusal([P_GOLD_A]))
    assert not s.refusal_correct and not s.answer_correct
    assert s.citation_recall is None and s.source_recall is None  # nothing to judge
    assert s.retrieval_recall_at_5 == 1.0  # retrieval found it; the answer step refused
    total = metrics.totals([s])
    assert total["answered_rate"] == 0.0 and total["refusal_accuracy"] == 0.0


def test_answering_an_unanswerable_question_is_an_over_answer() -> None:
    a = answer([("The Pope welcomed the plan.", [1], False)], [P_OTHER_A])
    s = sc.score(UNANSWERABLE, a)
    assert not s.refusal_correct and not s.answer_correct
    assert s.citation_recall is None and s.retrieval_recall_at_5 is None
    assert metrics.totals([s])["refusal_recall"] == 0.0


def test_refusing_an_unanswerable_question_is_right_only_without_citations() -> None:
    assert sc.score(UNANSWERABLE, refusal([P_OTHER_A])).passed
    cited = answer([(REFUSAL, [1], False)], [P_OTHER_A], refused=True)
    s = sc.score(UNANSWERABLE, cited)
    assert s.refusal_correct and not s.answer_correct


def test_multi_source_sentences_need_each_fact_from_its_own_file() -> None:
    both = answer(
        [("Russia wants sanctions lifted [1] and four regions.", [1, 2], True)],
        [P_GOLD_A, P_GOLD_B],
    )
    s = sc.score(MULTI, both)
    assert s.citation_recall == s.citation_precision == 1.0  # each citation is needed
    assert s.source_recall == 1.0 and s.retrieval_recall_at_5 == 1.0

    one_file = answer(
        [("Russia wants sanctions lifted and four regions.", [1], True)], [P_GOLD_A, P_GOLD_B]
    )
    s = sc.score(MULTI, one_file)
    assert s.citation_recall == 0.0 and s.citation_precision == 0.0
    assert s.source_recall == 0.5 and s.source_precision == 1.0
    assert s.sentence_agreement == (0, 1)


def test_a_redundant_citation_is_imprecise() -> None:
    # [1] holds the fact; [2] neither holds it nor is needed (ALCE's over-citation).
    a = answer([("Officials cited sanctions and NATO.", [1, 2], True)], [P_GOLD_A, P_OTHER_B])
    s = sc.score(SINGLE, a)
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
    s = sc.score(SINGLE, a)
    assert [j.supported for j in s.sentences] == [True, True, False]
    assert s.citation_recall == pytest.approx(2 / 3)
    assert s.citation_precision == pytest.approx(2 / 3)


def test_a_verbatim_quote_of_the_cited_passage_is_supported_off_the_gold_spans() -> None:
    outside = Passage(
        "a.txt", "a-3", 700, 800, "Earlier, the talks in Geneva “stalled again” on Monday."
    )
    quote = answer([("The talks in Geneva “stalled again” on Monday.", [1], True)], [outside])
    assert sc.score(SINGLE, quote).citation_recall == 1.0
    short = answer([("Talks “stalled again”.", [1], True)], [outside])  # under five words
    assert sc.score(SINGLE, short).citation_recall == 0.0
    altered = answer([("The talks in Geneva collapsed on Monday.", [1], True)], [outside])
    assert sc.score(SINGLE, altered).citation_recall == 0.0


def test_retrieval_recall_counts_key_facts_found_in_the_top_five() -> None:
    filler = [Passage("a.txt", f"f{i}", 1000 + i * 100, 1050 + i * 100, "") for i in range(4)]
    only_a = answer([(REFUSAL, [], False)], [P_GOLD_A, *filler, P_GOLD_B], refused=True)
    s = sc.score(MULTI, only_a)
    assert s.retrieval_recall_at_5 == 0.5  # b.txt's evidence is sixth
    assert s.retrieval_mrr == 1.0
    assert sc.score(MULTI, refusal([P_OTHER_A, P_OTHER_B])).retrieval_mrr == 0.0


def test_key_facts_match_across_typography_and_ignore_markers() -> None:
    assert sc.fact_present(
        ["Kremlin's perspective-specifically"], "the Kremlin’s perspective—specifically"
    )
    assert sc.fact_present(["“intransigence”"], 'its "INTRANSIGENCE" [2]')
    assert sc.fact_present(["sanctions relief"], "sanctions [1] relief")
    assert not sc.fact_present(["four regions"], "forty regions")


# --- SQuAD scoring -------------------------------------------------------------------


def test_squad_normalisation_is_the_official_one() -> None:
    assert sc.squad_normalise("The  Denver Broncos!") == "denver broncos"
    assert sc.squad_normalise("an apple, a pear") == "apple pear"
    assert sc.squad_exact("Denver Broncos", "the denver broncos.") == 1.0
    assert sc.squad_f1("Denver Broncos", "the Denver Broncos won") == pytest.approx(0.8)
    assert sc.squad_f1("Denver Broncos", "Carolina Panthers") == 0.0
    assert sc.squad_scores([], "") == (1.0, 1.0)  # unanswerable and declined
    assert sc.squad_scores([], "Denver") == (0.0, 0.0)
    assert sc.squad_scores(["Broncos", "Denver Broncos"], "Denver Broncos") == (1.0, 1.0)


def test_squad_items_score_exact_match_f1_and_containment() -> None:
    item = EvalItem(
        id="q1", question="Who won?", answerable=True, category="squad_answerable",
        gold_sources=["a.txt"], evidence=[Evidence("a.txt", 120, 134, "Denver Broncos")],
        key_facts=[["Denver Broncos"]], answers=["Denver Broncos", "Denver Broncos"],
    )  # fmt: skip
    s = sc.score(item, answer([("The Denver Broncos won the game.", [1], True)], [P_GOLD_A]))
    assert s.squad_exact_match == 0.0
    assert s.squad_f1 == pytest.approx(2 * (2 / 4) * 1 / (2 / 4 + 1))
    assert s.squad_answer_recall == 1.0 and s.citation_recall == 1.0
    impossible = EvalItem(id="q2", question="?", answerable=False, category="squad_unanswerable")
    assert sc.score(impossible, refusal()).squad_exact_match == 1.0
