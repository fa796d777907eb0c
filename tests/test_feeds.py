"""`rag feed` and `rag sync`: real RSS and Atom feeds from a real server on 127.0.0.1."""

from __future__ import annotations

import json
import threading

import pytest
from conftest import snapshot
from typer.testing import CliRunner
from website import Route, Site, article_html

from rag import feeds
from rag.config import Settings
from rag.embeddings import Embedder
from rag.errors import RagError
from rag.front_matter import front_matter

STORY = [
    "The council of Testville approved the new tram line on Monday by nine votes to four, "
    "after a debate that lasted most of the night.",
    "Construction of the first section, from the station to the university, starts in "
    "June and should take two years.",
    "Opponents said the 310 million euro budget left nothing for the bus network.",
]


def rss(site: Site, items: list[tuple[str, str, str]]) -> bytes:
    """An RSS 2.0 feed; items are (guid, title, path of the page)."""
    body = "".join(
        f"<item><guid>{guid}</guid><title>{title}</title><link>{site.url(path)}</link>"
        "<pubDate>Mon, 04 Mar 2024 08:00:00 GMT</pubDate><author>desk@post.example</author>"
        f"<description>{title}.</description></item>"
        for guid, title, path in items
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>The Testville Post</title>'
        f"<link>{site.url('/')}</link><description>News</description>{body}</channel></rss>"
    ).encode()


def page(title: str, extra: str = "") -> Route:
    return Route(article_html(title, [*STORY, extra] if extra else STORY))


def test_an_rss_feed_is_synced_once_then_asked_conditionally(web: Settings, site: Site) -> None:
    site.routes["/tram"] = page("Tram line approved")
    site.routes["/budget"] = page("Budget row over trams")
    site.routes["/feed.xml"] = Route(
        rss(site, [("t1", "Tram line approved", "/tram"), ("t2", "Budget row", "/budget")]),
        type="application/rss+xml",
        etag='"v1"',
    )
    feed = feeds.add_feed(web, site.url("/feed.xml"))
    assert feed.title == "The Testville Post"

    heard: list[tuple[int, int, str]] = []
    first = feeds.sync(web, progress=lambda *step: heard.append(step))
    assert (first.feeds, first.new, first.updated, first.failed) == (1, 2, 0, [])
    assert heard == [
        (0, 1, "fetching The Testville Post"),
        (0, 1, f"fetching {site.url('/tram')}"),
        (0, 1, f"fetching {site.url('/budget')}"),
    ]
    saved = sorted(p.name for p in web.articles_dir.glob("*.md"))
    assert saved == ["2024-03-04-budget-row-over-trams.md", "2024-03-04-tram-line-approved.md"]
    meta = front_matter((web.articles_dir / saved[1]).read_text(encoding="utf-8"))
    assert meta["outlet"] == "The Testville Post" and meta["date"] == "2024-03-04"

    site.requests.clear()
    again = feeds.sync(web)
    assert (again.new, again.updated, again.failed) == (0, 0, [])
    [(path, headers)] = site.requests  # only the feed, and it answered 304
    assert path == "/feed.xml" and headers["If-None-Match"] == '"v1"'
    [listed] = [f.summary() for f in feeds.load_feeds(web)]
    assert listed["entries"] == 2 and listed["last_error"] is None and listed["last_sync"]


def test_a_feed_that_changes_between_syncs(web: Settings, site: Site) -> None:
    site.routes["/a"] = page("First story")
    site.routes["/b"] = page("Second story")
    site.routes["/feed"] = Route(
        rss(site, [("a", "First story", "/a"), ("b", "Second story", "/b")]),
        type="application/rss+xml",
    )
    feeds.add_feed(web, site.url("/feed"))
    assert feeds.sync(web).new == 2
    # Next: b is edited, a drops out of the feed, c is new.
    site.routes["/b"] = page("Second story", "Update: the vote will be held again in May.")
    site.routes["/c"] = page("Third story")
    site.routes["/feed"] = Route(
        rss(site, [("b", "Second story (updated)", "/b"), ("c", "Third story", "/c")]).replace(
            site.url("/c").encode(),
            b"/c",  # a relative link: resolved against the feed
        ),
        type="application/rss+xml",
    )
    report = feeds.sync(web)
    assert (report.new, report.updated, report.failed) == (1, 1, [])
    names = sorted(p.name for p in web.articles_dir.glob("*.md"))
    assert names == [
        "2024-03-04-first-story.md",  # gone from the feed, kept in the folder
        "2024-03-04-second-story.md",
        "2024-03-04-third-story.md",
    ]
    edited = (web.articles_dir / "2024-03-04-second-story.md").read_text(encoding="utf-8")
    assert "held again in May" in edited


def test_an_atom_entry_whose_page_fails_is_saved_from_its_content(
    web: Settings, site: Site
) -> None:
    content = "".join(f"&lt;p&gt;{p}&lt;/p&gt;" for p in STORY)
    site.routes["/atom"] = Route(
        (
            '<?xml version="1.0" encoding="utf-8"?>'
            '<feed xmlns="http://www.w3.org/2005/Atom"><title>Testville Wire</title>'
            "<id>urn:wire</id><updated>2024-05-01T09:00:00Z</updated>"
            "<entry><title>Tram vote</title><id>urn:wire:1</id>"
            f'<link href="{site.url("/gone")}"/><updated>2024-05-01T09:00:00Z</updated>'
            f'<author><name>Ann Lee</name></author><content type="html">{content}</content>'
            "</entry></feed>"
        ).encode(),
        type="application/atom+xml",
    )
    feeds.add_feed(web, site.url("/atom"))
    report = feeds.sync(web)
    assert (report.new, report.failed) == (1, [])
    text = (web.articles_dir / "2024-05-01-tram-vote.md").read_text(encoding="utf-8")
    meta = front_matter(text)
    assert (meta["author"], meta["outlet"]) == ("Ann Lee", "Testville Wire")
    assert "310 million euro" in text


def test_an_entry_that_cannot_be_saved_is_retried_next_sync(web: Settings, site: Site) -> None:
    site.routes["/feed"] = Route(
        rss(site, [("x", "Broken story", "/x")]), type="application/rss+xml", etag='"1"'
    )
    site.routes["/x"] = Route(b"down", status=500)
    feeds.add_feed(web, site.url("/feed"))
    before = snapshot(web.articles_dir)
    report = feeds.sync(web)
    assert report.failed == [
        (site.url("/x"), f"The server of {site.url('/x')} failed (HTTP 500); try again later.")
    ]
    assert snapshot(web.articles_dir) == before
    [feed] = feeds.load_feeds(web)
    assert feed.last_error.startswith("1 of its entries could not be saved")
    assert feed.etag is None  # not kept, so the next sync reads the whole feed again
    site.routes["/x"] = page("Broken story")
    assert feeds.sync(web).new == 1
    [feed] = feeds.load_feeds(web)
    assert (feed.last_error, feed.etag) == (None, '"1"')


def test_a_malformed_feed_is_refused_and_a_broken_one_recorded(web: Settings, site: Site) -> None:
    site.routes["/junk"] = Route(b'{"items": ["not", "a", "feed"]}', type="application/rss+xml")
    site.routes["/page"] = page("Not a feed")
    with pytest.raises(RagError) as caught:
        feeds.add_feed(web, site.url("/junk"))
    message = str(caught.value)
    assert message.startswith(f"{site.url('/junk')} is not an RSS or Atom feed")
    assert message.endswith("(a site's feed often ends in /feed, /rss or /atom.xml).")
    with pytest.raises(RagError) as caught:
        feeds.add_feed(web, site.url("/page"))
    assert str(caught.value) == (
        f"{site.url('/page')} is text/html, not an RSS or Atom feed; "
        "give the address of an RSS or Atom feed."
    )
    assert feeds.load_feeds(web) == []

    # A followed feed that breaks later: its error is recorded, the others go on.
    site.routes["/good"] = Route(rss(site, [("p", "Tram story", "/p")]), type="text/xml")
    site.routes["/p"] = page("Tram story")
    site.routes["/later"] = Route(rss(site, []), type="application/rss+xml")
    feeds.add_feed(web, site.url("/later"))
    feeds.add_feed(web, site.url("/good"))
    site.routes["/later"] = Route(b"<html>maintenance</html", type="application/xml")
    report = feeds.sync(web)
    assert report.new == 1
    [(url, reason)] = report.failed
    assert url == site.url("/later") and "is not an RSS or Atom feed" in reason
    later = feeds.load_feeds(web)[0]
    assert later.last_error == reason


def test_feed_list_and_remove(web: Settings, site: Site) -> None:
    site.routes["/feed"] = Route(rss(site, []), type="application/rss+xml")
    url = site.url("/feed")
    feeds.add_feed(web, url)
    with pytest.raises(RagError, match=r"is already followed; run rag sync to fetch it\.$"):
        feeds.add_feed(web, url)
    feeds.remove_feed(web, url)
    with pytest.raises(RagError) as caught:
        feeds.remove_feed(web, url)
    assert str(caught.value) == f"{url} is not followed; rag feed list shows the feeds."


def test_polling_syncs_until_stopped(web: Settings, site: Site) -> None:
    site.routes["/feed"] = Route(rss(site, [("a", "Polled story", "/a")]), type="text/xml")
    site.routes["/a"] = page("Polled story")
    feeds.add_feed(web, site.url("/feed"))
    stop = threading.Event()
    reports: list[feeds.SyncReport] = []
    thread = threading.Thread(
        target=feeds.poll, args=(web, stop, reports.append, print), kwargs={"interval": 0.2}
    )
    thread.start()
    try:
        while len(reports) < 2:
            stop.wait(0.05)
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
    assert [r.new for r in reports[:2]] == [1, 0]


def test_rag_sync_json_indexes_the_new_articles(
    indexed: Settings, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rag import indexer
    from rag.cli import app

    site.routes["/feed"] = Route(rss(site, [("t", "Tram line approved", "/t")]), type="text/xml")
    site.routes["/t"] = page("Tram line approved")
    monkeypatch.setenv("RAG_ARTICLES_DIR", str(indexed.articles_dir))
    monkeypatch.setenv("RAG_FETCH_ALLOW_PRIVATE", "1")
    before = indexer.status(indexed).documents
    runner = CliRunner()
    added = runner.invoke(app, ["feed", "add", site.url("/feed")])
    assert added.exit_code == 0, added.output
    result = runner.invoke(app, ["sync", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert {k: out[k] for k in ("feeds", "new", "updated", "failed")} == {
        "feeds": 1,
        "new": 1,
        "updated": 0,
        "failed": [],
    }
    assert out["index"]["added"] == 1
    assert indexer.status(indexed).documents == before + 1
    listed = json.loads(runner.invoke(app, ["feed", "list", "--json"]).stdout)
    assert listed["feeds"][0]["entries"] == 1


def test_watching_polls_the_feeds_and_indexes_what_they_bring(
    web: Settings, site: Site, embedder: Embedder
) -> None:
    # As `rag watch` runs them: the poller only writes article files, the watcher indexes.
    import time

    from rag.index_report import IndexReport
    from rag.watch import Watcher

    site.routes["/feed"] = Route(rss(site, [("a", "First story", "/a")]), type="text/xml")
    site.routes["/a"] = page("First story")
    feeds.add_feed(web, site.url("/feed"))
    indexed: list[str] = []
    errors: list[str] = []

    def seen(report: IndexReport) -> None:
        indexed.extend(report.added_files)

    watcher = Watcher(web, debounce=0.5, embedder=embedder, on_run=seen, on_error=errors.append)
    stop = threading.Event()
    threads = [
        threading.Thread(target=watcher.run, args=(stop,)),
        threading.Thread(
            target=feeds.poll,
            args=(web, stop, lambda r: None, errors.append),
            kwargs={"interval": 0.5},
        ),
    ]
    for thread in threads:
        thread.start()

    def wait_for(name: str) -> None:
        deadline = time.monotonic() + 120
        while name not in indexed:
            assert time.monotonic() < deadline, (indexed, errors)
            time.sleep(0.1)

    try:
        wait_for("2024-03-04-first-story.md")
        site.routes["/b"] = page("Second story")
        site.routes["/feed"] = Route(
            rss(site, [("a", "First story", "/a"), ("b", "Second story", "/b")]), type="text/xml"
        )
        wait_for("2024-03-04-second-story.md")  # the next poll brought it, the watcher indexed it
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    assert errors == []


def test_a_sync_looks_at_the_newest_entries_only(web: Settings, site: Site) -> None:
    items = [(f"e{i}", f"Story number {i}", f"/s{i}") for i in range(3)]
    for _, title, path in items:
        site.routes[path] = page(title)
    # Listed oldest first: the newest two (4 and 3 March) are the ones taken.
    feed = rss(site, items).replace(b"Mon, 04 Mar 2024", b"Sat, 02 Mar 2024", 1)
    feed = feed.replace(b"Mon, 04 Mar 2024", b"Sun, 03 Mar 2024", 1)
    site.routes["/feed"] = Route(feed, type="application/rss+xml")
    feeds.add_feed(web, site.url("/feed"))
    report = feeds.sync(web.model_copy(update={"feed_max_entries": 2}))
    assert report.new == 2
    assert sorted(p.name for p in web.articles_dir.glob("*.md")) == [
        "2024-03-03-story-number-1.md",
        "2024-03-04-story-number-2.md",
    ]


def test_an_entry_linking_a_pdf_keeps_the_pdf(web: Settings, site: Site) -> None:
    from pdfs import text_pdf

    pdf = text_pdf([STORY], {"Title": "Council minutes", "CreationDate": "D:20240304"})
    site.routes["/minutes.pdf"] = Route(pdf, type="application/pdf")
    site.routes["/feed"] = Route(
        rss(site, [("m", "Council minutes", "/minutes.pdf")]), type="application/rss+xml"
    )
    feeds.add_feed(web, site.url("/feed"))
    assert feeds.sync(web).new == 1
    assert (web.articles_dir / "2024-03-04-council-minutes.pdf").read_bytes() == pdf
    assert feeds.sync(web).new == 0  # known by its entry id now


def test_a_damaged_feed_list_is_one_sentence_and_left_alone(web: Settings) -> None:
    path = feeds.feeds_path(web)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"feeds": [{"url": ', encoding="utf-8")
    with pytest.raises(RagError) as caught:
        feeds.sync(web)
    message = str(caught.value)
    assert message.startswith(f"The feed list {path} cannot be read (")
    assert message.endswith("); fix or delete the file.") and "\n" not in message
    assert path.read_text(encoding="utf-8") == '{"feeds": [{"url": '
