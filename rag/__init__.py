"""rag: answers about a folder of news articles, with citations you can open.

The names in ``__all__`` are the library's public surface; everything else in the
package is internal and may change.  A session in a few lines::

    import rag

    settings = rag.load_settings()  # RAG_* environment and .env; a bad value → rag.RagError
    rag.index(settings)  # bring the index in step with the articles folder
    answer = rag.Answerer(settings).ask("What did the Kremlin say about the plan?")
    for c in answer.citations:
        print(c.n, c.source, c.start, c.end, c.supported)

``Answerer.stream`` yields the events (``Retrieved``, ``Writing``, ``Token``,
``Checking``, ``Notice``, then ``Done`` with the ``Answer``) for a live display; ``Retriever``
searches without an LLM.  Every error a user can cause or fix is a ``RagError``
whose message is one sentence naming the fix.

The names are imported on first use, not on ``import rag``: the answer path pulls in
pydantic, the embedding model's torch and chromadb, and a command such as
``rag --help`` must not wait for them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> (module, attribute in it)
_EXPORTS: dict[str, tuple[str, str]] = {
    "Settings": ("rag.config", "Settings"),
    "load_settings": ("rag.config", "load_settings"),
    "RagError": ("rag.errors", "RagError"),
    "Answerer": ("rag.answering", "Answerer"),
    "Answer": ("rag.answering", "Answer"),
    "Event": ("rag.answering", "Event"),
    "Retrieved": ("rag.answering", "Retrieved"),
    "Writing": ("rag.answering", "Writing"),
    "Token": ("rag.answering", "Token"),
    "Checking": ("rag.answering", "Checking"),
    "Notice": ("rag.answering", "Notice"),
    "Done": ("rag.answering", "Done"),
    "Citation": ("rag.citations", "Citation"),
    "Sentence": ("rag.citations", "Sentence"),
    "Retriever": ("rag.retrieval", "Retriever"),
    "Passage": ("rag.retrieval", "Passage"),
    "Filters": ("rag.retrieval", "Filters"),
    "index": ("rag.indexer", "run"),
    "index_status": ("rag.indexer", "status"),
    "IndexReport": ("rag.index_report", "IndexReport"),
    "IndexStatus": ("rag.index_report", "Status"),
    "Embedder": ("rag.embeddings", "Embedder"),
    "SUPPORTED_SUFFIXES": ("rag.documents", "SUPPORTED_SUFFIXES"),
    "indexed_articles": ("rag.library", "indexed_articles"),
    "open_article": ("rag.library", "open_article"),
    "OpenedArticle": ("rag.library", "OpenedArticle"),
    "ArticleNotIndexed": ("rag.library", "ArticleNotIndexed"),
    "ArticleUnreadable": ("rag.library", "ArticleUnreadable"),
    "saved_chats": ("rag.library", "saved_chats"),
    "open_chat": ("rag.library", "open_chat"),
    "rename_chat": ("rag.library", "rename_chat"),
    "delete_chat": ("rag.library", "delete_chat"),
    "save_turn": ("rag.library", "save_turn"),
    "stale_passages": ("rag.library", "stale_passages"),
    "export_chat": ("rag.library", "export_chat"),
    "Chat": ("rag.chat_store", "Chat"),
    "ChatSummary": ("rag.chat_store", "ChatSummary"),
    "ChatsError": ("rag.chat_store", "ChatsError"),
    "add_links": ("rag.library", "add_links"),
    "followed_feeds": ("rag.library", "followed_feeds"),
    "follow_feed": ("rag.library", "follow_feed"),
    "sync_feeds": ("rag.library", "sync_feeds"),
    "latest_eval": ("rag.library", "latest_eval"),
    "eval_summary": ("rag.library", "eval_summary"),
    "save_upload": ("rag.uploads", "save_upload"),
    "UploadConflict": ("rag.uploads", "UploadConflict"),
    "UploadError": ("rag.uploads", "UploadError"),
    "llm_status": ("rag.llm", "status"),
    "LLMStatus": ("rag.llm_supervisor", "LLMStatus"),
    "start_llm": ("rag.llm_supervisor", "ensure_server"),
    "stop_llm": ("rag.llm_supervisor", "stop"),
}

# A literal list, so linters and type checkers read it; a test keeps it equal to _EXPORTS.
__all__ = [
    "SUPPORTED_SUFFIXES",
    "Answer",
    "Answerer",
    "ArticleNotIndexed",
    "ArticleUnreadable",
    "Chat",
    "ChatSummary",
    "ChatsError",
    "Checking",
    "Citation",
    "Done",
    "Embedder",
    "Event",
    "Filters",
    "IndexReport",
    "IndexStatus",
    "LLMStatus",
    "Notice",
    "OpenedArticle",
    "Passage",
    "RagError",
    "Retrieved",
    "Retriever",
    "Sentence",
    "Settings",
    "Token",
    "UploadConflict",
    "UploadError",
    "Writing",
    "__version__",
    "add_links",
    "delete_chat",
    "eval_summary",
    "export_chat",
    "follow_feed",
    "followed_feeds",
    "index",
    "index_status",
    "indexed_articles",
    "latest_eval",
    "llm_status",
    "load_settings",
    "open_article",
    "open_chat",
    "rename_chat",
    "save_turn",
    "save_upload",
    "saved_chats",
    "stale_passages",
    "start_llm",
    "stop_llm",
    "sync_feeds",
]

if TYPE_CHECKING:  # what a type checker and an editor see; at run time __getattr__ imports
    from rag.answering import (
        Answer,
        Answerer,
        Checking,
        Done,
        Event,
        Notice,
        Retrieved,
        Token,
        Writing,
    )
    from rag.chat_store import Chat, ChatsError, ChatSummary
    from rag.citations import Citation, Sentence
    from rag.config import Settings, load_settings
    from rag.documents import SUPPORTED_SUFFIXES
    from rag.embeddings import Embedder
    from rag.errors import RagError
    from rag.index_report import IndexReport
    from rag.index_report import Status as IndexStatus
    from rag.indexer import run as index
    from rag.indexer import status as index_status
    from rag.library import (
        ArticleNotIndexed,
        ArticleUnreadable,
        OpenedArticle,
        add_links,
        delete_chat,
        eval_summary,
        export_chat,
        follow_feed,
        followed_feeds,
        indexed_articles,
        latest_eval,
        open_article,
        open_chat,
        rename_chat,
        save_turn,
        saved_chats,
        stale_passages,
        sync_feeds,
    )
    from rag.llm import status as llm_status
    from rag.llm_supervisor import LLMStatus
    from rag.llm_supervisor import ensure_server as start_llm
    from rag.llm_supervisor import stop as stop_llm
    from rag.retrieval import Filters, Passage, Retriever
    from rag.uploads import UploadConflict, UploadError, save_upload


def __getattr__(name: str) -> Any:
    """Import a public name on first use (PEP 562) and keep it, so it is looked up once."""
    try:
        module, attribute = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'rag' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
