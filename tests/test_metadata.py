"""What an article says about itself, read from its text: bylines with outlets, language.

Pure functions of ``rag.metadata`` and ``documents.load`` on real files; the store
side (metadata kept with every chunk, odd dates flagged) is tests/test_news_metadata.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.documents import FileEntry, load
from rag.language import language_of
from rag.text_head import from_text_head

TITLE = "Harbour strike ends after eleven days"
BODY = "The strike at the port ended on Monday after the union accepted a pay rise."


def head(*lines: str) -> tuple[str | None, str | None]:
    """(author, outlet) read from an article whose top holds ``lines`` under its title."""
    meta = from_text_head("\n".join([TITLE, *lines, "", BODY]))
    return meta.author, meta.outlet


@pytest.mark.parametrize(
    "line",
    [
        "By Jane Doe | Reuters",
        "By Jane Doe, Reuters",
        "Jane Doe — Reuters",
        "Jane Doe – Reuters",
        "Jane Doe | Reuters",
        "By Jane Doe (Reuters)",
        "By Jane Doe · Reuters · 3 May 2025",
        "By Jane Doe, Reuters, May 3, 2025",
        "By Jane Doe in Moscow | Reuters",
        "By Jane Doe, Chief Economics Correspondent | Reuters",
        "BY Jane Doe - Reuters",
        "Byline: Jane Doe, Reuters",
        "Author: Jane Doe | Reuters",
    ],
)
def test_a_byline_names_the_author_and_the_outlet(line: str) -> None:
    assert head(line) == ("Jane Doe", "Reuters")


@pytest.mark.parametrize(
    ("line", "author", "outlet"),
    [
        ("By Jane Roe and Ali Khan | AFP", "Jane Roe, Ali Khan", "AFP"),
        ("By Jane Roe and Ali Khan, Associated Press", "Jane Roe, Ali Khan", "Associated Press"),
        ("By Marco Silva, Northern Post", "Marco Silva", "Northern Post"),
        ("By Jean-Luc Dubois · The Harbour Gazette", "Jean-Luc Dubois", "The Harbour Gazette"),
        # Theresa May is a name, not a date.
        ("By Theresa May, BBC News", "Theresa May", "BBC News"),
    ],
)
def test_several_authors_and_outlets_of_several_words(line: str, author: str, outlet: str) -> None:
    assert head(line) == (author, outlet)


@pytest.mark.parametrize(
    ("line", "author"),
    [
        ("By Jane Roe, Ali Khan", "Jane Roe, Ali Khan"),  # two people, no outlet
        ("By Jane Roe and Ali Khan, 3 May 2025", "Jane Roe, Ali Khan"),
        ("By Jane Doe, Staff Writer", "Jane Doe"),
        ("By Jane Doe | Updated May 3, 2025", "Jane Doe"),
        ("By Jane Doe | 4 min read", "Jane Doe"),
        ("By Jane Doe | Opinion", "Jane Doe"),  # a section, not an outlet
        ("By Jane Doe - 2025-05-03", "Jane Doe"),
    ],
)
def test_what_follows_the_names_is_not_always_an_outlet(line: str, author: str) -> None:
    assert head(line) == (author, None)


@pytest.mark.parametrize(
    "lines",
    [
        ("By the end of the week, Reuters said, the port would reopen.",),
        ("VALMORA — The strike at the port ended on Wednesday.",),
        ("Talks — Istanbul",),  # one word is no full name, without "By"
        ("Ships wait — the port is closed",),
        ("Source said the talks would resume.",),
    ],
)
def test_ordinary_lines_are_no_byline(lines: tuple[str, ...]) -> None:
    assert head(*lines) == (None, None)


def test_the_title_line_is_never_read_as_a_byline() -> None:
    meta = from_text_head(f"Jane Doe — Reuters\n\n{BODY}")
    assert (meta.author, meta.outlet) == (None, None)


def test_a_source_line_names_the_outlet() -> None:
    assert head("By Jane Doe", "Source: Reuters") == ("Jane Doe", "Reuters")
    assert head("Source: https://example.com/story") == (None, None)


def write(folder: Path, name: str, text: str) -> FileEntry:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return FileEntry(path=path, source=name)


def test_a_files_byline_reaches_the_document(tmp_path: Path) -> None:
    doc = load(write(tmp_path, "a.txt", f"{TITLE}\nBy Jane Doe | Reuters\n\n{BODY}\n"), 10**6)
    assert (doc.author, doc.outlet) == ("Jane Doe", "Reuters")
    # The front matter's outlet wins; the byline fills only what it leaves out.
    doc = load(
        write(
            tmp_path,
            "b.md",
            f"---\noutlet: Northern Post\n---\n# {TITLE}\n\nBy Jane Doe | Reuters\n\n{BODY}\n",
        ),
        10**6,
    )
    assert (doc.author, doc.outlet) == ("Jane Doe", "Northern Post")


# --- language ---------------------------------------------------------------------------

TEXTS = {
    "en": "The strike at the port of Valmora ended on Wednesday after the port authority and "
    "the union agreed a pay rise of 6 percent over two years, both sides said.",
    "fr": "La grève au port de Valmora a pris fin mercredi après que l'autorité portuaire et le "
    "syndicat ont conclu une hausse de salaire de 6 % sur deux ans, ont indiqué les deux parties.",
    "de": "Der Streik im Hafen von Valmora endete am Mittwoch, nachdem sich die Hafenbehörde und "
    "die Gewerkschaft auf eine Lohnerhöhung von 6 Prozent über zwei Jahre geeinigt hatten.",
    "es": "La huelga en el puerto de Valmora terminó el miércoles después de que la autoridad "
    "portuaria y el sindicato acordaran una subida salarial del 6 por ciento en dos años.",
    "ru": "Забастовка в порту Вальмора завершилась в среду после того, как администрация порта "
    "и профсоюз договорились о повышении зарплаты на 6 процентов за два года.",
    "pl": "Strajk w porcie Valmora zakończył się w środę, gdy władze portu i związek zawodowy "
    "uzgodniły podwyżkę płac o 6 procent w ciągu dwóch lat.",
}


@pytest.mark.parametrize("code", sorted(TEXTS))
def test_the_language_is_detected_from_the_text(code: str) -> None:
    assert language_of(TEXTS[code]) == code


@pytest.mark.parametrize("text", ["", "Hi there.", "2025-06-13 12:40 · 17 · 61 · 38", "Ferry"])
def test_too_little_text_gives_no_language(text: str) -> None:
    assert language_of(text) is None


def test_a_declared_language_wins_and_a_missing_one_is_detected(tmp_path: Path) -> None:
    french = f"La grève au port\n\n{TEXTS['fr']}\n"
    assert load(write(tmp_path, "fr.txt", french), 10**6).language == "fr"
    declared = f"---\nlanguage: en-GB\n---\n{french}"  # as stated, even if it looks wrong
    assert load(write(tmp_path, "declared.md", declared), 10**6).language == "en-gb"
    page = (
        "<html><head><title>Grève</title></head><body><article><p>"
        f"{TEXTS['fr']}</p></article></body></html>"
    )
    assert load(write(tmp_path, "fr.html", page), 10**6).language == "fr"
    lang = page.replace("<html>", '<html lang="de">')
    assert load(write(tmp_path, "lang.html", lang), 10**6).language == "de"
    assert load(write(tmp_path, "short.txt", "Ferry\n\nAt nine.\n"), 10**6).language is None
