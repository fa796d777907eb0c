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

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from rag.errors import RagError
from rag.time_expressions import (
    ABBR,
    BARE,
    ITEM,
    LATEST,
    PREPOSITION,
    RANGE,
    ROLLING,
    Span,
    count,
    followed_as_time,
    month_end,
    period,
    shift_months,
    stands_alone,
)

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
        y = period(match["y"], today)
        x = period(match["x"] or match["x2"], today, anchor=y.end if y else None)
        if x is None or y is None or not followed_as_time(text, match["y"], match.end("y")):
            return False
        return add(min(x.start, y.start), max(x.end, y.end))

    def read_preposition(match: re.Match[str]) -> bool:
        nonlocal latest
        prep = " ".join(match["prep"].split())
        points = [" ".join(m[0].split()) for m in ITEM.finditer(match["x"])]
        if not points or not followed_as_time(text, points[-1], match.end("x")):
            return False
        if prep == "on" and not all(stands_alone(p) for p in points):
            return False  # "on May" is no English time; leave it
        # A yearless item takes its place from the next one: "in May and June 2025".
        spans: list[Span] = []
        for point in reversed(points):
            found = period(point, today, anchor=spans[-1].end if spans else None)
            if found is None:
                return False
            spans.append(found)
        span = Span(min(s.start for s in spans), max(s.end for s in spans))
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
        n, unit = (count(match["n"]) if match["n"] else 1), match["unit"]
        if not (match["n"] or match["the"] or match["which"] == "past"):
            return False  # a bare "last week" is the calendar week: left to BARE
        if not match["n"] and match["which"] == "last" and unit in ("day", "hour"):
            return False  # "on the last day" is the final day of something
        try:
            if unit in ("month", "year"):
                start = shift_months(today, -n * (12 if unit == "year" else 1))
            else:
                days = {"hour": math.ceil(n / 24), "day": n, "week": 7 * n, "fortnight": 14 * n}
                start = today - timedelta(days=days[unit])
        except (ValueError, OverflowError):
            return False
        return add(start, today)

    def read_bare(match: re.Match[str]) -> bool:
        point = " ".join(match["x"].split())
        if not stands_alone(point) or not followed_as_time(text, point, match.end("x")):
            return False  # a month or year alone may be a name: "the 2025 budget"
        span = period(point, today)
        return span is not None and add(span.start, span.end)

    scan(LATEST, read_latest)
    scan(RANGE, read_range)
    scan(PREPOSITION, read_preposition)
    scan(ROLLING, read_rolling)
    scan(BARE, read_bare)

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
    return f"{day.day} {ABBR[day.month]}" + (f" {day.year}" if year else "")


def _window_label(after: date | None, before: date | None) -> str:
    if after is None and before is None:
        return ""
    if before is None:
        return f"since {_day(after)}"  # type: ignore[arg-type]
    if after is None:
        return f"until {_day(before)}"
    whole_months = after.day == 1 and before == month_end(before.year, before.month)
    if whole_months and (after.month, before.month, before.day) == (1, 12, 31):
        return str(after.year) if after.year == before.year else f"{after.year}–{before.year}"
    if whole_months:
        if (after.year, after.month) == (before.year, before.month):
            return f"{ABBR[after.month]} {after.year}"
        if after.year == before.year:
            return f"{ABBR[after.month]}–{ABBR[before.month]} {after.year}"
        return f"{ABBR[after.month]} {after.year}–{ABBR[before.month]} {before.year}"
    if after == before:
        return _day(after)
    if (after.year, after.month) == (before.year, before.month):
        return f"{after.day}–{_day(before)}"
    if after.year == before.year:
        return f"{_day(after, year=False)}–{_day(before)}"
    return f"{_day(after)}–{_day(before)}"


def given_window(after: str | None, before: str | None) -> TimeFrame | None:
    """The window of dates the user chose (``--after``/``--before``/``--since``, the
    page's date fields), as a TimeFrame with no phrase; None when neither is set."""
    if not (after or before):
        return None
    start = date.fromisoformat(after) if after else None
    end = date.fromisoformat(before) if before else None
    return TimeFrame(after, before, False, "", _window_label(start, end))


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
                start = shift_months(today, -n * (12 if unit == "y" else 1))
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
