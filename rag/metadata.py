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
- The head of the text (any file): a ``By Jane Roe`` line, ``Published: ...``,
  ``Updated: ...`` and ``Author: ...`` lines, else the first date near the top.
- PDF document info: ``/Author`` and ``/CreationDate``.

A date that is stated but is no real date (``2025-02-30``, ``date: soon``) is
dropped and the article indexed without one; ``date_note`` says why, and the
indexer reports it.  A date after today is kept as stated (the index must not
depend on the day it was built) and reported too: see :func:`date_warning`.
"""

from __future__ import annotations

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
    r"^\s*(?P<label>published|updated|last updated|author|byline)(?:\s+on)?"
    r"\s*(?P<colon>:?)\s*(?P<value>\S.*?)\s*$",
    re.I,
)
_BY = re.compile(r"^\s*(?:By|BY|Written by)\s+(?P<names>[^|·•\n]+?)\s*(?:[|·•].*)?$")
_NAME_WORD = re.compile(r"^(?:[A-Z][\w.'’-]*|[A-Z]\.|de|van|von|der|al|bin|da|di|le|la)$")


def from_text_head(text: str) -> ArticleMeta:
    """Byline and date lines at the top of an article's text."""
    lines = [line for line in text[:1500].splitlines() if line.strip()][:_HEAD_LINES]
    published = updated = author = note = None
    for line in lines:
        if len(line) > 160:
            continue
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
            elif label in ("author", "byline") and author is None:
                author = byline_names(re.sub(r"^by\s+", "", value, flags=re.I))
        elif author is None and (m := _BY.match(line)):
            author = byline_names(m.group("names"))
    return ArticleMeta(published=published, updated=updated, author=author, date_note=note)


def byline_names(value: str) -> str | None:
    """``Jane Roe and Ali Khan, 3 May 2025`` -> ``Jane Roe, Ali Khan``; None unless names.

    A byline is one to four names of capitalised words; anything else after "By"
    ("By the end of the week ...") is ordinary text, not a byline.
    """
    value = _LONG_DATE.split(value)[0]
    value = re.split(r"\s[-–—]\s|\b(?:19|20)\d\d-\d\d-\d\d\b|\s\d", value)[0]
    parts = [p.strip(" ,.;") for p in re.split(r",|;|\s+and\s+|\s+&\s+", value)]
    parts = [p for p in parts if p]
    if not 1 <= len(parts) <= 4:
        return None
    for part in parts:
        words = part.split()
        if not 1 <= len(words) <= 4 or not all(_NAME_WORD.match(w) for w in words):
            return None
        if not words[0][0].isupper():
            return None
    return ", ".join(parts)


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
