"""Files -> Document: text, title, dates, and a clear reason for every bad input."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import run_process

from rag.documents import DocumentError, FileEntry, content_hash, decode, iter_files, load

MAX = 5_000_000


def entry(path: Path, root: Path | None = None) -> FileEntry:
    root = root or path.parent
    return FileEntry(path=path, source=path.relative_to(root).as_posix())


def write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


# --- good files --------------------------------------------------------------


def test_txt_keeps_the_file_text_title_and_metadata(tmp_path: Path) -> None:
    text = "\n\n  Storm closes the harbour  \nPublished March 3, 2024.\n\nBoats stayed in port.\n"
    path = write(tmp_path / "storm.txt", text)
    doc = load(entry(path), MAX)
    assert doc.text == text  # offsets into the document are offsets into the file
    assert doc.title == "Storm closes the harbour"
    assert doc.published == "2024-03-03"
    assert doc.source == "storm.txt"
    assert doc.size == len(text.encode("utf-8"))
    assert doc.modified == path.stat().st_mtime
    assert doc.content_hash == content_hash(path.read_bytes())


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Updated 2023-11-05 09:00", "2023-11-05"),
        ("LONDON, 7 June 2022 - Officials said", "2022-06-07"),
        ("By A. Writer | January 15, 2021", "2021-01-15"),
        ("No date is given here.", None),
    ],
)
def test_published_date_found_near_the_top(tmp_path: Path, line: str, expected: str | None) -> None:
    path = write(tmp_path / "a.txt", f"Headline\n{line}\nBody text follows here.\n")
    assert load(entry(path), MAX).published == expected


def test_markdown_front_matter_gives_title_and_date(tmp_path: Path) -> None:
    text = '---\ntitle: "Council approves budget"\ndate: 2024-02-01T08:30:00Z\n---\n# Ignored heading\n\nThe council voted.\n'
    doc = load(entry(write(tmp_path / "budget.md", text)), MAX)
    assert doc.title == "Council approves budget"
    assert doc.published == "2024-02-01"
    assert doc.text == text


def test_markdown_without_title_uses_first_heading_after_front_matter(tmp_path: Path) -> None:
    text = "---\ndate: 2024-02-01\n---\n\n# Council approves budget\n\nThe council voted.\n"
    doc = load(entry(write(tmp_path / "budget.md", text)), MAX)
    assert doc.title == "Council approves budget"
    assert doc.published == "2024-02-01"


HTML = """<!doctype html>
<html><head>
  <title>Bridge reopens after repairs | Daily Paper</title>
  <meta property="article:published_time" content="2024-05-06T07:00:00+02:00">
  <style>body { color: red; } .hidden-style-text {}</style>
  <script>var trackingSecret = "do-not-index";</script>
</head>
<body>
  <nav><a href="/">Home</a> <a href="/world">World news menu</a></nav>
  <header>Subscribe today banner</header>
  <article>
    <h1>Bridge reopens</h1>
    <p>The <b>old</b> bridge reopened
       on Monday after two years.</p>
    <p>Traffic&nbsp;was light.<br>Cyclists were pleased.</p>
    <script>console.log("inline script text")</script>
    <!-- an editor's comment -->
  </article>
  <aside>Related: other stories</aside>
  <footer>Copyright footer text</footer>
</body></html>
"""


def test_html_keeps_only_the_visible_main_text(tmp_path: Path) -> None:
    doc = load(entry(write(tmp_path / "bridge.html", HTML)), MAX)
    assert doc.title == "Bridge reopens after repairs | Daily Paper"
    assert doc.published == "2024-05-06"
    lines = doc.text.split("\n")
    assert lines == [
        "Bridge reopens",
        "The old bridge reopened on Monday after two years.",  # inline tags do not cut it
        "Traffic was light.",
        "Cyclists were pleased.",
    ]
    for hidden in ("trackingSecret", "color: red", "inline script", "World news menu",
                   "Subscribe", "Related", "Copyright", "editor's comment", "<"):  # fmt: skip
        assert hidden not in doc.text


def test_html_without_title_uses_first_line_and_time_tag(tmp_path: Path) -> None:
    html = "<html><body><main><h2>Rates rise</h2><time datetime='2023-09-14'>Sept 14</time><p>Banks moved.</p></main></body></html>"
    doc = load(entry(write(tmp_path / "rates.htm", html)), MAX)
    assert doc.title == "Rates rise"
    assert doc.published == "2023-09-14"


def test_utf16_with_bom_and_crlf_are_read(tmp_path: Path) -> None:
    path = write(tmp_path / "w.txt", "Windows title\r\nLine two.\r\n".encode("utf-16"))
    doc = load(entry(path), MAX)
    assert doc.title == "Windows title"
    assert doc.text == "Windows title\nLine two.\n"


@pytest.mark.parametrize(
    ("encoding", "text"),
    [
        ("cp1252", "The café’s owner said the “soufflé” was déjà vu — naïve critics agreed."),
        ("latin-1", "Le garçon a mangé une crème brûlée à Noël, à côté de l'église du village."),
        ("cp1252", "Zürich: Die Straße war gesperrt, sagte Müller. Über 200 Menschen kamen."),
    ],
)
def test_legacy_western_encodings_are_guessed_right(
    tmp_path: Path, encoding: str, text: str
) -> None:
    path = write(tmp_path / "legacy.txt", (text + "\n").encode(encoding))
    assert load(entry(path), MAX).text == text + "\n"


def test_other_legacy_encodings_still_decode(tmp_path: Path) -> None:
    text = "Москва — столица России, крупнейший по численности населения город страны.\n"
    path = write(tmp_path / "ru.txt", text.encode("cp1251"))
    assert load(entry(path), MAX).text == text


def test_iter_files_is_recursive_sorted_and_skips_hidden_and_other_types(tmp_path: Path) -> None:
    for name in ["b.txt", "a.md", "sub/c.html", "sub/deep/d.htm", ".hidden.txt",
                 ".git/e.txt", "notes.pdf", "image.png"]:  # fmt: skip
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    assert [e.source for e in iter_files(tmp_path)] == [
        "a.md",
        "b.txt",
        "notes.pdf",
        "sub/c.html",
        "sub/deep/d.htm",
    ]


# --- bad input: one clear reason each ------------------------------------------


def _reason(path: Path, max_bytes: int = MAX) -> str:
    with pytest.raises(DocumentError) as err:
        load(entry(path), max_bytes)
    message = str(err.value)
    assert "\n" not in message and len(message) < 200  # one sentence, not a dump
    return message


def test_binary_file(tmp_path: Path) -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8
    assert "binary" in _reason(write(tmp_path / "photo.txt", png))


def test_empty_and_blank_files(tmp_path: Path) -> None:
    assert "empty" in _reason(write(tmp_path / "empty.txt", b""))
    assert "no text" in _reason(write(tmp_path / "blank.txt", "  \n\n\t \n"))
    assert "no readable text" in _reason(
        write(tmp_path / "blank.html", "<html><script>x()</script><body> </body></html>")
    )
    only_front = write(tmp_path / "only.md", "---\ntitle: A title\ndate: 2025-06-01\n---\n\n")
    assert "no text after its front matter" in _reason(only_front)


def test_undecodable_bytes(tmp_path: Path) -> None:
    import random

    rng = random.Random(7)
    noise = bytes(rng.randrange(128, 256) for _ in range(4096))
    assert "undecodable" in _reason(write(tmp_path / "noise.txt", noise))
    with pytest.raises(DocumentError, match="UTF-8"):
        decode(noise)


def test_huge_file(tmp_path: Path) -> None:
    path = write(tmp_path / "huge.txt", "word " * 400)
    reason = _reason(path, max_bytes=1000)
    assert "too large" in reason and "RAG_MAX_FILE_BYTES" in reason
    assert load(entry(path), 5000).text.startswith("word")


def test_broken_symlink(tmp_path: Path) -> None:
    link = tmp_path / "gone.txt"
    link.symlink_to(tmp_path / "missing.txt")
    assert [e.source for e in iter_files(tmp_path)] == ["gone.txt"]  # reported, not dropped
    assert "broken symbolic link" in _reason(link)


def test_unreadable_file(tmp_path: Path, unprivileged: Callable[[list[str]], list[str]]) -> None:
    """chmod 000; root reads such files anyway, so the loader runs without that power."""
    path = write(tmp_path / "secret.txt", "Secret title\nBody.\n")
    path.chmod(0o000)
    code = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from rag.documents import DocumentError, FileEntry, load\n"
        "p = Path(sys.argv[1])\n"
        "try:\n"
        "    load(FileEntry(p, p.name), 10**6); print(json.dumps('loaded'))\n"
        "except DocumentError as e:\n"
        "    print(json.dumps(str(e)))\n"
    )
    try:
        out = run_process(
            unprivileged([sys.executable, "-c", code, str(path)]),
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        path.chmod(0o644)
    reason = json.loads(out.stdout)
    assert "cannot be read" in reason and "permissions" in reason


# --- PDFs: text with page numbers --------------------------------------------------

# Three pages of distinct facts, long enough that chunks straddle the page breaks.
REPORT = [
    [
        "Testville harbour report, March 2024.",
        "The harbour of Testville reopened on Tuesday after the storm closed it for nine days.",
        "Fishing boats were the first to leave, followed by two ferries to the islands.",
        "The port authority counted forty boats in the first hour after the reopening.",
    ],
    [
        "The northern pier lost two cranes and most of its lighting during the storm.",
        "Mayor Ada Quill said repairs to the northern pier would cost 4.2 million euros.",
        "Work on the pier is planned to last until the spring of next year.",
    ],
    [
        "The lighthouse keeper, Tomas Brell, logged winds of 140 kilometres per hour.",
        "Insurance claims from the harbour businesses reached 11 million euros by Friday.",
        "A public meeting about flood barriers is set for the town hall on 12 April.",
    ],
]


def test_a_pdf_is_read_page_by_page(tmp_path: Path) -> None:
    from pdfs import text_pdf

    info = {"Title": "Harbour report", "Author": "Port authority", "CreationDate": "D:20240305"}
    path = write(tmp_path / "report.pdf", text_pdf(REPORT, info))
    doc = load(entry(path), MAX)
    assert doc.title == "Harbour report" and doc.published == "2024-03-05"
    assert doc.metadata == {"title": "Harbour report", "author": "Port authority"}
    assert len(doc.pages) == 3 and doc.pages[0] == 0
    for number, lines in enumerate(REPORT, 1):
        for line in lines:
            at = doc.text.index(line)
            assert doc.page_at(at) == number and doc.page_at(at + len(line) - 1) == number
    assert doc.text[doc.pages[1] - 2 : doc.pages[1]] == "\n\n"  # pages apart by a blank line
    txt = write(tmp_path / "a.txt", "Plain text has no pages at all.")
    assert load(entry(txt), MAX).page_at(3) is None


def test_pdf_lines_wrapped_by_the_column_become_whole_sentences(tmp_path: Path) -> None:
    from pdfs import text_pdf

    column = [
        "Harbour report",
        "The harbour of Testville reopened on Tuesday after the storm had",
        "closed it for nine days, and the port authority said the repa-",
        "irs to the northern pier would cost 4.2 million euros in total.",
        "Boats left at dawn.",
        "A second paragraph says the ferries to the islands run again from",
        "Wednesday, twice a day, until the end of the month.",
    ]
    doc = load(entry(write(tmp_path / "column.pdf", text_pdf([column]))), MAX)
    assert doc.text.split("\n") == [
        "Harbour report",
        "The harbour of Testville reopened on Tuesday after the storm had closed it for nine "
        "days, and the port authority said the repairs to the northern pier would cost 4.2 "
        "million euros in total. Boats left at dawn.",
        "A second paragraph says the ferries to the islands run again from Wednesday, twice a "
        "day, until the end of the month.",
    ]


def test_a_scanned_pdf_and_an_encrypted_pdf_are_refused_with_a_reason(tmp_path: Path) -> None:
    from pdfs import encrypted, image_only_pdf, text_pdf

    scan = write(tmp_path / "scan.pdf", image_only_pdf())
    assert _reason(scan) == (
        "PDF without a text layer (a scan or images only); run OCR on it "
        "(for example ocrmypdf) and add the result"
    )
    locked = write(tmp_path / "locked.pdf", encrypted(text_pdf(REPORT)))
    assert _reason(locked) == (
        "encrypted PDF that needs a password; save an unprotected copy and add that"
    )
    broken = write(tmp_path / "broken.pdf", b"%PDF-1.4\nnot really a pdf")
    assert _reason(broken).startswith("not a readable PDF (")
    # Encrypted with an empty user password: anyone can read it, and so do we.
    open_pdf = write(tmp_path / "open.pdf", encrypted(text_pdf(REPORT), password=""))
    assert "4.2 million euros" in load(entry(open_pdf), MAX).text


def test_pdf_passages_and_citations_carry_their_page(
    indexed: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pdfs import encrypted, image_only_pdf, text_pdf

    from rag import indexer
    from rag.citations import Citation
    from rag.config import Settings
    from rag.retrieval import Retriever

    assert isinstance(indexed, Settings)
    folder = indexed.articles_dir
    before = indexer.status(indexed)
    write(folder / "report.pdf", text_pdf(REPORT, {"Title": "Harbour report"}))
    write(folder / "scan.pdf", image_only_pdf())
    write(folder / "locked.pdf", encrypted(text_pdf(REPORT)))
    report = indexer.run(indexed)
    assert report.added == 1
    assert {s.path: s.reason for s in report.skipped} == {
        "locked.pdf": "encrypted PDF that needs a password; save an unprotected copy and add that",
        "scan.pdf": "PDF without a text layer (a scan or images only); run OCR on it "
        "(for example ocrmypdf) and add the result",
    }
    assert indexer.status(indexed).documents == before.documents + 1

    retriever = Retriever(indexed)
    for question, page in [
        ("What wind speed did the lighthouse keeper Tomas Brell log?", 3),
        ("How much will the northern pier repairs cost?", 2),
        ("How many boats did the port authority count in the first hour?", 1),
    ]:
        [top] = retriever.search(question, k=1, filters=None)
        assert top.source == "report.pdf"
        fact = {3: "140 kilometres", 2: "4.2 million euros", 1: "forty boats"}[page]
        at = top.text.index(fact)
        citation = Citation.of(1, top, True, 1.0, (at, at + len(fact)))
        assert citation.page == page  # the page of the quoted sentence
        assert citation.to_dict()["page"] == page
        assert top.to_dict()["page"] == top.page_at(top.start)
    seed = retriever.search("Istanbul memorandum", k=1)[0]
    assert seed.source != "report.pdf" and seed.to_dict()["page"] is None

    from typer.testing import CliRunner

    from rag.cli import app

    monkeypatch.setenv("RAG_ARTICLES_DIR", str(folder))
    shown = CliRunner().invoke(app, ["search", "Tomas Brell lighthouse winds", "-k", "1"])
    assert shown.exit_code == 0 and "[1] report.pdf, p. 3  chars " in shown.stdout
    as_json = CliRunner().invoke(
        app, ["search", "Tomas Brell lighthouse winds", "-k", "1", "--json"]
    )
    assert json.loads(as_json.stdout)["passages"][0]["page"] == 3

    # A passage running over a page break says so: "pp. 1–2" on its card and in the terminal.
    from rag.cli_common import page_label
    from rag.retrieval import Filters

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # ui/ sits beside rag/
    from ui import cards

    every = retriever.search("harbour pier storm", k=10, filters=Filters.parse("report.pdf"))
    spanning = [p for p in every if "\n\n" in p.text]
    assert spanning, [p.text for p in every]
    for p in spanning:
        assert p.last_page == p.page + len(p.page_breaks) > p.page
        assert f"pp. {p.page}\u2013{p.last_page}" in cards.passage_card(p)
        assert page_label(p) == f", pp. {p.page}\u2013{p.last_page}"


# --- news metadata ---------------------------------------------------------------------


def test_front_matter_gives_author_outlet_url_language_and_updated(tmp_path: Path) -> None:
    text = (
        "---\ntitle: Talks resume\ndate: 2025-05-03\nupdated: 2025-05-05T10:00:00Z\n"
        "authors: [Jane Roe, Ali Khan]\noutlet: Harbour Gazette\n"
        "url: https://gazette.example/talks\nlanguage: en-GB\n---\n# Talks resume\n\nBody.\n"
    )
    for name in ("talks.md", "talks.txt"):  # front matter in a .txt is read too
        doc = load(entry(write(tmp_path / name, text)), MAX)
        assert (doc.published, doc.updated) == ("2025-05-03", "2025-05-05")
        assert doc.author == "Jane Roe, Ali Khan" and doc.outlet == "Harbour Gazette"
        assert doc.url == "https://gazette.example/talks" and doc.language == "en-gb"
        assert doc.title == "Talks resume" and doc.date_note is None and doc.text == text


def test_html_meta_tags_give_author_outlet_url_language_and_dates(tmp_path: Path) -> None:
    html = (
        '<html lang="en-US"><head><title>Talks resume | Example News</title>'
        '<meta property="og:site_name" content="Example News">'
        '<meta name="author" content="Jane Roe">'
        '<link rel="canonical" href="https://example.com/a/talks">'
        '<meta property="article:published_time" content="2025-05-03T10:00:00Z">'
        '<meta property="article:modified_time" content="2025-05-04T08:00:00Z">'
        "</head><body><article><p>The talks resumed on Saturday in Geneva.</p></article>"
        "</body></html>"
    )
    doc = load(entry(write(tmp_path / "talks.html", html)), MAX)
    assert (doc.published, doc.updated) == ("2025-05-03", "2025-05-04")
    assert (doc.author, doc.outlet, doc.language) == ("Jane Roe", "Example News", "en-us")
    assert doc.url == "https://example.com/a/talks"
    assert doc.text == "The talks resumed on Saturday in Geneva."


def test_html_json_ld_gives_authors_publisher_dates_and_language(tmp_path: Path) -> None:
    ld = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": "Talks resume",
        "datePublished": "2025-05-03T10:00:00Z",
        "dateModified": "2025-05-06T08:00:00Z",
        "inLanguage": "fr",
        "author": [{"@type": "Person", "name": "Jean Dupont"}, {"name": "Ana Lima"}],
        "publisher": {"@type": "Organization", "name": "Le Quotidien"},
        "mainEntityOfPage": {"@id": "https://quotidien.example/talks"},
    }
    html = (
        "<html><head><title>Talks resume</title>"
        f'<script type="application/ld+json">{json.dumps(ld)}</script></head>'
        "<body><article><p>Les pourparlers ont repris samedi.</p></article></body></html>"
    )
    doc = load(entry(write(tmp_path / "talks.html", html)), MAX)
    assert (doc.published, doc.updated) == ("2025-05-03", "2025-05-06")
    assert doc.author == "Jean Dupont, Ana Lima" and doc.outlet == "Le Quotidien"
    assert doc.language == "fr" and doc.url == "https://quotidien.example/talks"


def test_by_and_published_lines_give_byline_and_dates(tmp_path: Path) -> None:
    text = (
        "Strike halts traffic\nBy Marco Silva and Ana Lima | Northern Post\n"
        "Published: May 20, 2025\nUpdated: May 21, 2025\n\nBy the end of the day 38 ships waited.\n"
    )
    doc = load(entry(write(tmp_path / "strike.txt", text)), MAX)
    assert (doc.published, doc.updated) == ("2025-05-20", "2025-05-21")
    assert (doc.author, doc.outlet) == ("Marco Silva, Ana Lima", "Northern Post")
    assert doc.date_note is None and doc.text == text


@pytest.mark.parametrize(
    "line", ["By the end of the week, talks had resumed.", "By 2025 the port will double."]
)
def test_a_sentence_starting_with_by_is_no_byline(tmp_path: Path, line: str) -> None:
    doc = load(entry(write(tmp_path / "a.txt", f"Headline\n{line}\nMore text.\n")), MAX)
    assert doc.author is None


def test_a_pdf_gives_its_author(tmp_path: Path) -> None:
    from pdfs import text_pdf

    path = write(tmp_path / "report.pdf", text_pdf(REPORT, {"Author": "Port authority"}))
    assert load(entry(path), MAX).author == "Port authority"


@pytest.mark.parametrize(
    ("name", "text", "note"),
    [
        ("a.md", "---\ndate: 2025-02-30\n---\nHeadline\nBody.\n", "'2025-02-30' is not a real"),
        ("b.md", "---\ndate: soon\n---\nHeadline\nBody.\n", "'soon' is not a real date"),
        ("c.txt", "Headline\nPublished: February 30, 2025\n\nBody 2025-03-02.\n", "February 30"),
    ],
)
def test_an_impossible_date_is_dropped_with_a_note(
    tmp_path: Path, name: str, text: str, note: str
) -> None:
    doc = load(entry(write(tmp_path / name, text)), MAX)
    assert doc.published is None  # no other date near the top stands in for it
    assert doc.date_note and note in doc.date_note and "indexed without a date" in doc.date_note


def test_no_date_and_a_future_date_are_read_as_they_are(tmp_path: Path) -> None:
    undated = load(entry(write(tmp_path / "a.txt", "Headline\nNo date at all.\n")), MAX)
    assert undated.published is None and undated.date_note is None
    future = load(entry(write(tmp_path / "b.md", "---\ndate: 2091-01-02\n---\nHi.\n")), MAX)
    assert future.published == "2091-01-02"  # kept; the indexer reports it (test_indexer)
