"""What an indexing run says: its report, the files it skipped, its error, the index's status."""

from __future__ import annotations

from collections.abc import Callable, Container
from dataclasses import asdict, dataclass, field
from typing import Any

from rag.errors import RagError

Progress = Callable[[int, int, str], None]


class IndexingError(RagError):
    """The run cannot proceed; the message is one sentence naming the fix."""


@dataclass
class Skipped:
    path: str
    reason: str


@dataclass
class IndexReport:
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    flagged: list[Skipped] = field(default_factory=list)  # indexed, with a date to check
    documents: int = 0
    chunks: int = 0
    seconds: float = 0.0
    embedded: int = 0  # chunks embedded this run
    reused: int = 0  # chunks whose vectors were reused
    rebuilt: bool = False
    added_files: list[str] = field(default_factory=list)
    updated_files: list[str] = field(default_factory=list)
    removed_files: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed or self.rebuilt)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Status:
    documents: int
    chunks: int
    embedding_model: str
    store: str
    last_indexed: str | None
    articles_dir: str
    generation: int
    undated: int = 0  # indexed articles whose publication date could not be read


def kept(reason: str, source: str, indexed: Container[str]) -> str:
    """Why a file was skipped, saying so when its previously indexed version stays."""
    if source in indexed:
        return f"{reason} (its previously indexed version is kept)"
    return reason
