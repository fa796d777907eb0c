"""The LLM client: any OpenAI-compatible endpoint, or the embedded llama.cpp server.

With ``RAG_LLM_BASE_URL`` set, requests go there (OpenAI, vLLM, Ollama, a llama.cpp
server ...) using ``RAG_LLM_MODEL`` and ``RAG_LLM_API_KEY``; nothing else changes.
Unset, ``EmbeddedLLM`` asks the embedded server, which ``rag.llm_supervisor`` starts on
the first request and shares between processes (its options are explained there).
Every failed request becomes one ``LLMUnavailable`` sentence naming the fix.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

import httpx2
import openai

from rag.config import Settings
from rag.llm_process import LOOPBACK, PROBE_TIMEOUT
from rag.llm_supervisor import (
    LLMStatus,
    LLMUnavailable,
    embedded_status,
    ensure_server,
    log_path,
    require_model,
)
from rag.modelfiles import Progress
from rag.structured import FORMATS, Format

Message = Mapping[str, Any]

NO_KEY = "sk-no-key"
_T = TypeVar("_T")

__all__ = ["LLM", "EmbeddedLLM", "LLMRejected", "LLMStatus", "LLMUnavailable", "status"]


class LLMRejected(LLMUnavailable):
    """The server refused the request as malformed (HTTP 400/422, or a 500 naming the
    field it could not take), before any reply."""


def status(settings: Settings) -> LLMStatus:
    """Where the LLM is and whether it answers, cheaply enough for a UI to poll: the
    configured endpoint, else the embedded server."""
    if not settings.llm_base_url:
        return embedded_status(settings)
    url = settings.llm_base_url
    description = f"{settings.llm_model} at {url}" if settings.llm_model else url
    probe = LLM(settings.llm_model, url, settings.llm_api_key, timeout=PROBE_TIMEOUT, max_retries=0)
    try:
        probe.model_ids()
    except LLMUnavailable:
        return LLMStatus("unreachable", description, url)
    finally:
        probe.close()
    return LLMStatus("ready", description, url)


# --- the client -------------------------------------------------------------------


class LLM:
    """A chat model behind any OpenAI-compatible API (OpenAI, vLLM, Ollama, llama.cpp server).

    ``model_id=None`` uses the first model the server lists, which suits
    single-model servers; set ``RAG_LLM_MODEL`` for the others.
    """

    def __init__(
        self,
        model_id: str | None,
        api_base: str,
        api_key: str | None = None,
        *,
        timeout: float = 120.0,
        max_retries: int = 2,
        max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> None:
        self.model_id = model_id
        self.api_base = api_base.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout
        self.max_retries = max_retries
        self.defaults: dict[str, Any] = {
            k: v
            for k, v in {"max_tokens": max_tokens, "temperature": temperature}.items()
            if v is not None
        }
        self._client: openai.OpenAI | None = None
        # The JSON-constraint request shapes to try, best first; trimmed to the one the
        # server takes once it has refused the others (rag.structured.FORMATS).
        self.json_formats: tuple[Format, ...] = FORMATS

    @classmethod
    def from_settings(cls, settings: Settings) -> LLM:
        """The configured endpoint, or the embedded server (started on the first request)."""
        if not settings.llm_base_url:
            return EmbeddedLLM(settings)
        if not settings.llm_base_url.startswith(("http://", "https://")):
            raise LLMUnavailable(
                f"RAG_LLM_BASE_URL={settings.llm_base_url} is not an http(s) URL; "
                "set it like http://localhost:8000/v1."
            )
        return cls(
            settings.llm_model,
            settings.llm_base_url,
            settings.llm_api_key,
            timeout=settings.llm_timeout,
            max_retries=settings.llm_max_retries,
            max_tokens=settings.llm_max_tokens,
            temperature=settings.llm_temperature,
        )

    def chat(self, messages: Sequence[Message], **opts: Any) -> str:
        """The model's reply; ``opts`` go to the API (``max_tokens``, ``stop`` ...)."""

        def request(client: openai.OpenAI, model: str) -> str:
            response = client.chat.completions.create(
                model=model, messages=list(messages), **{**self.defaults, **opts}
            )
            return (response.choices[0].message.content or "") if response.choices else ""

        return self._call(request)

    def stream(self, messages: Sequence[Message], **opts: Any) -> Iterator[str]:
        """The reply to ``messages`` as text pieces, as the model produces them."""
        started = False
        for attempt in (1, 2):
            try:
                client, model = self._connect()
                with client.chat.completions.create(
                    model=model, messages=list(messages), stream=True, **{**self.defaults, **opts}
                ) as events:
                    for event in events:
                        if event.choices and event.choices[0].delta.content:
                            started = True
                            yield event.choices[0].delta.content
                return
            except (openai.OpenAIError, httpx2.HTTPError) as e:
                if attempt == 1 and not started and self._should_reconnect(e):
                    continue
                raise self._unavailable(e) from e

    def stream_json(
        self, messages: Sequence[Message], spec: dict[str, Any], **opts: Any
    ) -> Iterator[str]:
        """The reply constrained to the JSON schema ``spec``, as text pieces.

        The constraint goes in the first request shape this server takes (see
        ``rag.structured``); a shape it rejects (HTTP 400/422) is not tried again.
        The reply is the server's promise only: validate it.
        """
        from rag.structured import response_format

        while True:
            kind = self.json_formats[0]
            shape = response_format(kind, spec)
            extra = {"response_format": shape} if shape is not None else {}
            started = False
            try:
                for piece in self.stream(messages, **extra, **opts):
                    started = True
                    yield piece
                return
            except LLMRejected:
                if started or len(self.json_formats) == 1:
                    raise
                self.json_formats = self.json_formats[1:]

    def close(self) -> None:
        """Release the HTTP connections (the object stays usable: they reopen on demand)."""
        if self._client is not None:
            self._client.close()
            self._client = None

    def model_ids(self) -> list[str]:
        """The models the server offers."""
        return self._call(
            lambda client, _model: [m.id for m in client.models.list()], need_model=False
        )

    # -- plumbing shared by backends --

    def _call(self, request: Callable[[openai.OpenAI, str], _T], need_model: bool = True) -> _T:
        for attempt in (1, 2):
            try:
                client, model = self._connect(need_model)
                return request(client, model)
            except (openai.OpenAIError, httpx2.HTTPError) as e:
                if attempt == 1 and self._should_reconnect(e):
                    continue
                raise self._unavailable(e) from e
        raise AssertionError("unreachable")

    def _connect(self, need_model: bool = True) -> tuple[openai.OpenAI, str]:
        if self._client is None:
            self._client = self._make_client()
        if self.model_id is None and need_model:
            ids = [m.id for m in self._client.models.list()]
            if not ids:
                raise LLMUnavailable(
                    f"The LLM at {self.api_base} lists no models; "
                    "set RAG_LLM_MODEL to the model to use."
                )
            self.model_id = ids[0]
        return self._client, self.model_id or ""

    def _make_client(self) -> openai.OpenAI:
        return openai.OpenAI(
            base_url=self.api_base,
            api_key=self.api_key or NO_KEY,
            timeout=self.timeout,
            max_retries=self.max_retries,
        )

    def _should_reconnect(self, error: Exception) -> bool:
        return False

    def _unreachable_hint(self) -> str:
        return "start it or unset RAG_LLM_BASE_URL to use the embedded model"

    def _log_hint(self) -> str:
        return "check the server's log"

    def _unavailable(self, error: Exception) -> LLMUnavailable:
        """One user-facing sentence for a failed request."""
        where = f"The LLM at {self.api_base}"
        if isinstance(error, openai.APITimeoutError | httpx2.TimeoutException):
            text = (
                f"{where} did not answer within {self.timeout:.0f} s; "
                "raise RAG_LLM_TIMEOUT or lower RAG_LLM_MAX_TOKENS."
            )
        elif isinstance(error, openai.APIConnectionError | httpx2.HTTPError):
            text = f"{where} is unreachable; {self._unreachable_hint()}."
        elif isinstance(error, openai.AuthenticationError | openai.PermissionDeniedError):
            text = (
                f"{where} rejected the API key; "
                "set RAG_LLM_API_KEY (or OPENAI_API_KEY) to a valid key."
            )
        elif isinstance(error, openai.NotFoundError):
            text = (
                f"{where} has no model '{self.model_id}' or no OpenAI API at that path; "
                "set RAG_LLM_MODEL to a model it serves "
                "and check that RAG_LLM_BASE_URL ends in /v1."
            )
        elif isinstance(error, openai.RateLimitError):
            text = f"{where} is rate-limiting requests (HTTP 429); wait a moment and try again."
        elif _rejects_format(error):
            return LLMRejected(
                f"{where} refused the answer format ({_short(error)}); "
                "use a server that takes a JSON response_format."
            )
        elif isinstance(error, openai.BadRequestError | openai.UnprocessableEntityError):
            text = (
                f"{where} refused the request ({_short(error)}); "
                "shorten the question or raise RAG_LLM_CONTEXT."
            )
        elif isinstance(error, openai.APIStatusError):
            text = (
                f"{where} failed with HTTP {error.status_code}; {self._log_hint()} and try again."
            )
        else:
            text = f"{where} failed ({_short(error)}); {self._log_hint()} and try again."
        return LLMUnavailable(text)


class EmbeddedLLM(LLM):
    """The embedded llama.cpp server: started on the first request, restarted if it went away."""

    def __init__(self, settings: Settings, progress: Progress | None = None) -> None:
        model = require_model(settings)
        super().__init__(
            model.model_id,
            f"http://{LOOPBACK}/v1",  # the real port is known once the server runs
            NO_KEY,
            timeout=settings.llm_timeout,
            # A local server is not flaky: a retry after a timeout only queues the same
            # slow request again. A server that went away is restarted instead.
            max_retries=0,
            max_tokens=settings.llm_max_tokens,
            temperature=settings.llm_temperature,
        )
        self.settings = settings
        self.progress = progress
        # llama-cpp-python's server refuses {"type": "json_schema"} and takes the schema
        # inside {"type": "json_object"}: start there.
        self.json_formats = ("json_object", "none")

    def _make_client(self) -> openai.OpenAI:
        server = ensure_server(self.settings, self.progress)
        self.api_base = server.url
        return openai.OpenAI(
            base_url=server.url,
            api_key=NO_KEY,
            timeout=self.timeout,
            max_retries=self.max_retries,
            http_client=openai.DefaultHttpxClient(trust_env=False),  # loopback: never via a proxy
        )

    def _should_reconnect(self, error: Exception) -> bool:
        # Someone stopped the shared server since we connected: start it again, once.
        if isinstance(error, openai.APIConnectionError) and not isinstance(
            error, openai.APITimeoutError
        ):
            self._client = None
            return True
        return False

    def _unreachable_hint(self) -> str:
        return f"run `rag llm stop` and try again, and see {log_path(self.settings)} if it persists"

    def _log_hint(self) -> str:
        return f"see {log_path(self.settings)}"


def _rejects_format(error: Exception) -> bool:
    """Whether the server refused the request for its ``response_format`` (so another
    shape may pass), not for its size or anything else. llama-cpp-python's server answers
    a shape it does not know with HTTP 500 and its validation error."""
    if not isinstance(
        error,
        openai.BadRequestError | openai.UnprocessableEntityError | openai.InternalServerError,
    ):
        return False
    text = _short(error).lower()
    return any(word in text for word in ("response_format", "json_schema", "schema", "grammar"))


def _short(error: Exception) -> str:
    message = getattr(error, "message", None) or str(error) or type(error).__name__
    return " ".join(str(message).split())[:200]
