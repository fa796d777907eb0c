"""The structured reply: schema, request shapes, validation, claims streamed as they close."""

from __future__ import annotations

import json

import pytest

from rag import structured
from rag.structured import ClaimStream, ReplyError, parse, response_format, schema

GOOD = {
    "answerable": True,
    "claims": [
        {"passage": 2, "quote": "closed in June", "text": "It closed in June."},
        {"passage": 1, "quote": "a $2 million gap", "text": "The gap was $2 million."},
    ],
}


def test_schema_names_only_the_passages_given() -> None:
    spec = schema(3)
    claim = spec["properties"]["claims"]["items"]
    assert claim["properties"]["passage"]["enum"] == [1, 2, 3]
    assert claim["required"] == ["passage", "quote", "text"]
    assert "verdict" not in spec["properties"]
    assert schema(2, verdict=True)["properties"]["verdict"]["enum"] == ["yes", "no", "partly"]


def test_request_shapes_differ_per_server_kind() -> None:
    spec = schema(2)
    assert response_format("json_schema", spec) == {
        "type": "json_schema",
        "json_schema": {"name": "answer", "schema": spec},
    }
    assert response_format("json_object", spec) == {"type": "json_object", "schema": spec}
    assert response_format("none", spec) is None
    assert structured.FORMATS[0] == "json_schema"


def test_a_valid_reply_parses_even_inside_a_code_fence() -> None:
    reply = parse("Sure:\n```json\n" + json.dumps(GOOD) + "\n```", 2)
    assert reply.answerable and [c.passage for c in reply.claims] == [2, 1]
    assert reply.claims[1].quote == "a $2 million gap" and reply.verdict is None


@pytest.mark.parametrize(
    ("reply", "fault"),
    [
        ("I think the answer is 42.", "no JSON"),
        ('{"answerable": true, "claims": [', "not valid JSON"),
        ('{"answer": "yes"}', "unexpected fields"),
        ('{"answerable": "yes", "claims": []}', "true or false"),
        ('{"answerable": true, "claims": {}}', "must be a list"),
        ('{"answerable": true, "claims": [{"passage": 7, "quote": "q", "text": "t"}]}', "not given"),
        ('{"answerable": true, "claims": [{"passage": 1, "text": "t"}]}', "quote and a text"),
        ('{"answerable": true, "claims": [{"passage": 1, "quote": "q", "text": "t", "x": 1}]}',
         "exactly"),
    ],
)  # fmt: skip
def test_replies_that_ignore_the_schema_are_caught(reply: str, fault: str) -> None:
    with pytest.raises(ReplyError, match=fault):
        parse(reply, 2)


def test_a_yes_no_reply_needs_its_verdict() -> None:
    with pytest.raises(ReplyError, match="verdict"):
        parse(json.dumps(GOOD), 2, verdict=True)
    assert parse(json.dumps({**GOOD, "verdict": "partly"}), 2, verdict=True).verdict == "partly"


def test_claims_stream_out_as_each_object_closes() -> None:
    text = json.dumps(GOOD)
    stream = ClaimStream()
    seen: list[tuple[int, int]] = []  # (claim passage, characters fed when it came out)
    for i in range(len(text)):
        for claim in stream.feed(text[i]):
            seen.append((claim["passage"], i + 1))
    assert [p for p, _ in seen] == [2, 1]
    first_closes = text.index("}") + 1
    assert seen[0][1] == first_closes, "the first claim comes out the moment it is complete"
    assert seen[1][1] < len(text)


def test_one_malformed_claim_costs_that_claim_only() -> None:
    reply = {**GOOD, "claims": [*GOOD["claims"], {"passage": 9, "quote": "q", "text": "t"}]}
    assert [c.passage for c in parse(json.dumps(reply), 2).claims] == [2, 1]


def test_a_reply_cut_off_by_the_token_limit_is_told_apart() -> None:
    with pytest.raises(ReplyError) as cut:
        parse(json.dumps(GOOD)[:-20], 2)
    assert cut.value.cut_off
    with pytest.raises(ReplyError) as wrong:
        parse('{"answerable": true, "claims": {}}', 2)
    assert not wrong.value.cut_off


def test_non_objects_in_the_claims_list_are_skipped_while_streaming() -> None:
    stream = ClaimStream()
    out = list(stream.feed('{"answerable": true, "claims": ["oops", {"passage": 1}, 3]}'))
    assert out == [{"passage": 1}]
