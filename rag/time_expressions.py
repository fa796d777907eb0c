"""Time words: the patterns that find a time expression in a question, and the dates one
expression means ("last week", "in May", "5 June 2025", "3 months ago").

Counted from a given ``today``; a yearless month or day is placed by an ``anchor``.  The
conventions (weeks run Monday to Sunday, the most recent May ...) are listed in
``rag/timeframe.py``, which reads a whole question with these.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

__all__ = [
    "ABBR",
    "BARE",
    "ITEM",
    "LATEST",
    "PREPOSITION",
    "RANGE",
    "ROLLING",
    "Span",
    "count",
    "followed_as_time",
    "month_end",
    "period",
    "shift_months",
    "stands_alone",
]

# --- vocabulary -------------------------------------------------------------------

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sept", "sep"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_NUMBERS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "a couple of": 2,
    "couple of": 2,
}
# Labels use fixed English abbreviations: calendar.month_abbr follows the locale.
ABBR = ("", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# Words that may follow a bare month or year used as a time: anything else (a noun,
# a verb) makes it part of a name ("2025 budget") or not a month at all ("may be").
_FOLLOWERS = frozenset(
    re.findall(
        r"\w+",
        "and or but so then the a an with about regarding concerning for to from at in by "
        "when while after before until since compared versus vs than that this these those "
        "what who whom how why where which whose according as amid during over against",
    )
)

_MONTH = r"(?:" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_WEEKDAY = r"(?:" + "|".join(_WEEKDAYS) + r")"
_YEAR = r"(?:19|20)\d\d"
_DAY = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?"
_COUNT = r"(?:\d{1,4}|" + "|".join(sorted(_NUMBERS, key=len, reverse=True)) + r")"
_UNIT = r"(?:day|week|month|year)s?"

# One time expression, a point or period (its parts are read again by period).
_POINT = (
    r"(?:\d{4}-\d{1,2}-\d{1,2}|\d{4}-\d{2}(?!\d)"
    rf"|{_DAY}\s+(?:of\s+)?{_MONTH}(?:,?\s+{_YEAR})?"
    rf"|{_MONTH}\s+{_DAY}(?![\d:])(?:,?\s+{_YEAR})?"
    rf"|{_MONTH}(?:,?\s+(?:of\s+)?{_YEAR}|\s+(?:this|last)\s+year)?"
    rf"|{_YEAR}"
    r"|today|tonight|this\s+(?:morning|afternoon|evening)|yesterday|last\s+night"
    r"|(?:this|last|previous)\s+(?:week|month|year)"
    r"|(?:this|last|(?:the\s+|this\s+)?past)\s+weekend"
    rf"|(?:last|this\s+past)\s+{_WEEKDAY}"
    rf"|{_COUNT}\s+{_UNIT}\s+ago)"
)
# Not inside a word, a number, a span ("2024/25", "2024–25") or a possessive; "USA Today"
# is an outlet.
_START = r"(?<![\w/–-])(?<!usa )"
_END = r"(?![\w/–-])(?!['’]s\b)"

LATEST = re.compile(
    r"(?<![\w-])(?:latest|most\s+recent(?:ly)?|newest|most\s+up[\s-]to[\s-]date|up[\s-]to[\s-]date"
    r"|so\s+far|to\s+date|as\s+of\s+(?:now|today)|currently|right\s+now|at\s+present"
    r"|recent(?:ly)?)(?![\w-])"
)
RANGE = re.compile(
    rf"{_START}(?:between\s+(?P<x>{_POINT})\s+and|from\s+(?P<x2>{_POINT})\s+(?:to|until|till|through))"
    rf"\s+(?P<y>{_POINT}){_END}"
)
_MODIFIER = r"(?:(?:early|mid|late|earlier|later)(?:\s+in)?[\s-]+)?"
# "in May and June 2025", "in 2020-2025": a list after one preposition, read as one window.
_AND = r"(?:\s*,\s*(?:and\s+|or\s+)?|\s+(?:and|or|&)\s+|\s*[/–-]\s*)"
PREPOSITION = re.compile(
    rf"{_START}(?P<prep>since|after|before|until|till|through|up\s+to|as\s+of|in|during"
    rf"|throughout|from|over|on)\s+{_MODIFIER}(?P<x>{_POINT}(?:{_AND}{_MODIFIER}{_POINT})*)"
    rf"{_END}"
)
ITEM = re.compile(rf"(?<!\w){_POINT}(?![\w])")
ROLLING = re.compile(
    rf"{_START}(?P<the>(?:the|this)\s+)?(?P<which>past|last|previous)\s+(?:(?P<n>{_COUNT})\s+)?"
    r"(?P<unit>hour|day|week|fortnight|month|year)s?(?![\w-])(?!['’]s\b)(?!\s+of\b)"
)
# "the last week of May" is no window (the rolling and bare readings would both be wrong).
BARE = re.compile(rf"{_START}(?P<x>{_POINT}){_END}(?!\s+of\b)")
# A month or year with no day: it may be part of a name, so it needs a preposition.
_UNDATED = re.compile(rf"{_YEAR}|{_MONTH}(?:,?\s+(?:of\s+)?{_YEAR}|\s+(?:this|last)\s+year)?")
# Months that are also verbs ("may be", "march on"): checked like an undated month.
_VERB_MONTHS = re.compile(r"\b(?:may|march|mar)\b")


# --- resolving a point or period --------------------------------------------------


@dataclass(frozen=True)
class Span:
    start: date
    end: date


def month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def shift_months(day: date, months: int) -> date:
    """``day`` moved by whole months, clamped to the month's end (31 Mar - 1 -> 28/29 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def count(text: str) -> int:
    text = " ".join(text.split())
    return int(text) if text.isdigit() else _NUMBERS[text]


def _week_of(day: date) -> Span:
    monday = day - timedelta(days=day.weekday())
    return Span(monday, monday + timedelta(days=6))


def _yearless(month: int, day: int | None, anchor: date) -> Span | None:
    """The most recent ``month`` (or ``day`` of it) that does not start after ``anchor``."""
    for year in range(anchor.year, anchor.year - 9, -1):  # 29 Feb recurs within 8 years
        if day is None:
            if date(year, month, 1) <= anchor:
                return Span(date(year, month, 1), month_end(year, month))
            continue
        if day > calendar.monthrange(year, month)[1]:
            if month != 2 or day != 29:
                return None  # 31 April never exists
            continue
        if date(year, month, day) <= anchor:
            return Span(date(year, month, day), date(year, month, day))
    return None


def _relative(text: str, today: date) -> Span | None:
    words = text.split()
    if text in ("today", "tonight", "this morning", "this afternoon", "this evening"):
        return Span(today, today)
    if text == "yesterday":
        return Span(today - timedelta(days=1), today - timedelta(days=1))
    if text == "last night":  # reported overnight: yesterday's and today's articles
        return Span(today - timedelta(days=1), today)
    if words[-1] == "weekend":
        monday = _week_of(today).start
        if words[0] == "this" and len(words) == 2:
            return Span(monday + timedelta(days=5), today)  # dropped later if still ahead
        return Span(monday - timedelta(days=2), monday - timedelta(days=1))
    if words[-1] in _WEEKDAYS:
        wanted = _WEEKDAYS.index(words[-1])
        latest = today - timedelta(days=(today.weekday() - wanted - 1) % 7 + 1)
        monday = _week_of(today).start
        if latest >= monday:  # this week's: "the one of last week" is a second reading
            return Span(latest - timedelta(days=7), latest)
        return Span(latest, latest)
    if words[-1] == "ago":
        n, unit = count(" ".join(words[:-2])), words[-2].rstrip("s")
        if unit == "day":
            return Span(today - timedelta(days=n), today - timedelta(days=n))
        if unit == "week":
            return _week_of(today - timedelta(weeks=n))
        if unit == "month":
            first = shift_months(today.replace(day=1), -n)
            return Span(first, month_end(first.year, first.month))
        return Span(date(today.year - n, 1, 1), date(today.year - n, 12, 31))
    which, unit = words[0], words[-1]
    if unit == "week":
        this = _week_of(today)
        if which == "this":
            return Span(this.start, today)
        return Span(this.start - timedelta(days=7), this.start - timedelta(days=1))
    if unit == "month":
        if which == "this":
            return Span(today.replace(day=1), today)
        first = shift_months(today.replace(day=1), -1)
        return Span(first, month_end(first.year, first.month))
    if unit == "year":
        if which == "this":
            return Span(date(today.year, 1, 1), today)
        return Span(date(today.year - 1, 1, 1), date(today.year - 1, 12, 31))
    return None


_ISO = re.compile(r"(\d{4})-(\d{1,2})(?:-(\d{1,2}))?")
_PARTS = re.compile(
    rf"(?:(?P<d1>{_DAY})\s+(?:of\s+)?)?(?P<month>{_MONTH})(?:\s+(?P<d2>{_DAY}))?"
    rf"(?:,?\s+(?:of\s+)?(?P<year>{_YEAR})|\s+(?P<rel>this|last)\s+year)?"
)


def period(text: str, today: date, anchor: date | None = None) -> Span | None:
    """The span one ``_POINT`` match means; ``anchor`` (default today) places yearless dates."""
    text = " ".join(text.split())
    anchor = anchor or today
    try:
        if match := _ISO.fullmatch(text):
            year, month = int(match[1]), int(match[2])
            if match[3] is None:
                return Span(date(year, month, 1), month_end(year, month))
            day = date(year, month, int(match[3]))
            return Span(day, day)
        if re.fullmatch(_YEAR, text):
            return Span(date(int(text), 1, 1), date(int(text), 12, 31))
        if match := _PARTS.fullmatch(text):
            month = _MONTHS[match["month"].rstrip(".")]
            day_text = match["d1"] or match["d2"]
            day = int(re.sub(r"\D", "", day_text)) if day_text else None
            if match["rel"]:
                year = today.year - (match["rel"] == "last")
            elif match["year"]:
                year = int(match["year"])
            else:
                return _yearless(month, day, anchor)
            if day is None:
                return Span(date(year, month, 1), month_end(year, month))
            return Span(date(year, month, day), date(year, month, day))
        return _relative(text, today)
    except (ValueError, OverflowError):  # 2025-02-30, or a count past the calendar
        return None


def stands_alone(point: str) -> bool:
    """A full date or a relative expression: a time even without a preposition."""
    return _UNDATED.fullmatch(point) is None


def followed_as_time(text: str, point: str, end: int) -> bool:
    """False when the word after a month or year may make it a name or a verb ("2025 budget",
    "may be"); a full date is checked only when its month is also a verb ("5 may be")."""
    if _UNDATED.fullmatch(point) is None and not (
        _VERB_MONTHS.search(point) and not re.search(_YEAR, point)
    ):
        return True
    following = re.match(r"\s*([a-z]+)", text[end:])
    return following is None or following[1] in _FOLLOWERS
