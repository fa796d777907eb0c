"""What a news article says about itself (``ArticleMeta``: dates, byline, outlet, address,
language), its dates read and checked, and the values in a file's front matter.

Read once, at indexing time, from where each kind of file keeps it:

- YAML front matter (``.md``, ``.txt``), here: ``date``/``published``, ``updated``/
  ``modified``, ``author``/``byline``/``authors`` (a list is joined), ``outlet``/
  ``site_name``/``publisher``/``source``, ``url``/``canonical``, ``language``/``lang``.
  ``rag add`` writes the first of each.
- HTML: ``rag.html_meta`` (trafilatura, htmldate, JSON-LD, the declared language).
- The head of the text (any file): ``rag.text_head`` (byline, outlet, date lines), else
  the first date near the top (:func:`date_in_text`).
- PDF document info: ``/Author`` and ``/CreationDate`` (``rag.pdf_text``, :func:`pdf_date`).
- The text itself, last: its language, detected when none is declared (``rag.language``).

A date that is stated but is no real date (``2025-02-30``, ``date: soon``) is
dropped and the article indexed without one; ``date_note`` says why, and the
indexer reports it.  A date after today is kept as stated (the index must not
depend on the day it was built) and reported too: see :func:`date_warning`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from datetime import date, datetime, timedelta

from rag.language import language_tag

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
LONG_DATE = re.compile(r"\b(" + _MONTH + r")\s+([0-3]?\d),\s+((?:19|20)\d\d)\b")
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
    if m := LONG_DATE.search(head):
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


def stated_date(value: str, where: str) -> tuple[str | None, str | None]:
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
        published, note = stated_date(found[1], f"the front matter's {found[0]}")
    if found := first(UPDATED_KEYS):
        updated = parse_date(found[1])
    language = first(LANGUAGE_KEYS)
    return ArticleMeta(
        published=published,
        updated=updated,
        author=_value(first(AUTHOR_KEYS)),
        outlet=_value(first(OUTLET_KEYS)),
        url=http_url(_value(first(URL_KEYS))),
        language=language_tag(language[1]) if language else None,
        date_note=note,
    )


def _value(found: tuple[str, str] | None) -> str | None:
    return found[1][:200] if found else None


def http_url(value: str | None) -> str | None:
    """``value`` when it is an http(s) address (cut to 500 characters), else None."""
    if value and value.startswith(("http://", "https://")) and " " not in value:
        return value[:500]
    return None
