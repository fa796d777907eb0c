"""`rag add URL`: real pages from a real HTTP server on 127.0.0.1 into the articles folder.

Every failure must end in one sentence naming the fix, and leave the folder (and the
index) exactly as it was.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from conftest import snapshot
from typer.testing import CliRunner
from website import Route, Site, article_html

from rag import clipping
from rag.config import Settings
from rag.documents import FileEntry, load
from rag.fetching import HTML_TYPES, FetchError, fetch
from rag.front_matter import front_matter

HARBOUR = [
    "The harbour of Testville reopened on Tuesday after the storm closed it for nine days, "
    "the port authority said in a statement.",
    "Fishing boats were the first to leave, followed by two ferries to the islands, which "
    "had been cut off since the storm.",
    "Mayor Ada Quill said repairs to the northern pier would cost 4.2 million euros and take "
    "until the spring.",
]


def one_sentence(message: str) -> None:
    assert "\n" not in message and "Traceback" not in message
    assert message.endswith(".") and message.count(". ") <= 1, message


def test_a_page_with_metadata_becomes_a_markdown_article(web: Settings, site: Site) -> None:
    site.routes["/news/harbour"] = Route(
        article_html(
            "Testville harbour reopens",
            HARBOUR,
            author="Jane Roe",
            published="2024-03-05T10:00:00Z",
            outlet="The Testville Post",
            canonical="https://post.example/news/harbour",
        )
    )
    heard: list[tuple[int, int, str]] = []
    report = clipping.add_urls(web, [site.url("/news/harbour")], lambda *s: heard.append(s))
    assert report.skipped == []
    assert heard == [(0, 1, f"fetching {site.url('/news/harbour')}")]
    [saved] = report.added
    assert saved.path == "2024-03-05-testville-harbour-reopens.md"
    assert saved.state == "new" and saved.url == site.url("/news/harbour")
    path = web.articles_dir / saved.path
    text = path.read_text(encoding="utf-8")
    meta = front_matter(text)
    assert meta["title"] == "Testville harbour reopens"
    assert meta["author"] == "Jane Roe"
    assert meta["outlet"] == "The Testville Post"
    assert meta["url"] == "https://post.example/news/harbour"
    assert meta["source_url"] == site.url("/news/harbour")
    assert "Home | World" not in text and "Copyright" not in text  # only the article
    assert "4.2 million euros" in text
    doc = load(FileEntry(path, saved.path), web.max_file_bytes)
    assert doc.title == "Testville harbour reopens"
    assert doc.published == "2024-03-05"


def test_a_page_without_metadata_is_named_by_its_title_and_today(web: Settings, site: Site) -> None:
    site.routes["/plain"] = Route(
        (
            "<html><body><h1>Ferries sail again</h1>"
            + "".join(f"<p>{p}</p>" for p in HARBOUR)
            + "</body></html>"
        ).encode()
    )
    [saved] = clipping.add_urls(web, [site.url("/plain")]).added
    today = datetime.now(UTC).date().isoformat()
    assert saved.path.endswith("-ferries-sail-again.md")
    assert saved.path.startswith(today)  # no date in the page: the day it was fetched
    meta = front_matter((web.articles_dir / saved.path).read_text(encoding="utf-8"))
    assert meta["url"] == site.url("/plain") and "author" not in meta


def test_the_same_url_twice_is_one_file_updated_in_place(web: Settings, site: Site) -> None:
    page = Route(article_html("Harbour reopens", HARBOUR, published="2024-03-05"))
    site.routes["/a"] = page
    [first] = clipping.add_urls(web, [site.url("/a")]).added
    [again] = clipping.add_urls(web, [site.url("/a"), site.url("/a#top")]).added
    assert (again.path, again.state) == (first.path, "unchanged")
    site.routes["/a"] = Route(
        article_html("Harbour reopens", [*HARBOUR, "Correction: the pier cost 4.5 million."])
    )
    [edited] = clipping.add_urls(web, [site.url("/a")]).added
    assert (edited.path, edited.state) == (first.path, "updated")  # its first name kept
    assert "4.5 million" in (web.articles_dir / first.path).read_text(encoding="utf-8")
    assert len(list(web.articles_dir.glob("*.md"))) == 1
    assert not [p for p in web.articles_dir.iterdir() if p.name.startswith(".")]


def test_redirects_are_followed_and_counted(web: Settings, site: Site) -> None:
    site.routes["/old"] = Route(status=301, headers={"Location": "/new"}, type=None)
    site.routes["/new"] = Route(article_html("Moved story", HARBOUR))
    [saved] = clipping.add_urls(web, [site.url("/old")]).added
    meta = front_matter((web.articles_dir / saved.path).read_text(encoding="utf-8"))
    assert meta["url"] == site.url("/new") and meta["source_url"] == site.url("/old")
    # The moved page is found again by either address.
    [again] = clipping.add_urls(web, [site.url("/new")]).added
    assert (again.path, again.state) == (saved.path, "unchanged")

    site.routes["/loop"] = Route(status=302, headers={"Location": "/loop"}, type=None)
    before = snapshot(web.articles_dir)
    report = clipping.add_urls(web, [site.url("/loop")])
    [(url, reason)] = report.skipped
    assert reason == (
        f"{url} redirected more than 5 times; give the final address of the page, "
        "or raise RAG_FETCH_MAX_REDIRECTS."
    )
    assert snapshot(web.articles_dir) == before


@pytest.mark.parametrize(
    ("route", "expected"),
    [
        (Route(b"gone", status=404), "{url} was not found (HTTP 404); check the address."),
        (
            Route(b"oops", status=500),
            "The server of {url} failed (HTTP 500); try again later.",
        ),
        (
            Route(b"\x89PNG\r\n", type="image/png"),
            "{url} is image/png, not a web page (HTML) or a PDF; give the address of a web page "
            "(HTML) or a PDF.",
        ),
        (
            Route(b"<html><body><h1>Subscribe</h1><p>Log in to read.</p></body></html>"),
            "No article text was found at {url} (a paywall, a login page or a page built by "
            "scripts); save it from your browser and upload the file instead.",
        ),
        (
            Route(article_html("Slow", HARBOUR), delay=2.5),
            "{url} did not arrive within 0.5 seconds; try again later or raise RAG_FETCH_TIMEOUT.",
        ),
        (
            Route(b"<rss version='2.0'><channel></channel></rss>", type="application/rss+xml"),
            "{url} is a feed, not an article; follow it with rag feed add and fetch its "
            "articles with rag sync.",
        ),
    ],
    ids=["404", "500", "not-html", "login-wall", "slow", "feed"],
)
def test_each_failure_is_one_sentence_and_changes_nothing(
    web: Settings, site: Site, route: Route, expected: str
) -> None:
    web = web.model_copy(update={"fetch_timeout": 0.5})
    site.routes["/page"] = route
    before = snapshot(web.articles_dir)
    url = site.url("/page")
    report = clipping.add_urls(web, [url])
    assert report.added == []
    [(skipped_url, reason)] = report.skipped
    assert skipped_url == url
    assert reason == expected.format(url=url)
    one_sentence(reason)
    assert snapshot(web.articles_dir) == before


def test_a_50_mb_body_is_stopped_at_the_cap(web: Settings, site: Site) -> None:
    def fifty_megabytes() -> Iterator[bytes]:
        yield b"<html><body><p>"
        for _ in range(50):
            yield b"x" * 1_000_000

    site.routes["/huge"] = Route(fifty_megabytes)  # streamed, no Content-Length
    site.routes["/declared"] = Route(b"<p>" + b"x" * 30_000_000)  # Content-Length says it
    before = snapshot(web.articles_dir)
    report = clipping.add_urls(web, [site.url("/huge"), site.url("/declared")])
    assert [reason for _, reason in report.skipped] == [
        f"{site.url(p)} is larger than 20,000,000 bytes; raise RAG_FETCH_MAX_BYTES to fetch it."
        for p in ("/huge", "/declared")
    ]
    assert snapshot(web.articles_dir) == before


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("file:///etc/passwd", "file:///etc/passwd is not a web address; give an http:// or https:// URL."),
        ("ftp://example.com/a", "ftp://example.com/a is not a web address; give an http:// or https:// URL."),
        ("http:///nohost", "http:///nohost has no host name; give a full http:// or https:// URL."),
        (
            "http://127.0.0.1:9/x",
            "http://127.0.0.1:9/x points at a private or local address (127.0.0.1); only "
            "public sites are fetched, unless you set RAG_FETCH_ALLOW_PRIVATE=1.",
        ),
        (
            "http://169.254.169.254/latest/meta-data/",
            "http://169.254.169.254/latest/meta-data/ points at a private or local address "
            "(169.254.169.254); only public sites are fetched, unless you set "
            "RAG_FETCH_ALLOW_PRIVATE=1.",
        ),
        (
            "http://10.1.2.3/",
            "http://10.1.2.3/ points at a private or local address (10.1.2.3); only public "
            "sites are fetched, unless you set RAG_FETCH_ALLOW_PRIVATE=1.",
        ),
        (
            "http://[::1]/",
            "http://[::1]/ points at a private or local address (::1); only public sites are "
            "fetched, unless you set RAG_FETCH_ALLOW_PRIVATE=1.",
        ),
    ],
)  # fmt: skip
def test_only_public_web_addresses_are_fetched(settings: Settings, url: str, expected: str) -> None:
    assert settings.fetch_allow_private is False  # the default
    with pytest.raises(FetchError) as caught:
        fetch(url, settings, HTML_TYPES)
    assert str(caught.value) == expected


def test_a_local_host_name_is_refused_like_its_address(settings: Settings) -> None:
    # Names are resolved and every address checked (each redirect hop too).
    with pytest.raises(FetchError) as caught:
        fetch("http://localhost:9/admin", settings, HTML_TYPES)
    assert "points at a private or local address" in str(caught.value)
    assert str(caught.value).endswith("unless you set RAG_FETCH_ALLOW_PRIVATE=1.")


def test_rag_add_json_saves_indexes_and_keeps_the_index(
    indexed: Settings, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rag import indexer
    from rag.cli import app
    from rag.retrieval import Retriever

    site.routes["/story"] = Route(
        article_html("Testville harbour reopens", HARBOUR, published="2024-03-05")
    )
    before_docs = indexer.status(indexed).documents
    before = snapshot(indexed.articles_dir)
    monkeypatch.setenv("RAG_ARTICLES_DIR", str(indexed.articles_dir))
    monkeypatch.setenv("RAG_FETCH_ALLOW_PRIVATE", "1")
    missing, story = site.url("/missing"), site.url("/story")
    result = CliRunner().invoke(app, ["add", missing, story, "--json"])
    assert result.exit_code == 1, result.output  # one of the two failed
    out = json.loads(result.stdout)
    assert out["added"] == [
        {"url": story, "path": "2024-03-05-testville-harbour-reopens.md", "state": "new"}
    ]
    assert out["skipped"] == [
        {"url": missing, "reason": f"{missing} was not found (HTTP 404); check the address."}
    ]
    assert out["index"]["added"] == 1
    after = snapshot(indexed.articles_dir)
    assert {k: v for k, v in after.items() if k in before} == before
    assert indexer.status(indexed).documents == before_docs + 1
    [top] = Retriever(indexed).search("How much will the northern pier repairs cost?", k=1)
    assert top.source == "2024-03-05-testville-harbour-reopens.md"
    assert "4.2 million euros" in top.text


def test_a_pdf_link_is_kept_as_a_pdf_once(web: Settings, site: Site) -> None:
    from pdfs import encrypted, image_only_pdf, text_pdf

    pdf = text_pdf(
        [HARBOUR[:2], HARBOUR[2:]], {"Title": "Harbour report", "CreationDate": "D:20240305"}
    )
    site.routes["/report.pdf"] = Route(pdf, type="application/pdf")
    site.routes["/untyped"] = Route(pdf, type=None)  # no Content-Type: the bytes say PDF
    site.routes["/scan.pdf"] = Route(image_only_pdf(), type="application/pdf")
    site.routes["/locked.pdf"] = Route(encrypted(pdf), type="application/pdf")
    report = clipping.add_urls(web, [site.url("/report.pdf")])
    assert [(s.path, s.state) for s in report.added] == [("2024-03-05-harbour-report.pdf", "new")]
    assert (web.articles_dir / "2024-03-05-harbour-report.pdf").read_bytes() == pdf
    again = clipping.add_urls(web, [site.url("/report.pdf")])
    assert [(s.path, s.state) for s in again.added] == [
        ("2024-03-05-harbour-report.pdf", "unchanged")
    ]
    before = snapshot(web.articles_dir)
    bad = clipping.add_urls(web, [site.url("/scan.pdf"), site.url("/locked.pdf")])
    assert bad.skipped == [
        (
            site.url("/scan.pdf"),
            f"{site.url('/scan.pdf')} is an unusable PDF without a text layer (a scan or images "
            "only); run OCR on it (for example ocrmypdf) and add the result.",
        ),
        (
            site.url("/locked.pdf"),
            f"{site.url('/locked.pdf')} is an unusable encrypted PDF that needs a password; save "
            "an unprotected copy and add that.",
        ),
    ]
    assert snapshot(web.articles_dir) == before
    [untyped] = clipping.add_urls(web, [site.url("/untyped")]).added
    assert untyped.path == "2024-03-05-harbour-report-2.pdf"  # another address, same title


def test_a_bad_allow_private_value_is_one_sentence() -> None:
    from rag.config import SettingsError, load_settings

    with pytest.raises(SettingsError) as caught:
        load_settings(fetch_allow_private="maybe")
    assert str(caught.value) == (
        "RAG_FETCH_ALLOW_PRIVATE=maybe is not allowed; use 1 or 0 (true or false)."
    )


def test_a_hand_written_article_naming_the_url_is_never_overwritten(
    web: Settings, site: Site
) -> None:
    site.routes["/a"] = Route(article_html("Harbour reopens", HARBOUR))
    mine = web.articles_dir / "my-notes.md"
    mine.write_text(f"---\ntitle: My notes\nurl: {site.url('/a')}\n---\nMy own words.\n")
    before = snapshot(web.articles_dir)
    [(url, reason)] = clipping.add_urls(web, [site.url("/a")]).skipped
    assert reason == (
        f"{url} is already in the articles folder as my-notes.md, which rag add did not write, "
        "so it is left as it is (move it away to fetch the page again)."
    )
    assert snapshot(web.articles_dir) == before


def test_the_address_connected_to_is_checked_too(site: Site) -> None:
    # DNS may answer a public address to the check and a private one to the connection
    # (rebinding): the peer of the real connection is checked before the body is read.
    import httpx

    from rag.fetching import _check_peer

    site.routes["/a"] = Route(b"<p>hi</p>")
    with httpx.Client() as client:
        response = client.send(client.build_request("GET", site.url("/a")), stream=True)
        try:
            with pytest.raises(FetchError) as caught:
                _check_peer(site.url("/a"), response)
        finally:
            response.close()
    assert "points at a private or local address (127.0.0.1)" in str(caught.value)
