"""The model's structured reply: its JSON schema, the request shapes, streaming, validation.

The model answers as JSON: ``{"answerable": bool, "claims": [{"passage": n, "quote":
"...", "text": "..."}]}`` (plus ``"verdict"``: yes, no or partly, for a yes/no question),
where ``passage`` is one of the passage numbers actually given.  The quote comes
before the claim's text on purpose: a small model that has copied its evidence first
writes a claim that says what the evidence says.

Servers take the constraint in two shapes: OpenAI, vLLM, Ollama and llama.cpp's own
``llama-server`` take ``{"type": "json_schema", "json_schema": {...}}``;
llama-cpp-python's server (our embedded one) rejects that and takes ``{"type":
"json_object", "schema": ...}``.  ``FORMATS`` lists them in the order to try; the
LLM client remembers the one a server accepted.  Whatever the server promised, the
reply is validated here (a server that only promises "some JSON" is caught).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from rag.errors import RagError

Format = Literal["json_schema", "json_object", "json_any", "none"]
FORMATS: tuple[Format, ...] = ("json_schema", "json_object", "none")
VERDICTS = ("yes", "no", "partly")
MAX_CLAIMS = 3
MAX_QUOTE_CHARS = 300
MAX_TEXT_CHARS = 400


class ReplyError(RagError, ValueError):
    """The model's reply does not follow the schema; the message says how."""

    def __init__(self, message: str, cut_off: bool = False) -> None:
        super().__init__(message)
        self.cut_off = cut_off  # the JSON stops before it closes (the token limit, usually)


@dataclass(frozen=True)
class Claim:
    passage: int  # 1-based number of the passage in the prompt
    quote: str  # the words the model says it copied from that passage
    text: str  # the claim, as the reader sees it


@dataclass(frozen=True)
class Reply:
    answerable: bool
    claims: list[Claim] = field(default_factory=list)
    verdict: str | None = None  # "yes" | "no" | "partly" for a yes/no question, else None


def schema(passages: int, verdict: bool = False) -> dict[str, Any]:
    """The JSON schema of a reply over ``passages`` numbered passages."""
    claim = {
        "type": "object",
        "properties": {
            "passage": {"type": "integer", "enum": list(range(1, passages + 1))},
            "quote": {"type": "string", "maxLength": MAX_QUOTE_CHARS},
            "text": {"type": "string", "maxLength": MAX_TEXT_CHARS},
        },
        "required": ["passage", "quote", "text"],
        "additionalProperties": False,
    }
    properties: dict[str, Any] = {"answerable": {"type": "boolean"}}
    required = ["answerable"]
    if verdict:
        properties["verdict"] = {"type": "string", "enum": list(VERDICTS)}
        required.append("verdict")
    properties["claims"] = {"type": "array", "items": claim, "maxItems": MAX_CLAIMS}
    required.append("claims")
    return {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


def response_format(kind: Format, spec: dict[str, Any]) -> dict[str, Any] | None:
    """The ``response_format`` request field in the shape ``kind`` (None: ask in words only)."""
    if kind == "json_schema":
        return {"type": "json_schema", "json_schema": {"name": "answer", "schema": spec}}
    if kind == "json_object":
        return {"type": "json_object", "schema": spec}
    if kind == "json_any":  # what a server that only promises "some JSON" is asked
        return {"type": "json_object"}
    return None


# --- reading the reply ----------------------------------------------------------------


def _json_text(text: str) -> str:
    """The JSON object in ``text``: code fences and chatter around it dropped."""
    text = text.strip()
    fenced = re.search(r"```(?:json)?\s*(.*?)```", text, re.DOTALL)
    if fenced:
        text = fenced.group(1).strip()
    start = text.find("{")
    if start < 0:
        raise ReplyError("the reply holds no JSON object")
    return text[start:]


def parse(text: str, passages: int, verdict: bool = False) -> Reply:
    """The reply in ``text``, validated against :func:`schema` (raises ReplyError)."""
    body = _json_text(text)
    try:
        data, _ = json.JSONDecoder().raw_decode(body)
    except json.JSONDecodeError as e:
        cut_off = e.msg.startswith("Unterminated string") or e.pos >= len(body.rstrip()) - 1
        raise ReplyError(f"the reply is not valid JSON ({e.msg})", cut_off) from e
    return validate(data, passages, verdict)


def validate(data: Any, passages: int, verdict: bool = False) -> Reply:
    """``data`` as a Reply when it follows the schema, else ReplyError naming the fault."""
    if not isinstance(data, dict):
        raise ReplyError("the reply is not a JSON object")
    allowed = {"answerable", "claims", "verdict"}
    extra = sorted(set(data) - allowed)
    if extra:
        raise ReplyError(f"the reply has unexpected fields: {', '.join(extra)}")
    answerable = data.get("answerable")
    if not isinstance(answerable, bool):
        raise ReplyError("'answerable' must be true or false")
    raw_claims = data.get("claims")
    if not isinstance(raw_claims, list):
        raise ReplyError("'claims' must be a list")
    said = data.get("verdict")
    if verdict and said not in VERDICTS:
        raise ReplyError("'verdict' must be yes, no or partly")
    claims = []
    for i, raw in enumerate(raw_claims[:MAX_CLAIMS], 1):
        try:
            claims.append(_claim(raw, passages, i))
        except ReplyError:
            if not claims and i == min(len(raw_claims), MAX_CLAIMS):
                raise  # every claim malformed: the reply does not follow the schema
            continue  # one malformed claim costs that claim, not the others
    return Reply(answerable=answerable, claims=claims, verdict=said if verdict else None)


def _claim(raw: Any, passages: int, i: int) -> Claim:
    if not isinstance(raw, dict) or set(raw) - {"passage", "quote", "text"}:
        raise ReplyError(f"claim {i} must have exactly passage, quote and text")
    n, quote, text = raw.get("passage"), raw.get("quote"), raw.get("text")
    if isinstance(n, str) and n.strip().isdigit():
        n = int(n)
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= passages:
        raise ReplyError(f"claim {i} names passage {n!r}, which was not given")
    if not isinstance(quote, str) or not isinstance(text, str):
        raise ReplyError(f"claim {i} needs a quote and a text")
    return Claim(passage=n, quote=" ".join(quote.split()), text=" ".join(text.split()))


class ClaimStream:
    """Feeds on the reply as it streams; yields each claim once its object is complete.

    The claims are the only thing worth showing early: each one's text reaches the
    reader as soon as the model has closed it, while the rest is still being written.
    """

    def __init__(self) -> None:
        self.text = ""
        self._pos: int | None = None  # where the next claim object may start
        self._decoder = json.JSONDecoder()

    def feed(self, piece: str) -> Iterator[dict[str, Any]]:
        self.text += piece
        if self._pos is None:
            m = re.search(r'"claims"\s*:\s*\[', self.text)
            if not m:
                return
            self._pos = m.end()
        while True:
            rest = self.text[self._pos :]
            skipped = len(rest) - len(rest.lstrip(" \t\r\n,"))
            start = self._pos + skipped
            if start >= len(self.text) or self.text[start] == "]":
                return
            try:
                obj, end = self._decoder.raw_decode(self.text, start)
            except json.JSONDecodeError:
                return  # not complete yet
            self._pos = end
            if isinstance(obj, dict):  # anything else in the list is skipped
                yield obj
