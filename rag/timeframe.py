"""Question -> TimeFrame: the date window a question's time words mean, resolved by code.

"What happened last week?" means nothing to a model that does not know today's date,
and a model asked to work the window out gets it wrong often enough to hide the
evidence.  So the window is computed here, from the question's words and a given
``today`` (``Settings.current_date``: ``RAG_TODAY`` or the real date), into ISO dates
that ``rag.retrieval.Filters`` filters on.

Conventions (all windows are inclusive at both ends):

- Weeks run Monday to Sunday.  "last week" is the previous Monday-Sunday (on Monday
  30 Nov 2026: 23-29 Nov); "last month" and "last year" are the previous calendar
  month and year (on 15 Jan 2026, "last month" is December 2025).
- "this week", "this month" and "this year" run from the period's first day through
  today: nothing is published tomorrow.
- "past/last N days|weeks|months|years" and "the past/last week" are rolling: from
  today minus the period (months clamped to the month's end: 31 Mar - 1 month is the
  28th or 29th of February) through today.  A bare "last week" is the calendar week;
  "the last week" and "the past week" are the last seven days.
- A month or day without a year is the most recent one that does not start after
  today ("in May" on 30 Nov 2026 is May 2026; "in December" is December 2025).  In
  "between X and Y" a yearless X is the most recent one not after Y.
- "since X" starts at X's first day; "after X" the day after X ends; "before X" ends
  the day before X starts; "until/through X" ends with X; "as of X" ends with X and asks
  for the newest.
- "last Monday" is the most recent Monday before today.  When that Monday falls in
  the current week, "the Monday of last week" is a second reading, so the window runs
  from that one to the most recent: no reading's evidence is hidden.  A bare weekday
  ("on Monday") is not resolved.
- "N days ago" is that day; "N weeks/months/years ago" is the calendar week, month or
  year that day falls in.
- "last night" is yesterday and today (reported overnight); "last weekend" is the
  previous week's Saturday-Sunday; "this weekend" counts only once it has begun.
- Windows in one question combine into the smallest window holding all of them ("in
  2024 and in 2025" is 2024-2025: a comparison needs both), while one-sided bounds
  narrow each other ("since May but before July" is May-June).
- A window that starts after today ("in 2027") is dropped, and "next week" or
  "tomorrow" are not read: such a question asks about plans, reported before they happen.

Ambiguity is resolved toward no window, because a wrong filter hides evidence while a
missing one only widens the search:

- A month or year alone counts only after a preposition (in, during, since, before,
  after, until, from, between ...), and only when the next word cannot make it part of
  a name: "the 2025 budget", "in 2025 budget talks", "in 2000 words", "since May be",
  "before March on" and "after may have" give no window; "what did Reuters say in May
  about the talks" does.  A full date (5 June 2025, June 5, 2025-06-05) needs no
  preposition.
- Possessives name a thing, not a window: "last year's budget", "today's Iran".
- "USA Today" is an outlet; "a few days" has no number to count; "in 2024-25" and
  "2025/26" are seasons or fiscal years, not one calendar year.

"latest", "most recent", "newest", "so far", "to date", "currently" ... set ``latest``
(prefer the newest articles), alone or with a window ("so far this year").
"""

from __future__ import annotations

import calendar
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from rag.errors import RagError

__all__ = ["TimeFrame", "TimeFrameError", "parse_since", "resolve"]


class TimeFrameError(RagError):
    """A date or period the user gave cannot be read; the message names the fix."""


@dataclass(frozen=True)
class TimeFrame:
    """The window a question asks about: ISO dates, inclusive; ``None`` is open-ended."""

    after: str | None
    before: str | None
    latest: bool  # the question asks for the newest ("latest", "so far" ...)
    phrase: str  # the words matched, as the question wrote them
    label: str  # short, for a removable chip: "23–29 Nov 2026", "since 1 May 2026"
    spans: tuple[tuple[int, int], ...] = field(default=(), compare=False)  # ``phrase`` in it

    def outside(self, question: str) -> str:
        """``question`` without the words that gave this window: once the window has
        chosen the articles, "since May" is not a word the evidence must also say."""
        kept, at = [], 0
        for a, b in self.spans:
            kept.append(question[at:a])
            at = b
        kept.append(question[at:])
        return " ".join(" ".join(kept).split())


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
_ABBR = ("", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

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

# One time expression, a point or period (its parts are read again by _period).
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

_LATEST = re.compile(
    r"(?<![\w-])(?:latest|most\s+recent(?:ly)?|newest|most\s+up[\s-]to[\s-]date|up[\s-]to[\s-]date"
    r"|so\s+far|to\s+date|as\s+of\s+(?:now|today)|currently|right\s+now|at\s+present"
    r"|recent(?:ly)?)(?![\w-])"
)
_RANGE = re.compile(
    rf"{_START}(?:between\s+(?P<x>{_POINT})\s+and|from\s+(?P<x2>{_POINT})\s+(?:to|until|till|through))"
    rf"\s+(?P<y>{_POINT}){_END}"
)
_MODIFIER = r"(?:(?:early|mid|late|earlier|later)(?:\s+in)?[\s-]+)?"
# "in May and June 2025", "in 2020-2025": a list after one preposition, read as one window.
_AND = r"(?:\s*,\s*(?:and\s+|or\s+)?|\s+(?:and|or|&)\s+|\s*[/–-]\s*)"
_PREPOSITION = re.compile(
    rf"{_START}(?P<prep>since|after|before|until|till|through|up\s+to|as\s+of|in|during"
    rf"|throughout|from|over|on)\s+{_MODIFIER}(?P<x>{_POINT}(?:{_AND}{_MODIFIER}{_POINT})*)"
    rf"{_END}"
)
_ITEM = re.compile(rf"(?<!\w){_POINT}(?![\w])")
_ROLLING = re.compile(
    rf"{_START}(?P<the>(?:the|this)\s+)?(?P<which>past|last|previous)\s+(?:(?P<n>{_COUNT})\s+)?"
    r"(?P<unit>hour|day|week|fortnight|month|year)s?(?![\w-])(?!['’]s\b)(?!\s+of\b)"
)
# "the last week of May" is no window (the rolling and bare readings would both be wrong).
_BARE = re.compile(rf"{_START}(?P<x>{_POINT}){_END}(?!\s+of\b)")
# A month or year with no day: it may be part of a name, so it needs a preposition.
_UNDATED = re.compile(rf"{_YEAR}|{_MONTH}(?:,?\s+(?:of\s+)?{_YEAR}|\s+(?:this|last)\s+year)?")
# Months that are also verbs ("may be", "march on"): checked like an undated month.
_VERB_MONTHS = re.compile(r"\b(?:may|march|mar)\b")


# --- resolving a point or period --------------------------------------------------


@dataclass(frozen=True)
class _Span:
    start: date
    end: date


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _shift_months(day: date, months: int) -> date:
    """``day`` moved by whole months, clamped to the month's end (31 Mar - 1 -> 28/29 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _count(text: str) -> int:
    text = " ".join(text.split())
    return int(text) if text.isdigit() else _NUMBERS[text]


def _week_of(day: date) -> _Span:
    monday = day - timedelta(days=day.weekday())
    return _Span(monday, monday + timedelta(days=6))


def _yearless(month: int, day: int | None, anchor: date) -> _Span | None:
    """The most recent ``month`` (or ``day`` of it) that does not start after ``anchor``."""
    for year in range(anchor.year, anchor.year - 9, -1):  # 29 Feb recurs within 8 years
        if day is None:
            if date(year, month, 1) <= anchor:
                return _Span(date(year, month, 1), _month_end(year, month))
            continue
        if day > calendar.monthrange(year, month)[1]:
            if month != 2 or day != 29:
                return None  # 31 April never exists
            continue
        if date(year, month, day) <= anchor:
            return _Span(date(year, month, day), date(year, month, day))
    return None


def _relative(text: str, today: date) -> _Span | None:
    words = text.split()
    if text in ("today", "tonight", "this morning", "this afternoon", "this evening"):
        return _Span(today, today)
    if text == "yesterday":
        return _Span(today - timedelta(days=1), today - timedelta(days=1))
    if text == "last night":  # reported overnight: yesterday's and today's articles
        return _Span(today - timedelta(days=1), today)
    if words[-1] == "weekend":
        monday = _week_of(today).start
        if words[0] == "this" and len(words) == 2:
            return _Span(monday + timedelta(days=5), today)  # dropped later if still ahead
        return _Span(monday - timedelta(days=2), monday - timedelta(days=1))
    if words[-1] in _WEEKDAYS:
        wanted = _WEEKDAYS.index(words[-1])
        latest = today - timedelta(days=(today.weekday() - wanted - 1) % 7 + 1)
        monday = _week_of(today).start
        if latest >= monday:  # this week's: "the one of last week" is a second reading
            return _Span(latest - timedelta(days=7), latest)
        return _Span(latest, latest)
    if words[-1] == "ago":
        n, unit = _count(" ".join(words[:-2])), words[-2].rstrip("s")
        if unit == "day":
            return _Span(today - timedelta(days=n), today - timedelta(days=n))
        if unit == "week":
            return _week_of(today - timedelta(weeks=n))
        if unit == "month":
            first = _shift_months(today.replace(day=1), -n)
            return _Span(first, _month_end(first.year, first.month))
        return _Span(date(today.year - n, 1, 1), date(today.year - n, 12, 31))
    which, unit = words[0], words[-1]
    if unit == "week":
        this = _week_of(today)
        if which == "this":
            return _Span(this.start, today)
        return _Span(this.start - timedelta(days=7), this.start - timedelta(days=1))
    if unit == "month":
        if which == "this":
            return _Span(today.replace(day=1), today)
        first = _shift_months(today.replace(day=1), -1)
        return _Span(first, _month_end(first.year, first.month))
    if unit == "year":
        if which == "this":
            return _Span(date(today.year, 1, 1), today)
        return _Span(date(today.year - 1, 1, 1), date(today.year - 1, 12, 31))
    return None


_ISO = re.compile(r"(\d{4})-(\d{1,2})(?:-(\d{1,2}))?")
_PARTS = re.compile(
    rf"(?:(?P<d1>{_DAY})\s+(?:of\s+)?)?(?P<month>{_MONTH})(?:\s+(?P<d2>{_DAY}))?"
    rf"(?:,?\s+(?:of\s+)?(?P<year>{_YEAR})|\s+(?P<rel>this|last)\s+year)?"
)


def _period(text: str, today: date, anchor: date | None = None) -> _Span | None:
    """The span one ``_POINT`` match means; ``anchor`` (default today) places yearless dates."""
    text = " ".join(text.split())
    anchor = anchor or today
    try:
        if match := _ISO.fullmatch(text):
            year, month = int(match[1]), int(match[2])
            if match[3] is None:
                return _Span(date(year, month, 1), _month_end(year, month))
            day = date(year, month, int(match[3]))
            return _Span(day, day)
        if re.fullmatch(_YEAR, text):
            return _Span(date(int(text), 1, 1), date(int(text), 12, 31))
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
                return _Span(date(year, month, 1), _month_end(year, month))
            return _Span(date(year, month, day), date(year, month, day))
        return _relative(text, today)
    except (ValueError, OverflowError):  # 2025-02-30, or a count past the calendar
        return None


def _stands_alone(point: str) -> bool:
    """A full date or a relative expression: a time even without a preposition."""
    return _UNDATED.fullmatch(point) is None


def _followed_as_time(text: str, point: str, end: int) -> bool:
    """False when the word after a month or year may make it a name or a verb ("2025 budget",
    "may be"); a full date is checked only when its month is also a verb ("5 may be")."""
    if _UNDATED.fullmatch(point) is None and not (
        _VERB_MONTHS.search(point) and not re.search(_YEAR, point)
    ):
        return True
    following = re.match(r"\s*([a-z]+)", text[end:])
    return following is None or following[1] in _FOLLOWERS


# --- the question -----------------------------------------------------------------


def resolve(question: str, today: date) -> TimeFrame | None:
    """The window ``question`` asks about, counted from ``today``; ``None`` if it names none.

    See the module docstring for the conventions ("last week" is Monday to Sunday ...).
    """
    # Lowercased letter by letter so that match offsets stay offsets into the question.
    text = "".join(c if len(c.lower()) != 1 else c.lower() for c in question)
    text = text.replace("\u2019", "'")
    matched: list[tuple[int, int]] = []
    windows: list[tuple[date, date]] = []  # "in May", "last week": each a closed window
    starts: list[date] = []  # "since May", "after 2024": bounds of one open window
    ends: list[date] = []  # "before June", "until Friday"
    latest = False

    def free(start: int, end: int) -> bool:
        return all(end <= a or start >= b for a, b in matched)

    def scan(pattern: re.Pattern[str], read: Callable[[re.Match[str]], bool]) -> None:
        for match in pattern.finditer(text):
            if free(*match.span()) and read(match):
                matched.append(match.span())

    def add(after: date | None, before: date | None) -> bool:
        if after is not None and after > today:
            return True  # a window ahead of today asks about plans: the words are used up
        if after is None and before is not None:
            ends.append(before)
        elif before is None and after is not None:
            starts.append(after)
        elif after is not None and before is not None and after <= before:
            windows.append((after, before))
        return True

    def read_latest(match: re.Match[str]) -> bool:
        nonlocal latest
        latest = True
        return True

    def read_range(match: re.Match[str]) -> bool:
        y = _period(match["y"], today)
        x = _period(match["x"] or match["x2"], today, anchor=y.end if y else None)
        if x is None or y is None or not _followed_as_time(text, match["y"], match.end("y")):
            return False
        return add(min(x.start, y.start), max(x.end, y.end))

    def read_preposition(match: re.Match[str]) -> bool:
        nonlocal latest
        prep = " ".join(match["prep"].split())
        points = [" ".join(m[0].split()) for m in _ITEM.finditer(match["x"])]
        if not points or not _followed_as_time(text, points[-1], match.end("x")):
            return False
        if prep == "on" and not all(_stands_alone(p) for p in points):
            return False  # "on May" is no English time; leave it
        # A yearless item takes its place from the next one: "in May and June 2025".
        spans: list[_Span] = []
        for point in reversed(points):
            found = _period(point, today, anchor=spans[-1].end if spans else None)
            if found is None:
                return False
            spans.append(found)
        span = _Span(min(s.start for s in spans), max(s.end for s in spans))
        if prep == "since":
            return add(span.start, None)
        if prep == "after":
            return add(span.end + timedelta(days=1), None)
        if prep == "before":
            return add(None, span.start - timedelta(days=1))
        if prep in ("until", "till", "through", "up to"):
            return add(None, span.end)
        if prep == "as of":
            latest = True
            return add(None, span.end)
        return add(span.start, span.end)

    def read_rolling(match: re.Match[str]) -> bool:
        n, unit = (_count(match["n"]) if match["n"] else 1), match["unit"]
        if not (match["n"] or match["the"] or match["which"] == "past"):
            return False  # a bare "last week" is the calendar week: left to _BARE
        if not match["n"] and match["which"] == "last" and unit in ("day", "hour"):
            return False  # "on the last day" is the final day of something
        try:
            if unit in ("month", "year"):
                start = _shift_months(today, -n * (12 if unit == "year" else 1))
            else:
                days = {"hour": math.ceil(n / 24), "day": n, "week": 7 * n, "fortnight": 14 * n}
                start = today - timedelta(days=days[unit])
        except (ValueError, OverflowError):
            return False
        return add(start, today)

    def read_bare(match: re.Match[str]) -> bool:
        point = " ".join(match["x"].split())
        if not _stands_alone(point) or not _followed_as_time(text, point, match.end("x")):
            return False  # a month or year alone may be a name: "the 2025 budget"
        span = _period(point, today)
        return span is not None and add(span.start, span.end)

    scan(_LATEST, read_latest)
    scan(_RANGE, read_range)
    scan(_PREPOSITION, read_preposition)
    scan(_ROLLING, read_rolling)
    scan(_BARE, read_bare)

    after, before = _combine(windows, starts, ends)
    if after is None and before is None and not latest:
        return None
    phrase = ", ".join(" ".join(question[a:b].split()) for a, b in sorted(matched))
    return TimeFrame(
        after=after.isoformat() if after else None,
        before=before.isoformat() if before else None,
        latest=latest,
        phrase=phrase,
        label=_label(after, before, latest),
        spans=tuple(sorted(matched)),
    )


def _combine(
    windows: list[tuple[date, date]], starts: list[date], ends: list[date]
) -> tuple[date | None, date | None]:
    """One window holding every closed window and the one open window the bounds make.

    Bounds narrow each other ("since May but before July" is May-June); closed windows
    widen ("in 2024 and in 2025" is both years).  A side left open stays open.
    """
    spans: list[tuple[date | None, date | None]] = list(windows)
    if starts or ends:
        bound = (max(starts) if starts else None, min(ends) if ends else None)
        if not (bound[0] and bound[1] and bound[0] > bound[1]):  # contradictory: dropped
            spans.append(bound)
    if not spans:
        return None, None
    firsts, lasts = [s[0] for s in spans], [s[1] for s in spans]
    after = None if None in firsts else min(d for d in firsts if d is not None)
    before = None if None in lasts else max(d for d in lasts if d is not None)
    return after, before


# --- labels -----------------------------------------------------------------------


def _day(day: date, year: bool = True) -> str:
    return f"{day.day} {_ABBR[day.month]}" + (f" {day.year}" if year else "")


def _window_label(after: date | None, before: date | None) -> str:
    if after is None and before is None:
        return ""
    if before is None:
        return f"since {_day(after)}"  # type: ignore[arg-type]
    if after is None:
        return f"until {_day(before)}"
    whole_months = after.day == 1 and before == _month_end(before.year, before.month)
    if whole_months and (after.month, before.month, before.day) == (1, 12, 31):
        return str(after.year) if after.year == before.year else f"{after.year}–{before.year}"
    if whole_months:
        if (after.year, after.month) == (before.year, before.month):
            return f"{_ABBR[after.month]} {after.year}"
        if after.year == before.year:
            return f"{_ABBR[after.month]}–{_ABBR[before.month]} {after.year}"
        return f"{_ABBR[after.month]} {after.year}–{_ABBR[before.month]} {before.year}"
    if after == before:
        return _day(after)
    if (after.year, after.month) == (before.year, before.month):
        return f"{after.day}–{_day(before)}"
    if after.year == before.year:
        return f"{_day(after, year=False)}–{_day(before)}"
    return f"{_day(after)}–{_day(before)}"


def _label(after: date | None, before: date | None, latest: bool) -> str:
    window = _window_label(after, before)
    if not latest:
        return window
    return f"{window} · newest first" if window else "newest first"


# --- the command line's --since ---------------------------------------------------

_SINCE = re.compile(r"(\d{1,6})\s*([dwmy])")


def parse_since(value: str, today: date) -> str:
    """``--since 7d|2w|3m|1y|YYYY-MM-DD`` as the ISO date it starts on, counted from ``today``.

    Periods count back like "the past N days": 7d on 30 Nov is 23 Nov, included.
    """
    text = value.strip().lower()
    if match := _SINCE.fullmatch(text):
        n, unit = int(match[1]), match[2]
        try:
            if unit in "dw":
                start = today - timedelta(days=n * (7 if unit == "w" else 1))
            else:
                start = _shift_months(today, -n * (12 if unit == "y" else 1))
        except (ValueError, OverflowError):
            raise TimeFrameError(
                f"--since {value} reaches back before the calendar starts; use a shorter period."
            ) from None
        return start.isoformat()
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise TimeFrameError(
            f"--since {value!r} is not a period or a date; use a number of days, weeks, "
            "months or years (7d, 2w, 3m, 1y) or a date YYYY-MM-DD."
        )
    try:
        start = date.fromisoformat(text)
    except ValueError:
        raise TimeFrameError(
            f"--since {value} is not a real date; give a date YYYY-MM-DD that exists."
        ) from None
    if start > today:
        raise TimeFrameError(
            f"--since {value} is after today ({today.isoformat()}); give a past date or a "
            "period such as 7d."
        )
    return start.isoformat()
