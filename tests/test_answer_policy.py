"""The answer/refuse rules, driven by scripted model replies (no LLM server needed)."""

from __future__ import annotations

import json
from dataclasses import replace
from functools import partial

import pytest

from rag.answer_policy import (
    JUDGED_NO,
    JUDGED_NO_QUOTE,
    Decision,
    TextDecision,
    decide,
    decide_text,
    off_quote,
    overruled,
    quoted_lead_ins,
    vet_text,
)
from rag.answerability import check_claims
from rag.citations import check
from rag.embeddings import Embedder
from rag.questions import analyse
from rag.retrieval import Passage
from rag.structured import ReplyError, parse
from rag.verifier import Verifier

TALKS = (
    "Russian and Ukrainian delegations met in Istanbul for a second round of talks. "
    "Moscow demanded that Ukraine withdraw from four regions and stay out of NATO. "
    "The talks ended after an hour without a ceasefire."
)
SANCTIONS = (
    "Senator Lindsey Graham's bill would impose tariffs of 500% on countries buying Russian oil. "
    "Eighty senators back the bill, which the White House has not endorsed."
)
PASSAGES = [
    Passage("talks.txt", "t1", 0, len(TALKS), TALKS, title="Talks in Istanbul end quickly"),
    Passage("sanctions.txt", "s1", 0, len(SANCTIONS), SANCTIONS, title="Senate sanctions bill"),
]


def claim(n: int, quote: str, text: str) -> dict[str, object]:
    return {"passage": n, "quote": quote, "text": text}


@pytest.fixture(scope="module")
def verifier(embedder: Embedder) -> Verifier:
    return Verifier(embedder)


def run(question: str, reply: dict[str, object] | str | None, verifier: Verifier) -> Decision:
    """The decision for a scripted reply, through the same parse, checks and rules."""
    shape = analyse(question)
    parsed = None
    if reply is not None:
        text = reply if isinstance(reply, str) else json.dumps(reply)
        try:
            parsed = parse(text, len(PASSAGES), shape.yes_no)
        except ReplyError:
            parsed = None
    claims = [(c.passage, c.quote, c.text) for c in parsed.claims] if parsed else []
    checks = check_claims(shape, claims, PASSAGES, verifier)
    return decide(shape, parsed, checks, PASSAGES)


def test_a_claim_backed_by_its_quote_is_answered(verifier: Verifier) -> None:
    d = run(
        "What did Moscow demand at the Istanbul talks?",
        {"answerable": True, "claims": [claim(1, "Moscow demanded that Ukraine withdraw from four "
                                                 "regions and stay out of NATO",
                                              "Moscow demanded that Ukraine leave four regions "
                                              "and stay out of NATO.")]},
        verifier,
    )  # fmt: skip
    assert d.kind == "answer" and [c.n for c in d.claims] == [1]


def test_a_when_question_without_a_date_in_the_evidence_is_refused(verifier: Verifier) -> None:
    # The model says answerable and quotes a real sentence: it just holds no date.
    d = run(
        "On what date did the Istanbul talks take place?",
        {"answerable": True, "claims": [claim(1, "The talks ended after an hour without a "
                                                 "ceasefire.",
                                              "The talks ended after an hour without a "
                                              "ceasefire.")]},
        verifier,
    )  # fmt: skip
    assert d.refused and "date" in d.reason


def test_a_number_the_quote_does_not_hold_is_never_shown(verifier: Verifier) -> None:
    d = run(
        "How many senators back the sanctions bill?",
        {"answerable": True, "claims": [claim(2, "Eighty senators back the bill",
                                              "Eighty-four senators back the bill.")]},
        verifier,
    )  # fmt: skip
    # The model's wrong figure is not shown; its verbatim quote's sentence (the article's
    # own words, which do state a number) is.
    assert not d.refused
    assert [c.restated for c in d.claims] == [True]
    assert "four" not in d.claims[0].text.lower()
    assert d.claims[0].text.startswith("Eighty senators back the bill")


def test_a_quote_that_is_not_in_the_passage_is_refused(verifier: Verifier) -> None:
    d = run(
        "Who headed the Russian delegation at the Istanbul talks?",
        {"answerable": True, "claims": [claim(1, "The delegation was headed by Vladimir Medinsky.",
                                              "Vladimir Medinsky headed it.")]},
        verifier,
    )  # fmt: skip
    assert d.refused


def test_a_near_miss_on_the_question_s_own_constraint_is_refused(verifier: Verifier) -> None:
    # Same subject, but the question pins a place the passages never mention.
    d = run(
        "What did Moscow demand at the Geneva talks?",
        {"answerable": True, "claims": [claim(1, "Moscow demanded that Ukraine withdraw from four "
                                                 "regions", "Moscow demanded that Ukraine withdraw "
                                                 "from four regions.")]},
        verifier,
    )  # fmt: skip
    assert d.refused and "geneva" in d.reason.lower()


def test_the_model_saying_no_with_no_claims_is_a_refusal(verifier: Verifier) -> None:
    d = run("Who is the president of France?", {"answerable": False, "claims": []}, verifier)
    assert d.refused and d.claims == []


@pytest.mark.parametrize("reply", [None, "The answer is four regions [1].", '{"answer": 1}'])
def test_an_unreadable_reply_is_never_shown(reply: str | None, verifier: Verifier) -> None:
    d = run("What did Moscow demand at the Istanbul talks?", reply, verifier)
    assert d.refused and d.claims == []


def test_only_the_backed_claims_are_kept(verifier: Verifier) -> None:
    d = run(
        "What did Moscow demand at the Istanbul talks?",
        {"answerable": True, "claims": [
            claim(1, "Moscow demanded that Ukraine withdraw from four regions",
                  "Moscow demanded a withdrawal from four regions."),
            claim(2, "Moscow demanded sanctions relief", "Moscow also wanted sanctions lifted."),
        ]},
        verifier,
    )  # fmt: skip
    assert d.kind == "answer" and [c.n for c in d.claims] == [1]


@pytest.mark.parametrize(
    ("question", "verdict", "said", "kept"),
    [
        # A verdict its quote agrees with is kept.
        ("Did the Istanbul talks end with a ceasefire?", "no",
         claim(1, "The talks ended after an hour without a ceasefire",
               "The talks ended without a ceasefire."), "no"),
        # One its own quote contradicts is dropped; the claim stays.
        ("Has the White House endorsed the sanctions bill?", "yes",
         claim(2, "which the White House has not endorsed",
               "The White House has not endorsed the bill."), None),
    ],
)  # fmt: skip
def test_a_yes_no_verdict_is_held_to_its_quote(
    question: str, verdict: str, said: dict[str, object], kept: str | None, verifier: Verifier
) -> None:
    d = run(question, {"answerable": True, "verdict": verdict, "claims": [said]}, verifier)
    assert d.kind == "answer" and d.verdict == kept and [c.n for c in d.claims] == [said["passage"]]


def test_a_verbatim_quote_stands_in_for_a_claim_it_does_not_back(verifier: Verifier) -> None:
    # The small model copies the right sentence and then words its claim from elsewhere:
    # the answer is the quote's sentence, in the article's words, never the wrong claim.
    d = run(
        "What did Moscow demand at the Istanbul talks?",
        {"answerable": True, "claims": [claim(1, "Moscow demanded that Ukraine withdraw from four "
                                                 "regions",
                                              "Moscow demanded tariffs of 500% on Russian oil.")]},
        verifier,
    )  # fmt: skip
    assert d.kind == "answer" and len(d.claims) == 1
    shown = d.claims[0]
    assert shown.restated and "500" not in shown.text
    assert shown.text == (
        "Moscow demanded that Ukraine withdraw from four regions and stay out of NATO."
    )


def test_a_loosely_matched_quote_does_not_stand_in_for_its_claim(verifier: Verifier) -> None:
    d = run(
        "What did Moscow demand at the Istanbul talks?",
        {"answerable": True, "claims": [claim(1, "Moscow demanded Ukraine withdraw from four "
                                                 "regions, stay out of NATO",
                                              "Moscow demanded tariffs of 500% on Russian oil.")]},
        verifier,
    )  # fmt: skip
    assert d.refused


# --- free-text answers (RAG_ANSWER_MODE=text): vet_text over checked citations ------------


def article(text: str, title: str) -> list[Passage]:
    """An article of one passage."""
    return [Passage(f"{title.lower().replace(' ', '-')}.txt", "a1", 0, len(text), text, title=title)]


def vetted(
    question: str, answer: str, verifier: Verifier, passages: list[Passage] = PASSAGES
) -> str:
    """Why ``vet_text`` refuses the scripted free-text ``answer`` ("" when it answers)."""
    checked = check(answer, passages, verifier, question=question)
    return vet_text(analyse(question), checked.sentences, checked.citations, passages)


def test_a_supported_text_answer_to_the_question_stands(verifier: Verifier) -> None:
    assert vetted(
        "What did Moscow demand at the Istanbul talks?",
        "Moscow demanded that Ukraine withdraw from four regions and stay out of NATO [1].",
        verifier,
    ) == ""


def test_a_when_question_answered_without_a_date_is_refused(verifier: Verifier) -> None:
    # The issue's own case: a real, supported sentence that does not say when.
    why = vetted(
        "On what date did the Istanbul talks take place?",
        "Russian and Ukrainian delegations met in Istanbul for a second round of talks [1].",
        verifier,
    )
    assert "date" in why


def test_a_text_answer_missing_the_questions_constraint_is_refused(verifier: Verifier) -> None:
    # A near miss: the passage is about the bill, but says nothing of 2019.
    why = vetted(
        "How many senators backed the sanctions bill in 2019?",
        "Eighty senators back the bill [2].",
        verifier,
    )
    assert "2019" in why


def test_an_answer_dated_to_another_year_than_the_questions_is_refused(
    verifier: Verifier,
) -> None:
    # SQuAD 2.0's swap: the passage holds 2005, but not in the sentence the answer quotes.
    text = (
        "In 1995 the factory was purchased by the car maker Daewoo. "
        "In 2005 the factory was sold to AvtoZAZ, a Ukrainian car maker."
    )
    passages = article(text, "The FSO factory")
    why = partial(vetted, verifier=verifier, passages=passages)

    swapped = why(
        "Which car maker purchased the factory in 2005?",
        "The car maker Daewoo purchased the factory in 2005 [1].",
    )
    assert swapped == "The question asks about 2005, and the quoted evidence about 1995."
    assert why(
        "Which car maker purchased the factory in 2005?",
        "The factory was sold to AvtoZAZ, a Ukrainian car maker, in 2005 [1].",
    ) == ""
    assert why(
        "Which car maker purchased the factory in 1995?",
        "The factory was purchased by the car maker Daewoo in 1995 [1].",
    ) == ""


def test_a_negated_question_needs_negated_evidence(verifier: Verifier) -> None:
    why = vetted(
        "What did Moscow not demand at the Istanbul talks?",
        "Moscow demanded that Ukraine withdraw from four regions [1].",
        verifier,
    )
    assert "'not'" in why
    assert (
        vetted(
            "Which bill has the White House not endorsed?",
            "The White House has not endorsed Senator Lindsey Graham's sanctions bill [2].",
            verifier,
        )
        == ""
    )


def test_a_who_question_needs_its_role_named_in_the_evidence(verifier: Verifier) -> None:
    # The sentence is real and names a person; it never calls him the bill's author.
    why = vetted(
        "Who is the author of the sanctions bill?",
        "The author of the sanctions bill is Senator Lindsey Graham [2].",
        verifier,
    )
    assert "author" in why
    # Named as what the question asks, it stands.
    assert vetted(
        "Who is the senator behind the sanctions bill?",
        "Senator Lindsey Graham is behind the sanctions bill [2].",
        verifier,
    ) == ""
    # An office is someone's: a senator is not the White House's spokesman.
    why = vetted(
        "What did the White House's spokesman say about the bill?",
        "The White House has not endorsed the bill [2].",
        verifier,
    )
    assert "about the White House's spokesman," in why


def test_the_wrong_item_of_a_list_is_refused_naming_the_right_one(verifier: Verifier) -> None:
    listed = (
        "Countermeasures that Western governments could consider include:\n"
        "- Expanding targeted sanctions against key Russian oligarchs and industries\n"
        "- Increasing investment in cyber defense to counter hybrid warfare tactics"
    )
    passages = article(listed, "Policy options")
    question = "What cyber-related countermeasure is suggested for Western governments?"

    def why(answer: str) -> str:
        return vetted(question, answer, verifier, passages)

    sanctions = "Expanding targeted sanctions against key Russian oligarchs and industries [1]."
    wrong = why(sanctions)
    assert "Another item" in wrong and "cyber defense" in wrong
    # On the free-text path the item that fits is quoted instead, cited to its passage.
    d = decided(question, sanctions, verifier, passages)
    assert d.kind == "quote" and "directly" in d.reason
    assert d.text == "Increasing investment in cyber defense to counter hybrid warfare tactics [1]."
    right = "Increasing investment in cyber defense to counter hybrid warfare tactics [1]."
    assert why(right) == ""


def test_who_else_is_not_answered_by_the_name_set_aside(verifier: Verifier) -> None:
    question = "Who else, besides Lindsey Graham, backs the sanctions bill?"
    why = vetted(question, "Senator Lindsey Graham's bill would impose tariffs [2].", verifier)
    assert "sets aside ('besides Lindsey Graham')" in why
    d = run(
        question,
        {"answerable": True, "claims": [claim(2, "Eighty senators back the bill",
                                              "Senator Lindsey Graham backs the bill.")]},
        verifier,
    )  # fmt: skip
    assert d.refused and "besides Lindsey Graham" in d.reason


def test_an_unsupported_text_answer_is_left_to_the_caller(verifier: Verifier) -> None:
    assert vetted("Who is the mayor?", "The mayor is Jane Doe [1].", verifier) == ""


def decided(
    question: str, raw: str, verifier: Verifier, passages: list[Passage] = PASSAGES
) -> TextDecision:
    checked = check(raw, passages, verifier, question=question) if raw else None
    return decide_text(analyse(question), raw, checked, passages)


def test_the_free_text_rules_in_order(verifier: Verifier) -> None:
    assert decided("Who?", "", verifier).kind == "quote"  # an empty reply
    own = decided("Who is the mayor?", "The articles do not mention the mayor.", verifier)
    assert own.refused and own.text == "The articles do not mention the mayor."
    outside = decided("Who is the mayor?", "The mayor is Jane Doe.", verifier)
    assert outside.refused and outside.notice and "not in the passages" in outside.reason
    assert decided("Where did they meet?", "They talked for a while.", verifier).kind == "quote"
    near = decided(
        "On what date did the Istanbul talks take place?",
        "Russian and Ukrainian delegations met in Istanbul for a second round of talks [1].",
        verifier,
    )
    assert near.refused and "date" in near.reason
    good = decided(
        "What did Moscow demand at the Istanbul talks?",
        "Moscow demanded that Ukraine withdraw from four regions and stay out of NATO [1].",
        verifier,
    )
    assert good.kind == "answer"
    # The question's own names restated are not facts from elsewhere: "Jane Doe" is.
    restated = decided("What did the Mayor say?", "The Mayor said nothing.", verifier)
    assert restated.kind == "quote"
    assert decided("What did the Mayor say?", "Mayor Jane Doe said no.", verifier).refused


def test_the_evidence_may_word_the_questions_terms_its_own_way(verifier: Verifier) -> None:
    text = (
        "Following the death of Braddock, William Shirley assumed command of British forces "
        "in North America. Montcalm focused his resources on the defense of the St. Lawrence. "
        "The world's economy grew in the decades before World War I."
    )
    passages = article(text, "The war in America")
    why = partial(vetted, verifier=verifier, passages=passages)

    # "following the death of" says "after"; "World War I" holds the question's "1"; a
    # name misspelt by one letter ("Moncalm") is still the passage's.
    assert why(
        "After Braddock died, who controlled the British forces in North America?",
        "William Shirley assumed command of British forces in North America [1].",
    ) == ""
    assert why(
        "How did the economy change before World War 1?",
        "The world's economy grew in the decades before World War I [1].",
    ) == ""
    assert why(
        "What did Moncalm focus his resources on?",
        "Montcalm focused his resources on the defense of the St. Lawrence [1].",
    ) == ""
    # ... but "before" is not "after", and another name is not a misspelling.
    assert "'before'" in why(
        "Before Braddock died, who controlled the British forces in North America?",
        "William Shirley assumed command of British forces in North America [1].",
    )
    assert "montgomeri" in why(
        "What did Montgomery focus his resources on?",
        "Montcalm focused his resources on the defense of the St. Lawrence [1].",
    ).lower()


def test_a_near_miss_about_several_articles_gives_way_to_a_quote_of_each(
    verifier: Verifier,
) -> None:
    """The same near miss refuses a question about one article; about several, each
    article's nearest sentence is quoted instead (and vetted by the same rules)."""
    raw = "Russian and Ukrainian delegations met in Istanbul for a second round of talks [1]."
    one = decided("On what date did the Istanbul talks take place?", raw, verifier)
    both = decided("On what date did the Istanbul talks take place, in both articles?", raw, verifier)
    assert one.refused and "date" in one.reason
    assert both.kind == "quote" and both.reason == one.reason


def test_the_articles_date_and_outlet_back_a_sentence_that_states_them(
    verifier: Verifier,
) -> None:
    # The prompt gives each article's date and outlet; an answer saying "as of" that date
    # or naming the outlet states nothing from outside the passages.
    dated = [replace(PASSAGES[1], published="2025-06-13", outlet="Harbour Gazette")]
    q = "How many senators back the sanctions bill?"
    for raw in (
        "Eighty senators back the bill, as of 2025-06-13 [1].",
        "As of 13 June 2025, eighty senators back the bill, the Harbour Gazette reported [1].",
    ):
        checked = check(raw, dated, verifier, question=q)
        assert decide_text(analyse(q), raw, checked, dated).kind == "answer", raw


def test_a_free_text_yes_its_cited_sentence_contradicts_is_dropped(verifier: Verifier) -> None:
    from rag.answer_text import reverdict
    from rag.verdicts import drop_verdict

    question = "Has the White House endorsed the sanctions bill?"
    raw = "Yes, eighty senators back the bill, which the White House has not endorsed [2]."
    checked = check(raw, PASSAGES, verifier, question=question)
    kept = drop_verdict(raw)
    assert reverdict(question, raw, checked, PASSAGES) == kept  # the verdict is dropped
    assert kept.startswith("Eighty senators back the bill")
    assert decided(question, kept, verifier).kind == "answer"
    right = "No, the White House has not endorsed the bill [2]."
    checked = check(right, PASSAGES, verifier, question=question)
    assert reverdict(question, right, checked, PASSAGES) is None


def test_a_yes_the_cited_passage_answers_no_to_is_turned_round(verifier: Verifier) -> None:
    from rag.answer_text import reverdict

    text = (
        "In private comments reported by CNN, Trump described Putin as having gone crazy. "
        "The White House has not officially confirmed these remarks."
    )
    ps = [Passage("cnn.txt", "c1", 0, len(text), text, title="Trump on Putin")]
    question = "Have Trump's private comments about Putin been confirmed?"
    # The quote (the CNN sentence) says nothing about confirming; the passage's sentence
    # holding the question's "confirmed" says no.
    raw = "Yes, Trump described Putin as having gone crazy in comments reported by CNN [1]."
    checked = check(raw, ps, verifier, question=question)
    assert "CNN" in checked.citations[0].quoted
    amended = reverdict(question, raw, checked, ps)
    assert amended == "No. The White House has not officially confirmed these remarks [1]."
    assert decided(question, amended, verifier, ps).kind == "answer"
    right = "No, the White House has not officially confirmed these remarks [1]."
    assert reverdict(question, right, check(right, ps, verifier, question=question), ps) is None


def test_a_quote_about_something_else_than_the_question_is_no_answer() -> None:
    # A quote is the product's guess, not the model's answer: its own sentences must be
    # about the question, not only the passage they come from.
    q = analyse("Who headed the Russian delegation at the Istanbul talks?")
    off = "Trump has until now been cautious about criticising President Vladimir Putin."
    assert "something other" in off_quote(q, [off])
    on = "The Russian delegation at the talks in Istanbul was headed by Vladimir Medinsky."
    assert off_quote(q, [on]) == ""
    # A third of the question's words is enough: the quote may word the rest its own way.
    assert off_quote(q, ["Vladimir Medinsky led Moscow's negotiators in Istanbul's talks."]) == ""


def test_a_quoted_list_item_is_read_with_its_lead_in() -> None:
    # "cyber" is in the item, the rest of the question in the line introducing the list.
    q = analyse("What cyber-related countermeasure is suggested for Western governments?")
    text = (
        "Countermeasures that Western governments could consider include:\n"
        "- Expanding targeted sanctions on Russian financial institutions\n"
        "- Increasing investment in cyber defense to counter hybrid warfare tactics"
    )
    item = "Increasing investment in cyber defense to counter hybrid warfare tactics"
    assert "something other" in off_quote(q, [item])
    leads = quoted_lead_ins([(1, "- " + item)], article(text, "Countermeasures"))
    assert leads == ["Countermeasures that Western governments could consider include:"]
    assert off_quote(q, [item, *leads]) == ""
    # A citation of no given passage has no lead-in.
    assert quoted_lead_ins([(2, "- " + item)], article(text, "Countermeasures")) == []


@pytest.mark.parametrize(
    ("question", "stated", "refused"),
    [
        ("Who led the Russian delegation?", False, True),
        ("Who led the Russian delegation?", True, False),
        ("Who led the Russian delegation?", None, False),  # no verdict: the checks stand
        ("Do the two articles agree on the sanctions bill?", False, False),  # several
        ("Has the White House endorsed the bill?", False, False),  # yes/no: by inference
        ("How have the peace talks developed?", False, False),  # a timeline: dated sentences
    ],
)
def test_the_models_own_no_overrules_only_single_fact_answers(
    question: str, stated: bool | None, refused: bool
) -> None:
    assert bool(overruled(analyse(question), stated)) is refused


def test_a_refused_quote_is_not_called_the_models_answer() -> None:
    q = analyse("Who led the Russian delegation?")
    assert overruled(q, False) == JUDGED_NO and "model's answer" in JUDGED_NO
    assert overruled(q, False, quote=True) == JUDGED_NO_QUOTE
    assert "model's answer" not in JUDGED_NO_QUOTE
