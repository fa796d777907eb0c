"""What an article's first lines say about it: ``Published:``/``Updated:`` lines, a byline
with the outlet it names (``By Jane Roe | Reuters``, ``By Jane Roe, Reuters``, ``Jane Roe —
Reuters``, ``By Jane Roe (Reuters)``), ``Author:`` and ``Source:`` lines; and the language
the text is written in.  These fill only what front matter, HTML or PDF info leave out.
"""

from __future__ import annotations

import re

from rag.language import language_of
from rag.metadata import LONG_DATE, ArticleMeta, parse_date, stated_date

# Lines near the top that label the article: "Published: May 3, 2025", "By Jane Roe".
_HEAD_LINES = 12
_LABEL = re.compile(
    r"^\s*(?P<label>published|updated|last updated|author|byline|outlet|publisher|source)"
    r"(?:\s+on)?\s*(?P<colon>:?)\s*(?P<value>\S.*?)\s*$",
    re.I,
)
_BY = re.compile(r"^\s*(?:By|BY|Written by)\s+(?P<byline>\S.*?)\s*$")
_NAME_WORD = re.compile(r"^(?:[A-Z][\w.'’-]*|[A-Z]\.|de|van|von|der|al|bin|da|di|le|la)$")
# What parts a byline: "Jane Roe | Reuters", "Jane Roe · Reuters", "Jane Roe — Reuters".
_SEPARATOR = re.compile(r"\s*(?:[|·•/]|\s-\s|[–—])\s*")
_OUTLET_WORD = re.compile(
    r"^(?:[A-Z0-9][\w.'’&!-]*|&|of|the|and|for|de|du|des|der|die|la|le|el|il|del|al)$"
)
# A comma part that names an outlet rather than a person ("Jane Roe, Northern Post").
_OUTLET_HINTS = {
    "agency", "broadcasting", "chronicle", "daily", "digest", "express", "gazette",
    "guardian", "herald", "independent", "journal", "magazine", "media", "monitor",
    "network", "news", "newspaper", "observer", "online", "post", "press", "radio",
    "review", "service", "standard", "star", "telegraph", "times", "today", "tribune",
    "tv", "weekly", "wire",
}  # fmt: skip
# A comma part that is a job, not a name ("Jane Roe, Staff Writer"): dropped.
_ROLE_WORDS = {
    "analyst", "bureau", "chief", "columnist", "contributor", "correspondent", "editor",
    "journalist", "photographer", "producer", "reporter", "staff", "writer",
}  # fmt: skip
# A part after a separator that is no outlet: "| Updated ...", "| Opinion", "| 4 min read".
_NOT_OUTLETS = {
    "analysis", "comment", "edited", "editorial", "exclusive", "explainer", "feature",
    "file", "illustration", "last", "live", "opinion", "photo", "photos", "posted",
    "published", "read", "updated", "video",
}  # fmt: skip


def from_text_head(text: str) -> ArticleMeta:
    """What an article's text says about itself: byline and date lines at its top, and
    the language it is written in (detected: a declared language wins over it, as every
    value read here fills only what front matter, HTML or PDF info leave out).

    A byline may name the outlet after the names: ``By Jane Roe | Reuters``, ``By Jane
    Roe, Reuters``, ``By Jane Roe (Reuters)``; without "By", ``Jane Roe — Reuters`` below
    the first line (which is the title) is one too.
    """
    lines = [line for line in text[:1500].splitlines() if line.strip()][:_HEAD_LINES]
    published = updated = author = outlet = note = None
    for i, line in enumerate(lines):
        if len(line) > 160:
            continue
        found: tuple[str | None, str | None] = (None, None)
        if m := _LABEL.match(line):
            label, value = m.group("label").lower(), m.group("value")
            if label == "published" and published is None and note is None:
                # "Published reports say ..." is a sentence: only "Published:" must be a date.
                if m.group("colon"):
                    published, note = stated_date(value, "the 'Published' line")
                else:
                    published = parse_date(value)
            elif label.endswith("updated") and updated is None:
                updated = parse_date(value)
            elif label in ("author", "byline"):
                found = byline(re.sub(r"^by\s+", "", value, flags=re.I))
            elif m.group("colon"):  # "Source: Reuters"; "Source said ..." is a sentence
                found = (None, outlet_name(value))
        elif m := _BY.match(line):
            found = byline(m.group("byline"))
        elif i > 0 and not line.lstrip().startswith("#"):
            found = byline(line, strict=True)
        author = author or found[0]
        outlet = outlet or found[1]
    return ArticleMeta(
        published=published,
        updated=updated,
        author=author,
        outlet=outlet,
        language=language_of(text),
        date_note=note,
    )


def byline(value: str, strict: bool = False) -> tuple[str | None, str | None]:
    """``Jane Roe and Ali Khan | Reuters, 3 May 2025`` -> (``Jane Roe, Ali Khan``, ``Reuters``).

    The names are one to four names of capitalised words ("Jane Roe in Moscow" is Jane
    Roe); anything else after "By" ("By the end of the week ...") is ordinary text, not
    a byline, and gives (None, None).  The outlet follows a separator (``|``, ``·``, a
    dash), a last comma (when it reads as an outlet: one word such as "Reuters", or a
    word such as Post, News, Times, Gazette) or stands in brackets.  ``strict``, for a
    line without "By": full names only, and an outlet after a separator.
    """
    value = LONG_DATE.split(value)[0]
    value = re.split(r"\b(?:19|20)\d\d-\d\d-\d\d\b", value)[0]
    segments = [s.strip(" ,.;:") for s in _SEPARATOR.split(value)]
    names, outlet = segments[0], None
    if m := re.fullmatch(r"(.*?)\s*\(([^()]+)\)", names):  # "Jane Roe (Reuters)"
        names, outlet = m.group(1), outlet_name(m.group(2))
    names = re.split(r"\s\d", names)[0]
    parts = [p.strip(" ,.;") for p in re.split(r",|;", names)]
    parts = [p for p in parts if p and not _ROLE_WORDS & {w.lower() for w in p.split()}]
    if not strict and len(parts) >= 2 and outlet is None and _reads_as_outlet(parts[-1]):
        outlet = outlet_name(parts.pop())
    people = [
        re.sub(r"\s+in\s+[A-Z][\w.'’-]*(?:\s+[A-Z][\w.'’-]*)*$", "", person.strip())
        for part in parts
        for person in re.split(r"\s+(?:and|&)\s+", part)
    ]
    if not 1 <= len(people) <= 4 or not all(_person(p, strict) for p in people):
        return None, None
    for segment in segments[1:]:
        outlet = outlet or outlet_name(segment)
    if strict and outlet is None:
        return None, None
    return ", ".join(people), outlet


def _person(name: str, strict: bool) -> bool:
    words = name.split()
    return (
        (2 if strict else 1) <= len(words) <= 4
        and all(_NAME_WORD.match(w) for w in words)
        and words[0][0].isupper()
    )


def outlet_name(value: str) -> str | None:
    """``Reuters``, ``The Northern Post`` as written; None for what reads as no outlet
    (a date, "Updated ...", "4 min read", a section such as "Opinion", a sentence)."""
    value = " ".join(value.split()).strip(" ,.;:")
    words = value.split()
    if not 1 <= len(words) <= 6 or re.search(r"\d", value):
        return None
    if words[0].lower() in _NOT_OUTLETS or not words[0][0].isupper():
        return None
    if not all(_OUTLET_WORD.match(w) for w in words):
        return None
    return value[:200]


def _reads_as_outlet(part: str) -> bool:
    words = part.split()
    return len(words) == 1 or any(
        w.lower() in _OUTLET_HINTS or (len(w) > 1 and w.isupper()) for w in words
    )
