"""Citation processing on hand-written answers against real passages from a real store.

The passages come from the seed articles indexed in a real Chroma store with the
real embedding model; the answers are written by hand so each rule (map, drop,
verify, re-cite, attach, flag) is exercised on a known case.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from rag import indexer
from rag.citations import check
from rag.config import Settings
from rag.embeddings import Embedder
from rag.markers import parse_markers, split_answer, strip_markers, with_markers
from rag.retrieval import Passage, Retriever
from rag.text import names, numbers
from rag.verifier import Verifier

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
QUESTION = "Why did Kremlin officials reject Trump's peace plan?"
REJECTION = "Kremlin officials have publicly rebuffed the plan, citing unresolved issues related to sanctions and NATO expansion."
HEADLINE = "President Vladimir Putin remains steadfast in rejecting former U.S. President Donald Trump’s latest peace plan"
DRONES = "Ukraine continues to strike deep into Russian territory using long-range drones"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Settings:
    root = tmp_path_factory.mktemp("citations")
    articles = root / "articles"
    shutil.copytree(SEEDS, articles)
    s = Settings(home=root / "home", articles_dir=articles)
    indexer.run(s, embedder=embedder)
    return s


@pytest.fixture(scope="module")
def passages(store: Settings, embedder: Embedder) -> list[Passage]:
    """Five different real passages, among them ones holding the phrases the tests quote."""
    retriever = Retriever(store, embedder=embedder)
    needed = ("sanctions and NATO expansion", DRONES)
    found = retriever.search(QUESTION, k=5)
    for phrase in needed:
        if not any(phrase in p.text for p in found):
            extra = next(p for p in retriever.search(phrase, k=5) if phrase in p.text)
            spare = max(i for i, p in enumerate(found) if not any(x in p.text for x in needed))
            found[spare] = extra
    assert len(found) == 5 and len({p.chunk_id for p in found}) == 5
    return found


@pytest.fixture(scope="module")
def verifier(embedder: Embedder) -> Verifier:
    return Verifier(embedder)


def holding(passages: list[Passage], phrase: str) -> int:
    """The 1-based number of the first passage whose text holds ``phrase``."""
    for n, p in enumerate(passages, 1):
        if phrase in p.text:
            return n
    pytest.fail(f"no retrieved passage holds {phrase!r}")


def lacking(passages: list[Passage], phrase: str) -> int:
    for n, p in enumerate(passages, 1):
        if phrase not in p.text:
            return n
    pytest.fail(f"every passage holds {phrase!r}")


def file_text(store: Settings, source: str) -> str:
    return (store.articles_dir / source).read_text(encoding="utf-8")


def test_citation_maps_to_the_file_and_offsets_of_its_passage(
    store: Settings, passages: list[Passage], verifier: Verifier
) -> None:
    n = holding(passages, "sanctions and NATO expansion")
    answer = f"Kremlin officials rejected the plan over sanctions and NATO expansion [{n}]."
    out = check(answer, passages, verifier)

    assert out.answer == answer
    [c] = out.citations
    p = passages[n - 1]
    assert (c.n, c.source, c.chunk_id, c.start, c.end) == (n, p.source, p.chunk_id, p.start, p.end)
    text = file_text(store, c.source)
    assert text[c.start : c.end] == c.text == p.text
    assert c.supported and c.score >= verifier.threshold
    quote = text[c.quote_start : c.quote_end]
    assert c.start <= c.quote_start < c.quote_end <= c.end
    assert "sanctions and NATO expansion" in quote
    assert out.sentences[0].supported and out.sentences[0].citations == [n]


def test_every_sentence_an_answer_rests_on_is_kept_for_the_judge(
    passages: list[Passage], verifier: Verifier
) -> None:
    """Two answer sentences citing one passage through two of its sentences: the citation
    shows one quote, but ``rested`` keeps both (the model, asked apart, sees both)."""
    n = holding(passages, "sanctions and NATO expansion")
    assert "broader leverage" in passages[n - 1].text
    answer = (
        f"Kremlin officials rebuffed the plan, citing sanctions and NATO expansion [{n}]. "
        f"Putin's reluctance signals a desire for broader leverage in negotiations [{n}]."
    )
    out = check(answer, passages, verifier)
    assert len(out.citations) == 1 and [m for m, _ in out.rested] == [n, n]
    first, second = (quote for _, quote in out.rested)
    assert "sanctions and NATO expansion" in first and "broader leverage" in second
    assert out.citations[0].quoted in (first, second)


def test_out_of_range_numbers_are_dropped(passages: list[Passage], verifier: Verifier) -> None:
    n = holding(passages, "sanctions and NATO expansion")
    answer = f"Kremlin officials rejected the plan over sanctions and NATO expansion [{n}][7]. It was a wishlist [0]."
    out = check(answer, passages, verifier)

    assert out.dropped == [0, 7]
    assert "[7]" not in out.answer and "[0]" not in out.answer
    assert {c.n for c in out.citations} <= set(range(1, len(passages) + 1))
    assert parse_markers(out.answer) == [c.n for c in out.citations]


def test_a_citation_beside_one_that_backs_the_sentence_and_itself_does_not_is_dropped(
    passages: list[Passage], verifier: Verifier
) -> None:
    n, other = holding(passages, "sanctions and NATO expansion"), holding(passages, DRONES)
    assert n != other
    answer = (
        f"Kremlin officials rejected the plan over sanctions and NATO expansion [{other}][{n}]."
    )
    out = check(answer, passages, verifier)

    [sentence] = out.sentences
    assert sentence.supported and sentence.citations == [n]
    assert out.answer.endswith(f"expansion [{n}].")
    assert [(c.n, c.supported) for c in out.citations] == [(n, True)]


def test_unsupported_sentence_is_flagged_and_keeps_its_marker(
    passages: list[Passage], verifier: Verifier
) -> None:
    n = holding(passages, "sanctions and NATO expansion")
    answer = (
        f"Kremlin officials rejected the plan over sanctions and NATO expansion [{n}]. "
        f"Putin promised to hand Crimea back to Ukraine by 2031 [{n}]."
    )
    out = check(answer, passages, verifier)

    first, second = out.sentences
    assert first.supported
    assert not second.supported and second.citations == [n]
    [c] = out.citations
    assert not c.supported, "one unsupported use makes the citation unsupported"
    assert out.citable


def test_wrong_number_in_an_otherwise_matching_claim_is_unsupported(
    passages: list[Passage], verifier: Verifier
) -> None:
    n = holding(passages, "sanctions and NATO expansion")
    support = verifier.support(
        "Kremlin officials rebuffed the plan over 14 issues related to sanctions and NATO expansion.",
        passages[n - 1].text,
    )
    assert support.missing_numbers == ("14",)
    assert not verifier.supports(support)


def test_right_claim_cited_to_the_wrong_passage_is_recited(
    passages: list[Passage], verifier: Verifier
) -> None:
    right = holding(passages, "sanctions and NATO expansion")
    wrong = lacking(passages, "sanctions and NATO expansion")
    out = check(f"{REJECTION[:-1]} [{wrong}].", passages, verifier)

    assert out.recited == 1
    [c] = out.citations
    assert "sanctions and NATO expansion" in c.text and c.supported
    assert c.n == right or "sanctions and NATO expansion" in passages[c.n - 1].text
    assert f"[{c.n}]" in out.answer and f"[{wrong}]" not in out.answer


def test_a_sentence_restating_the_headline_is_cited_where_the_text_says_it(
    store: Settings, embedder: Embedder, verifier: Verifier
) -> None:
    # Every passage of an article shares its title, and the title's words count as
    # support: the model cited the lead sentence (which restates the headline) to the
    # article's table passage, and the table was badged as supporting it. The citation
    # moves to the passage of the same article whose text says it.
    retriever = Retriever(store, embedder=embedder)
    lead = next(p for p in retriever.search(HEADLINE, k=5) if HEADLINE in p.text)
    table = next(
        p
        for p in retriever.search("Military Presence Political Autonomy table", k=10)
        if p.source == lead.source and "Military Presence" in p.text and HEADLINE not in p.text
    )
    other = next(p for p in retriever.search(DRONES, k=5) if p.source != lead.source)
    article = [lead, other, table]
    out = check(f"{HEADLINE} [3].", article, verifier)
    assert out.sentences[0].citations == [1] and out.sentences[0].supported
    assert out.recited == 1 and [c.n for c in out.citations] == [1]


def test_uncited_supported_sentence_gets_a_citation_post_hoc(
    passages: list[Passage], verifier: Verifier
) -> None:
    n = holding(passages, DRONES)
    out = check(f"{DRONES}. Nothing else.", passages, verifier)

    assert out.attached == 1
    first = out.sentences[0]
    assert first.supported and len(first.citations) == 1
    assert DRONES in passages[first.citations[0] - 1].text
    assert out.answer.startswith(f"{DRONES} [{first.citations[0]}].")
    assert n in range(1, len(passages) + 1)
    assert out.sentences[1].citations == [], "a sentence with nothing to check stays uncited"


def test_claim_joining_two_passages_cites_both(passages: list[Passage], verifier: Verifier) -> None:
    a, b = holding(passages, "sanctions and NATO expansion"), holding(passages, DRONES)
    assert a != b
    claim = (
        "Kremlin officials rebuffed the plan over sanctions and NATO expansion, while Ukraine "
        "continues to strike deep into Russian territory using long-range drones."
    )
    out = check(claim, passages, verifier)
    [sentence] = out.sentences
    assert sentence.supported and sentence.citations == sorted([a, b])
    assert out.answer.endswith(f"drones [{min(a, b)}][{max(a, b)}].")


def test_no_attachment_when_disabled(passages: list[Passage], verifier: Verifier) -> None:
    out = check(f"{DRONES}.", passages, verifier, attach=False)
    assert out.citations == [] and out.attached == 0 and not out.citable


def test_marker_after_the_full_stop_belongs_to_its_sentence(
    passages: list[Passage], verifier: Verifier
) -> None:
    n = holding(passages, "sanctions and NATO expansion")
    out = check(f"{REJECTION} [{n}] Talks stalled.", passages, verifier)
    assert out.sentences[0].citations == [n]
    assert out.answer.startswith(f"{REJECTION[:-1]} [{n}]. ")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a [1] b [2, 3] c [Passage 4][5]", [1, 2, 3, 4, 5]),
        ("no markers (2024) here [x]", []),
        ("[source 2; 3]", [2, 3]),
    ],
)
def test_parse_markers(text: str, expected: list[int]) -> None:
    assert parse_markers(text) == expected
    assert parse_markers(strip_markers(text)) == []


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ('The passage in [1] states: "The talks stalled."', 'The passage states: "The talks stalled [1]."'),
        ("As stated in passage [2], the talks stalled.", "As stated, the talks stalled [1]."),
        ("According to [3], the talks stalled.", "The talks stalled [1]."),
        ("In [2], the talks stalled.", "The talks stalled [1]."),
        # "in" before a name, not a marker, stays
        ("The talks were held in Istanbul [2].", "The talks were held in Istanbul [1]."),
    ],
)
def test_a_marker_used_as_a_noun_takes_its_pointing_words_with_it(raw: str, shown: str) -> None:
    """"The passage in [1] states" must not read "The passage in states" once the
    marker moves to the end of the sentence."""
    assert with_markers(raw, [1]) == shown
    assert strip_markers(raw) == re.sub(r" \[1\]", "", shown)


def test_numbers_and_names() -> None:
    assert numbers("It cost 1,200 dollars in 2024 and four lives.") == {"1200", "2024", "4"}
    assert {"istanbul", "trump"} <= names("Talks were held in Istanbul. Then Trump spoke.")
    assert "talks" not in names("Talks were held in Istanbul.")


@hsettings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    marks=st.lists(st.integers(min_value=0, max_value=12), min_size=0, max_size=6),
    cut=st.integers(min_value=0, max_value=3),
)
def test_every_shown_marker_is_a_checked_citation(
    passages: list[Passage], verifier: Verifier, marks: list[int], cut: int
) -> None:
    """Whatever numbers the model writes, the answer shows only [n] with a Citation n."""
    sentences = [REJECTION, f"{DRONES}.", "The talks were held in Istanbul.", "It rained."][
        cut:
    ] or ["Nothing."]
    text = " ".join(
        f"{s[:-1]} [{marks[i % len(marks)]}]." if marks else s for i, s in enumerate(sentences)
    )
    out = check(text, passages, verifier)
    shown = parse_markers(out.answer)
    assert set(shown) == {c.n for c in out.citations}
    assert all(1 <= n <= len(passages) for n in shown)
    assert [s.citations for s in out.sentences] == [
        parse_markers(p.raw) for p in split_answer(out.answer)
    ]
    for c in out.citations:
        assert passages[c.n - 1].chunk_id == c.chunk_id
    assert not re.search(r"\[\d+\]", strip_markers(out.answer))


def test_names_match_across_letters_with_and_without_diacritics() -> None:
    from rag.text import all_words, held_name, names

    held = all_words("Bolesław II of Masovia met Recep Tayyip Erdoğan in Płock.")
    for name in names("x Boleslaw met Erdogan in Plock"):
        assert held_name(name, held), name


def test_an_abbreviation_with_full_stops_is_the_same_name_without() -> None:
    from rag.questions import analyse
    from rag.text import all_words, held_name, names, unsourced

    assert names("Why did the US expand westward?") == {"us"}
    assert held_name("us", all_words("It differs from informal U.S. imperialism."))
    for name in names("Troops of the U.K. and the U.N. met."):
        assert held_name(name, all_words("The UK and the UN met.")), name
    # Spaced or not, initials are one name; a time of day ("3 p.m.") is no "PM".
    assert unsourced("J.K. Rowling wrote it.", ["J. K. Rowling wrote it."]) == ()
    assert unsourced("The PM spoke.", ["He spoke at 3 p.m. today."]) == ("pm",)
    assert analyse("Why did the U.S. expand?").names == {"us"}


def test_an_abbreviation_is_held_by_the_name_it_abbreviates() -> None:
    from rag.text import all_words, held_name, names, unsourced

    written_out = all_words(
        "The United States, the European Union and the North Atlantic Treaty Organization "
        "asked the Department of Justice."
    )
    for name in names("Did the US, the EU and NATO ask the DOJ?"):
        assert held_name(name, written_out), name
    assert not held_name("uk", written_out)
    # Inside a longer run of capitals too; not from a sentence's opening word, nor across
    # "and" (two names).
    assert held_name("us", all_words("Former United States envoy Smith left."))
    assert not held_name("ai", all_words("At Istanbul, talks began."))
    assert not held_name("ru", all_words("Russia and Ukraine met."))
    # A claim abbreviating a name the passage writes out names no fact from elsewhere.
    assert unsourced("The US sent aid.", ["Aid came from the United States."]) == ()


def test_a_sentence_pointing_at_the_passages_is_checked_on_what_it_states(
    passages: list[Passage], verifier: Verifier
) -> None:
    """ "Both articles say that X [n]" and "X in the first passage [n]" are backed when X
    is: the words pointing at the passages are in no passage; the answer keeps them."""
    n = holding(passages, "sanctions and NATO expansion")
    for framed in (
        f"Both articles say that {REJECTION[:-1]} [{n}].",
        f"{REJECTION[:-1]}, in the first passage [{n}].",
    ):
        checked = check(framed, passages, verifier, question=QUESTION)
        assert checked.sentences[0].supported and checked.sentences[0].citations == [n], framed
        assert strip_markers(checked.answer) == strip_markers(framed)


def test_a_short_answer_is_checked_as_the_answer_to_its_question(
    passages: list[Passage], verifier: Verifier
) -> None:
    # A small model often replies with the answer alone; read with the question it
    # states what the passage says (rag.verifier: the question-read similarity).
    asked = "What issues did Kremlin officials cite when they rebuffed the plan?"
    n = holding(passages, "sanctions and NATO expansion")
    out = check(f"Sanctions and NATO expansion [{n}].", passages, verifier, question=asked)
    assert out.sentences[0].supported and out.sentences[0].citations == [n]
    [c] = out.citations
    assert "NATO expansion" in c.quoted

    wrong = lacking(passages, "sanctions and NATO expansion")
    out = check(f"Sanctions and NATO expansion [{wrong}].", passages, verifier, question=asked)
    assert out.sentences[0].supported and out.recited == 1
    assert "NATO expansion" in passages[out.sentences[0].citations[0] - 1].text

    out = check(f"Grain exports and fishing rights [{n}].", passages, verifier, question=asked)
    assert not out.sentences[0].supported


def test_an_answer_of_one_word_is_read_with_its_question(
    store: Settings, verifier: Verifier
) -> None:
    text = next(
        para
        for f in sorted(store.articles_dir.iterdir())
        for para in f.read_text(encoding="utf-8").split("\n")
        if "reported by CNN" in para
    )
    asked = "Which news organization reported Trump's private comments about Putin?"
    assert verifier.supports(verifier.support("CNN", text, question=asked))
    assert not verifier.supports(verifier.support("Reuters", text, question=asked))
    assert not verifier.supports(verifier.support("The BBC did", text, question=asked))
