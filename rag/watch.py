"""Keep the index in step with the articles folder while files arrive, change or go.

A filesystem observer (watchdog: inotify, FSEvents or ReadDirectoryChangesW) only
notes that something relevant happened; the indexing itself runs in the thread that
called :meth:`Watcher.run`, once the folder has been quiet for ``debounce`` seconds.
So a burst of a hundred files is one incremental run, not a hundred, and a run that
is interrupted (Ctrl-C) stops like an interrupted ``rag index``: nothing already
indexed is lost and the next run completes the rest.

Events raised by the indexer's own reading of the files (open, close without
writing) are ignored, or every run would trigger the next.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rag import indexer
from rag.config import Settings
from rag.documents import SUPPORTED_SUFFIXES
from rag.embeddings import Embedder, EmbeddingModelError
from rag.index_report import IndexingError, IndexReport, Progress
from rag.store import StoreError

# What changes a file's content or presence; "opened"/"closed_no_write" are reads.
RELEVANT_EVENTS = frozenset({"created", "modified", "deleted", "moved", "closed"})


class Watcher:
    """Runs the incremental indexer whenever the articles folder changes.

    ``on_run`` receives each run's report, ``on_error`` the one-sentence message of
    a run that failed (the watcher keeps going and retries after the next quiet
    period).  ``max_delay`` bounds how long a steady trickle of changes can
    postpone a run.
    """

    def __init__(
        self,
        settings: Settings,
        debounce: float = 2.0,
        max_delay: float = 30.0,
        embedder: Embedder | None = None,
        on_run: Callable[[IndexReport], None] | None = None,
        on_error: Callable[[str], None] | None = None,
        progress: Progress | None = None,
        retry_after: float = 10.0,
    ) -> None:
        self.settings = settings
        self.folder = Path(settings.articles_dir)
        self._root = self.folder.resolve()
        self.debounce = debounce
        self.max_delay = max(max_delay, debounce)
        self.retry_after = retry_after
        self.embedder = embedder or Embedder(
            settings.embedding_model, settings.embedding_batch_size
        )
        self.on_run = on_run or (lambda report: None)
        self.on_error = on_error or (lambda message: None)
        self.progress = progress
        self.runs = 0
        self._changed = threading.Condition()
        self._first_event: float | None = None  # of the changes not indexed yet
        self._last_event = 0.0
        self._not_before = 0.0  # after a failed run: when to try again

    def notice(self, paths: list[str], is_directory: bool = False) -> None:
        """Record that these paths changed (called by the observer thread)."""
        if not any(self._relevant(p, is_directory) for p in paths):
            return
        with self._changed:
            now = time.monotonic()
            self._last_event = now
            if self._first_event is None:
                self._first_event = now
            self._changed.notify_all()

    def _relevant(self, path: str, is_directory: bool) -> bool:
        try:
            parts = Path(path).relative_to(self._root).parts
        except ValueError:
            parts = Path(path).parts[-1:]
        if any(part.startswith(".") for part in parts):
            return False  # hidden files and folders are never indexed
        return is_directory or path.lower().endswith(SUPPORTED_SUFFIXES)

    def run(self, stop: threading.Event | None = None) -> None:
        """Index once, then after every burst of changes, until ``stop`` is set.

        Blocks; call it in a thread of its own to watch in the background.
        """
        if not self.folder.is_dir():
            raise IndexingError(
                f"The articles folder {self.folder} does not exist; "
                "create it or set RAG_ARTICLES_DIR."
            )
        stop = stop or threading.Event()
        observer = self._observe()
        try:
            self._index()  # catch up with whatever changed while nobody watched
            while not stop.is_set():
                if self._wait_for_quiet(stop):
                    self._index()
        finally:
            observer.stop()
            observer.join(timeout=5)

    def _observe(self) -> Any:
        from watchdog.events import FileSystemEvent, FileSystemEventHandler
        from watchdog.observers import Observer

        watcher = self

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event: FileSystemEvent) -> None:
                if event.event_type not in RELEVANT_EVENTS:
                    return
                if event.is_directory and event.event_type in ("modified", "closed"):
                    return  # a file inside changed: that file's own event counts
                paths = [str(event.src_path), str(getattr(event, "dest_path", "") or "")]
                watcher.notice([p for p in paths if p], event.is_directory)

        observer = Observer()
        observer.schedule(Handler(), str(self._root), recursive=True)
        observer.daemon = True
        observer.start()
        return observer

    def _wait_for_quiet(self, stop: threading.Event) -> bool:
        """True once changes are pending and the folder has been quiet long enough."""
        with self._changed:
            while not stop.is_set():
                if self._first_event is None:
                    self._changed.wait(timeout=0.5)
                    continue
                now = time.monotonic()
                due = min(self._last_event + self.debounce, self._first_event + self.max_delay)
                due = max(due, self._not_before)
                if now >= due:
                    self._first_event = None
                    return True
                self._changed.wait(timeout=min(due - now, 0.5))
        return False

    def _index(self) -> None:
        try:
            report = indexer.run(
                self.settings, progress=self.progress, embedder=self.embedder, lock_timeout=60.0
            )
        except (IndexingError, StoreError, EmbeddingModelError) as exc:
            self.on_error(str(exc))
            with self._changed:  # try again later, even if nothing else changes
                self._not_before = time.monotonic() + self.retry_after
                self._first_event = self._first_event or time.monotonic()
            return
        self.runs += 1
        self.on_run(report)
