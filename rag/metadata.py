"""What a news article says about itself: dates, byline, outlet, address, language.

Read once, at indexing time, from where each kind of file keeps it:

- YAML front matter (``.md``, ``.txt``): ``date``/``published``, ``updated``/``modified``,
  ``author``/``byline``/``authors`` (a list is joined), ``outlet``/``site_name``/
  ``publisher``/``source``, ``url``/``canonical``, ``language``/``lang``.  ``rag add``
  writes the first of each.
- HTML: trafilatura's metadata extraction (meta tags, OpenGraph, JSON-LD, microdata;
  dates through htmldate) for author, site name, canonical URL and the published date;
  htmldate once more, for the newest date, gives the updated date; the language is the
  ``<html lang>`` attribute, a ``content-language``/``og:locale`` meta tag or JSON-LD's
  ``inLanguage``, read from the parsed page, never by matching markup.
- The head of the text (any file): a ``By Jane Roe`` line, with the outlet when it
  names one (``By Jane Roe | Reuters``, ``By Jane Roe, Reuters``, ``Jane Roe — Reuters``),
  ``Published: ...``, ``Updated: ...``, ``Author: ...`` and ``Source: ...`` lines, else
  the first date near the top.
- PDF document info: ``/Author`` and ``/CreationDate``.
- The text itself, last: its language, detected (py3langid) when none is declared.

A date that is stated but is no real date (``2025-02-30``, ``date: soon``) is
dropped and the article indexed without one; ``date_note`` says why, and the
indexer reports it.  A date after today is kept as stated (the index must not
depend on the day it was built) and reported too: see :func:`date_warning`.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, fields, replace
from datetime import date, datetime, timedelta
from typing import Any

# Front matter keys, the preferred spelling first (``rag add`` writes that one).
PUBLISHED_KEYS = ("date", "published", "pubdate", "published_at", "date_published")
UPDATED_KEYS = ("updated", "modified", "last_modified", "updated_at", "date_modified")
AUTHOR_KEYS = ("author", "authors", "byline", "by")
OUTLET_KEYS = ("outlet", "site_name", "sitename", "site", "publisher", "publication", "source")
URL_KEYS = ("url", "canonical", "canonical_url", "link")
LANGUAGE_KEYS = ("language", "lang", "locale")

# A date this many days after today is reported (one day of slack: time zones).
FUTURE_SLACK_DAYS = 1


@dataclass(frozen=True)
class ArticleMeta:
    """An article's news metadata; None where the file does not say."""

    published: str | None = None  # ISO date
    updated: str | None = None  # ISO date, only when later than ``published``
    author: str | None = None
    outlet: str | None = None
    url: str | None = None
    language: str | None = None
    date_note: str | None = None  # a stated date that is not a real one, said in words

    def filled_from(self, other: ArticleMeta) -> ArticleMeta:
        """These values, the gaps filled from ``other``."""
        gaps = {
            f.name: getattr(other, f.name)
            for f in fields(self)
            if getattr(self, f.name) is None and getattr(other, f.name) is not None
        }
        return replace(self, **gaps) if gaps else self

    def tidy(self) -> ArticleMeta:
        """An ``updated`` no later than ``published`` says nothing: dropped."""
        if self.updated and self.published and self.updated <= self.published:
            return replace(self, updated=None)
        return self


# --- dates ----------------------------------------------------------------------------

_MONTHS = [
    "january", "february", "march", "april", "may", "june", "july", "august",
    "september", "october", "november", "december",
]  # fmt: skip
_MONTH = "|".join(m.capitalize() for m in _MONTHS)
_ISO_DATE = re.compile(r"\b(19|20)\d\d-[01]\d-[0-3]\d\b")
_LONG_DATE = re.compile(r"\b(" + _MONTH + r")\s+([0-3]?\d),\s+((?:19|20)\d\d)\b")
_DAY_FIRST = re.compile(r"\b([0-3]?\d)\s+(" + _MONTH + r")\s+((?:19|20)\d\d)\b")


def parse_date(value: str) -> str | None:
    """An ISO date (YYYY-MM-DD) from a date or timestamp as metadata gives it, or None."""
    value = value.strip()
    if not value:
        return None
    for candidate in (value[:10], value):
        try:
            return date.fromisoformat(candidate).isoformat()
        except ValueError:
            pass
    try:
        return datetime.fromisoformat(value).date().isoformat()
    except ValueError:
        return date_in_text(value)


def date_in_text(text: str) -> str | None:
    """A publication date stated near the top of the article, if any."""
    head = text[:600]
    if m := _ISO_DATE.search(head):
        try:
            return date.fromisoformat(m.group(0)).isoformat()
        except ValueError:
            pass
    if m := _LONG_DATE.search(head):
        month, day, year = m.groups()
        return safe_date(int(year), _MONTHS.index(month.lower()) + 1, int(day))
    if m := _DAY_FIRST.search(head):
        day, month, year = m.groups()
        return safe_date(int(year), _MONTHS.index(month.lower()) + 1, int(day))
    return None


def safe_date(year: int, month: int, day: int) -> str | None:
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


def pdf_date(value: str) -> str | None:
    """A PDF info date (``D:YYYYMMDDHHmmSS...``) as an ISO date, or None."""
    m = re.match(r"(?:D:)?((?:19|20)\d\d)(\d\d)(\d\d)", value)
    return safe_date(int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else None


def date_warning(published: str | None, today: date) -> str | None:
    """Why an indexed article's date deserves a look: it lies after ``today``."""
    if published and published > (today + timedelta(days=FUTURE_SLACK_DAYS)).isoformat():
        return f"dated {published}, after today ({today.isoformat()}); check the date it gives"
    return None


def _stated_date(value: str, where: str) -> tuple[str | None, str | None]:
    """A stated date and, when it cannot be read as a real date, a note saying so."""
    if not value.strip():
        return None, None
    found = parse_date(value)
    if found is None:
        shown = " ".join(value.split())[:40]
        return None, f"{where} {shown!r} is not a real date; indexed without a date"
    return found, None


# --- front matter ---------------------------------------------------------------------


def from_front_matter(front: dict[str, str]) -> ArticleMeta:
    """The metadata in a file's front matter (keys in lower case, as ``front_matter`` gives)."""

    def first(keys: tuple[str, ...]) -> tuple[str, str] | None:
        for key in keys:
            value = " ".join(str(front.get(key) or "").split())
            if value:
                return key, value
        return None

    published = note = updated = None
    if found := first(PUBLISHED_KEYS):
        published, note = _stated_date(found[1], f"the front matter's {found[0]}")
    if found := first(UPDATED_KEYS):
        updated = parse_date(found[1])
    language = first(LANGUAGE_KEYS)
    return ArticleMeta(
        published=published,
        updated=updated,
        author=_value(first(AUTHOR_KEYS)),
        outlet=_value(first(OUTLET_KEYS)),
        url=_url(_value(first(URL_KEYS))),
        language=_language(language[1]) if language else None,
        date_note=note,
    )


def _value(found: tuple[str, str] | None) -> str | None:
    return found[1][:200] if found else None


# --- the head of the text -------------------------------------------------------------

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
                    published, note = _stated_date(value, "the 'Published' line")
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
    value = _LONG_DATE.split(value)[0]
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


# --- language -------------------------------------------------------------------------

# Detection needs this much text, and this confidence, to say anything.
_LANGUAGE_SAMPLE_CHARS = 3000
_LANGUAGE_MIN_LETTERS = 40
_LANGUAGE_MIN_CONFIDENCE = 0.9


def language_of(text: str) -> str | None:
    """The language ``text`` is written in, as an ISO 639-1 code (``en``, ``fr``), or None
    when it is too short or too mixed to tell.  For articles that do not declare one:
    py3langid (langid.py's naive Bayes model over byte n-grams, 97 languages)."""
    sample = text[:_LANGUAGE_SAMPLE_CHARS]
    if sum(ch.isalpha() for ch in sample) < _LANGUAGE_MIN_LETTERS:
        return None
    code, confidence = _language_identifier().classify(sample)
    return code if confidence >= _LANGUAGE_MIN_CONFIDENCE else None


@functools.cache
def _language_identifier() -> Any:
    """py3langid's model, loaded once per process (about a second) on first use."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


# --- HTML -----------------------------------------------------------------------------


def from_html(raw: str, soup: Any) -> ArticleMeta:
    """The metadata of an HTML page: trafilatura/htmldate, plus the page's language.

    ``soup`` is the page already parsed by BeautifulSoup (before anything is removed).
    """
    from htmldate import find_date
    from trafilatura.metadata import extract_metadata

    # Dates from the page's markup and metadata only (the wider search takes a footer's
    # "Copyright 2024" for a date); no upper bound, so a date after today is seen and
    # reported instead of silently dropped.
    params: dict[str, Any] = {
        "extensive_search": False,
        "original_date": True,
        "max_date": "2099-12-31",
    }
    try:
        found = extract_metadata(raw, date_config=params)
    except Exception:  # a page trafilatura cannot parse still has its text indexed
        found = None
    try:
        newest = find_date(raw, **{**params, "original_date": False})
    except Exception:
        newest = None
    ld = _json_ld(soup)
    meta = ArticleMeta(
        published=parse_date(getattr(found, "date", None) or ""),
        updated=parse_date(newest or ""),
        author=_clean(getattr(found, "author", None), "; ", ", "),
        outlet=_clean(getattr(found, "sitename", None)) or _ld_name(ld.get("publisher")),
        url=_url(getattr(found, "url", None)) or _url(_ld_url(ld)),
        language=_html_language(soup, ld),
    )
    return meta.tidy()


def _clean(value: Any, old: str = "", new: str = "") -> str | None:
    if not isinstance(value, str):
        return None
    value = " ".join(value.split())
    if old:
        value = value.replace(old, new)
    return value[:200] or None


def _json_ld(soup: Any) -> dict[str, Any]:
    """The page's JSON-LD article object (NewsArticle, Article, ...), or {}."""
    for tag in soup.find_all("script", attrs={"type": "application/ld+json"}):
        try:
            data = json.loads(tag.string or "")
        except (json.JSONDecodeError, TypeError):
            continue
        stack = data if isinstance(data, list) else [data]
        while stack:
            item = stack.pop(0)
            if not isinstance(item, dict):
                continue
            kind = item.get("@type")
            kinds = kind if isinstance(kind, list) else [kind]
            if any(isinstance(k, str) and k.endswith("Article") for k in kinds):
                return item
            graph = item.get("@graph")
            if isinstance(graph, list):
                stack.extend(graph)
    return {}


def _ld_name(value: Any) -> str | None:
    if isinstance(value, list) and value:
        value = value[0]
    if isinstance(value, dict):
        value = value.get("name")
    return _clean(value)


def _ld_url(ld: dict[str, Any]) -> str | None:
    page = ld.get("mainEntityOfPage")
    if isinstance(page, dict):
        page = page.get("@id") or page.get("url")
    for value in (ld.get("url"), page):
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            return value
    return None


def _html_language(soup: Any, ld: dict[str, Any]) -> str | None:
    html = soup.find("html")
    candidates: list[Any] = [html.get("lang") if html else None]
    for attrs in ({"http-equiv": "content-language"}, {"property": "og:locale"}):
        tag = soup.find("meta", attrs=attrs)
        candidates.append(tag.get("content") if tag else None)
    candidates.append(ld.get("inLanguage"))
    for value in candidates:
        if isinstance(value, str) and (lang := _language(value)):
            return lang
    return None


def _language(value: str) -> str | None:
    """``en-GB``, ``en_US``, ``fr`` -> ``en-gb``, ``en-us``, ``fr``; None if no language tag."""
    value = value.strip().replace("_", "-").lower()
    return value if re.fullmatch(r"[a-z]{2,3}(?:-[a-z0-9]{2,8})*", value) else None


def _url(value: str | None) -> str | None:
    if value and value.startswith(("http://", "https://")) and " " not in value:
        return value[:500]
    return None
