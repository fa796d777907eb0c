"""RSS and Atom feeds -> article files: the feeds the user follows, and ``rag sync``.

The followed feeds live in one JSON file under RAG_HOME (``feeds.json``), with, per
feed, its validators (ETag, Last-Modified) for conditional requests, the time and
outcome of its last sync, and the entries already saved (by entry id, or link when
an entry has none) with a version (its ``updated`` stamp, or a hash of what it
says; ``rag/feed_entries.py``), so a sync fetches only entries that are new or were
edited.

Each new or edited entry's page is fetched and saved like ``rag add`` does
(``rag.clipping``); when the page cannot be had (a paywall, an error), the entry's
own content is saved instead if it holds a whole article.  Entries that drop out
of a feed keep their files: a feed is a window, not the archive.  A feed that fails
records its error and the others go on; its validators are kept only when every
entry was saved, so a failed entry is tried again on the next sync.  Parsing is
feedparser's (RSS 0.9x, 1.0, 2.0 and Atom).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from rag import clipping
from rag.config import Settings
from rag.errors import RagError
from rag.feed_entries import entry_date, entry_key, entry_text, entry_version
from rag.fetching import FEED_TYPES, HTML_TYPES, PDF_TYPES, fetch, shown

Progress = Callable[[int, int, str], None]


class FeedError(RagError):
    """A feed cannot be added, found or read; the message is one sentence naming the fix."""


class EntriesFailed(FeedError):
    """Some entries of a feed could not be saved (each is reported on its own)."""


@dataclass
class Feed:
    url: str
    title: str = ""
    added: str = ""
    etag: str | None = None
    modified: str | None = None
    last_sync: str | None = None
    last_error: str | None = None
    entries: dict[str, dict[str, str]] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """What ``rag feed list --json`` and the page show about a feed."""
        return {
            "url": self.url,
            "title": self.title,
            "added": self.added,
            "last_sync": self.last_sync,
            "last_error": self.last_error,
            "entries": len(self.entries),
        }


@dataclass
class SyncReport:
    feeds: int = 0
    new: int = 0
    updated: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (url, reason)
    saved: list[str] = field(default_factory=list)  # paths written in the articles folder

    @property
    def changed(self) -> bool:
        return bool(self.new or self.updated)

    def to_dict(self) -> dict[str, Any]:
        return {
            "feeds": self.feeds,
            "new": self.new,
            "updated": self.updated,
            "failed": [{"url": u, "reason": r} for u, r in self.failed],
        }


# --- the list of feeds -------------------------------------------------------------


def feeds_path(settings: Settings) -> Path:
    return Path(settings.home) / "feeds.json"


def load_feeds(settings: Settings) -> list[Feed]:
    """The followed feeds, in the order they were added."""
    path = feeds_path(settings)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        raise FeedError(
            f"The feed list {path} cannot be read ({exc}); fix or delete the file."
        ) from None
    known = set(Feed.__dataclass_fields__)
    return [Feed(**{k: v for k, v in item.items() if k in known}) for item in raw.get("feeds", [])]


def _save_feeds(settings: Settings, feeds: list[Feed]) -> None:
    path = feeds_path(settings)
    data = json.dumps({"feeds": [asdict(f) for f in feeds]}, ensure_ascii=False, indent=1)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=".feeds-", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp_name, path)
        finally:
            Path(tmp_name).unlink(missing_ok=True)
    except OSError as exc:
        raise FeedError(
            f"Cannot write {path} ({exc.strerror}); make RAG_HOME writable or set RAG_HOME."
        ) from None


@contextlib.contextmanager
def _locked(settings: Settings, timeout: float = 0.0) -> Any:
    # One writer at a time: `rag sync`, `rag watch` and `rag feed add` may overlap.
    try:
        Path(settings.home).mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(Path(settings.home) / "feeds.lock"), timeout=timeout)
        lock.acquire()
    except Timeout:
        raise FeedError(
            "Another feed sync is running; wait for it to finish and try again."
        ) from None
    except OSError as exc:
        raise FeedError(
            f"Cannot write to {settings.home} ({exc.strerror}); make it writable or set RAG_HOME."
        ) from None
    try:
        yield
    finally:
        lock.release()


def add_feed(settings: Settings, url: str) -> Feed:
    """Follow the feed at ``url``: it is fetched and parsed first, so a wrong address is
    refused now, not at the next sync.  Its entries are saved by the next ``sync``."""
    with _locked(settings, timeout=30.0):
        feeds = load_feeds(settings)
        if any(f.url == url.strip() for f in feeds):
            raise FeedError(f"{shown(url)} is already followed; run rag sync to fetch it.")
        page = fetch(url, settings, FEED_TYPES, what="an RSS or Atom feed")
        parsed = _parse(url, page.body, page.final_url)
        feed = Feed(
            url=url.strip(),
            title=" ".join(str(parsed.feed.get("title", "")).split()),
            added=_now(),
        )
        _save_feeds(settings, [*feeds, feed])
    return feed


def remove_feed(settings: Settings, url: str) -> Feed:
    """Stop following a feed; the articles it brought stay in the folder."""
    with _locked(settings, timeout=30.0):
        feeds = load_feeds(settings)
        gone = [f for f in feeds if f.url == url.strip()]
        if not gone:
            raise FeedError(f"{shown(url)} is not followed; rag feed list shows the feeds.")
        _save_feeds(settings, [f for f in feeds if f.url != url.strip()])
    return gone[0]


# --- sync ----------------------------------------------------------------------------


def sync(settings: Settings, progress: Progress | None = None) -> SyncReport:
    """Fetch every followed feed and save its new and edited entries as articles.

    ``progress(done, total, message)`` hears of each feed and entry fetched.  Indexing
    is the caller's next step (``rag.indexer.run``), as after ``add_urls``.
    """
    report = SyncReport()
    with _locked(settings):
        feeds = load_feeds(settings)
        folder = clipping.articles_folder(settings)
        known = clipping.known_urls(folder)
        for done, feed in enumerate(feeds):
            report.feeds += 1
            step = partial(progress or _no_progress, done, len(feeds))
            try:
                step(f"fetching {feed.title or feed.url}")
                _sync_one(settings, feed, folder, known, report, step)
                feed.last_error = None
            except RagError as exc:
                feed.last_error = str(exc)
                if not isinstance(exc, EntriesFailed):  # those were reported one by one
                    report.failed.append((feed.url, str(exc)))
            feed.last_sync = _now()
            _save_feeds(settings, feeds)  # after each feed: a killed sync keeps what it did
    return report


def _no_progress(done: int, total: int, message: str) -> None:
    pass


def _sync_one(
    settings: Settings,
    feed: Feed,
    folder: Path,
    known: dict[str, Path],
    report: SyncReport,
    step: Callable[[str], None],
) -> None:
    conditional = {}
    if feed.etag:
        conditional["If-None-Match"] = feed.etag
    if feed.modified:
        conditional["If-Modified-Since"] = feed.modified
    page = fetch(feed.url, settings, FEED_TYPES, conditional, what="an RSS or Atom feed")
    if page.not_modified:
        return
    parsed = _parse(feed.url, page.body, page.final_url)
    feed.title = " ".join(str(parsed.feed.get("title", "")).split()) or feed.title
    failures: list[str] = []
    # The newest entries only: a feed carrying its whole archive must not turn the first
    # sync into thousands of fetches.  Most feeds list newest first; dated ones are sorted.
    newest = sorted(parsed.entries, key=lambda e: entry_date(e) or "", reverse=True)
    for entry in newest[: settings.feed_max_entries]:
        key = entry_key(entry)
        if not key:
            continue  # no id, no link, no title: nothing to know it by next time
        version = entry_version(entry)
        seen = feed.entries.get(key)
        if seen and seen.get("version") == version:
            continue
        link = str(entry.get("link") or "")
        step(f"fetching {link or key}")
        try:
            saved = _save_entry(settings, feed, entry, folder, known)
        except RagError as exc:
            failures.append(str(exc))
            report.failed.append((link or key, str(exc)))
            continue
        feed.entries[key] = {"url": link, "path": saved.path, "version": version}
        if saved.state == "new" and not seen:
            report.new += 1
        elif saved.state != "unchanged":
            report.updated += 1
        if saved.state != "unchanged":
            report.saved.append(saved.path)
    if failures:
        # Keep the old validators: the next sync must see these entries again.
        raise EntriesFailed(
            f"{len(failures)} of its entries could not be saved (first: {failures[0].rstrip('.')})"
            "; they are tried again on the next sync."
        )
    feed.etag = page.headers.get("etag") or None
    feed.modified = page.headers.get("last-modified") or None


def _parse(url: str, body: bytes, base: str) -> Any:
    import feedparser

    # The feed's own address resolves relative entry links ("/news/1" -> https://host/news/1).
    parsed = feedparser.parse(body, response_headers={"content-location": base})
    if not parsed.get("version") and not parsed.entries:
        why = parsed.get("bozo_exception")
        detail = f" ({' '.join(str(why).split())[:120]})" if why else ""
        raise FeedError(
            f"{shown(url)} is not an RSS or Atom feed{detail}; check the address "
            "(a site's feed often ends in /feed, /rss or /atom.xml)."
        )
    return parsed


def _save_entry(
    settings: Settings, feed: Feed, entry: Any, folder: Path, known: dict[str, Path]
) -> clipping.Saved:
    """Save the entry's page (an article, or a PDF kept as it is), else its own content."""
    link = str(entry.get("link") or "")
    title = " ".join(str(entry.get("title", "")).split())
    published = entry_date(entry)
    author = " ".join(str(entry.get("author", "")).split()) or None
    page_error: RagError | None = None
    article = None
    if link:
        try:
            page = fetch(link, settings, HTML_TYPES | PDF_TYPES, what="a web page or a PDF")
            if page.content_type in PDF_TYPES:  # a press release, an e-paper edition
                return clipping.save_pdf(settings, folder, page)
            article = clipping.extract(page, fallback_title=title)
        except RagError as exc:
            page_error = exc
    if article is None:
        try:
            article = clipping.article_from_text(
                entry_text(entry), url=link or feed.url, asked=link or feed.url, title=title
            )
        except RagError:
            raise page_error or FeedError(
                f"The entry {title or link!r} of {shown(feed.url)} has no article text; "
                "open it in a browser and upload it instead."
            ) from None
    # The feed often knows the date, author and outlet better than the page's markup
    # (whose "site name", when the page names none, is just its host name).
    outlet = article.outlet
    if feed.title and (not outlet or _bare(outlet) == _bare(_host(article.url))):
        outlet = feed.title
    article = replace(
        article,
        published=article.published or published,
        author=article.author or author,
        outlet=outlet,
    )
    return clipping.save(folder, article, known)


def _bare(name: str) -> str:
    return name.lower().removeprefix("www.")


def _host(url: str) -> str:
    import httpx

    with contextlib.suppress(httpx.InvalidURL, ValueError, TypeError):
        parsed = httpx.URL(url)
        return (f"{parsed.host}:{parsed.port}" if parsed.port else parsed.host).lower()
    return ""


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


# --- polling (rag watch) -------------------------------------------------------------


def poll(
    settings: Settings,
    stop: threading.Event,
    on_report: Callable[[SyncReport], None],
    on_error: Callable[[str], None],
    interval: float | None = None,
) -> None:
    """Sync now, then every ``interval`` seconds (RAG_FEED_INTERVAL) until ``stop`` is set.

    Only writes article files: whoever watches the folder indexes them.
    """
    interval = interval or settings.feed_interval
    while not stop.is_set():
        try:
            if load_feeds(settings):
                on_report(sync(settings))
        except RagError as exc:
            on_error(str(exc))
        stop.wait(interval)
