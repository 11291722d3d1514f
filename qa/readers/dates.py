"""Dates as people and pages write them -> the most precise ISO form ("2019", "2019-03", "2019-03-05")."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache

MONTHS = {name: i for i, names in enumerate((
    (), ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",),
    ("june", "jun"), ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"), ("october", "oct"),
    ("november", "nov"), ("december", "dec"),
)) for name in names}
_MONTH = r"(?P<month>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_WEEKDAY = r"(?:(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(?:day|nesday|sday|urday)?\.?,?\s+)?"
_TIME = r"(?:(?:,\s*|\s+)(?:at\s+)?\d{1,2}(?:[:.]\d{2}){1,2}\s*(?:[ap]\.?m\.?)?(?:\s*[A-Z]{2,5}|\s*[+-]\d{2}:?\d{2})?)?"
_LABEL = (r"^(?:(?:first\s+)?published|posted|updated|(?:page\s+)?last\s+(?:updated|modified|reviewed)|date|dated)"
          r"(?:\s+on)?\s*:?\s*")

ISO_RE = re.compile(r"^(?P<year>\d{4})(?:[-/.](?P<month>\d{1,2})(?:[-/.](?P<day>\d{1,2}))?)?"
                    r"(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?|UTC|GMT)?)?$", re.I)
COMPACT_RE = re.compile(r"^(?P<year>\d{4})(?P<month>\d{2})(?P<day>\d{2})(?:T?\d{4,6}Z?)?$")
DAY_FIRST_RE = re.compile(r"^" + _WEEKDAY + r"(?P<day>\d{1,2})(?:st|nd|rd|th)?(?:\s+of)?\s+" + _MONTH
                          + r",?\s+(?P<year>\d{4})" + _TIME + r"$", re.I)
MONTH_FIRST_RE = re.compile(r"^" + _WEEKDAY + _MONTH + r"\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<year>\d{4})"
                            + _TIME + r"$", re.I)
MONTH_YEAR_RE = re.compile(r"^" + _MONTH + r",?\s+(?P<year>\d{4})$", re.I)
NUMERIC_RE = re.compile(r"^(?P<a>\d{1,2})[/.-](?P<b>\d{1,2})[/.-](?P<year>\d{4})$")
YEAR_IN_TEXT_RE = re.compile(r"\b(1[89]\d\d|2[01]\d\d)\b")

EARLIEST_YEAR = 1800
TOLERANCE_DAYS = 1  # a page dated "tomorrow" is usually a time zone ahead, not a mistake


@dataclass(frozen=True)
class Date:
    iso: str  # "2019", "2019-03" or "2019-03-05"
    precision: str  # "year", "month" or "day"

    @property
    def first_day(self) -> dt.date:
        parts = [int(p) for p in self.iso.split("-")] + [1, 1]
        return dt.date(parts[0], parts[1], parts[2])


class DateError(ValueError):
    """A date that cannot be read; the message says how to write it."""


def _make(year: int, month: int | None = None, day: int | None = None, text: str = "") -> Date:
    if year < EARLIEST_YEAR:
        raise DateError(f"year {year} is before {EARLIEST_YEAR}")
    try:
        dt.date(year, month or 1, day or 1)
    except ValueError:
        raise DateError(f"{text!r} is not a day of the calendar") from None
    if day is not None:
        return Date(f"{year:04d}-{month:02d}-{day:02d}", "day")
    if month is not None:
        return Date(f"{year:04d}-{month:02d}", "month")
    return Date(f"{year:04d}", "year")


def parse_date(value: object) -> Date | None:
    """Read a date written as ISO (with or without time and zone), "5 March 2019", "March 5, 2019",
    "March 2019", "2019", "20190305", RFC 2822 ("Tue, 05 Mar 2019 10:00:00 +0000") or an unambiguous
    "25/03/2019"; other languages through dateparser when the text names a year.

    The date is the one written, in the writer's own time zone: "2019-03-05T23:30:00-05:00" is
    2019-03-05. Returns None for an empty value.

    Raises:
        DateError: the value is not a date that can be read unambiguously.
    """
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return _make(value.year, value.month, value.day)
    if isinstance(value, dt.date):
        return _make(value.year, value.month, value.day)
    if isinstance(value, bool) or isinstance(value, float):
        raise DateError(f"{value!r} is not a date")
    if isinstance(value, int):
        if 1000 <= value <= 9999:
            return _make(value)
        raise DateError(f"{value!r} is not a year")
    if not isinstance(value, str):
        raise DateError(f"{str(value)[:40]!r} is not a date")
    text = " ".join(value.split())
    if not text:
        return None
    text = re.sub(_LABEL, "", text, flags=re.I)
    for regex in (ISO_RE, COMPACT_RE):
        m = regex.match(text)
        if m:
            g = m.groupdict()
            return _make(int(g["year"]), int(g["month"]) if g.get("month") else None,
                         int(g["day"]) if g.get("day") else None, text)
    for regex in (DAY_FIRST_RE, MONTH_FIRST_RE):
        m = regex.match(text)
        if m:
            return _make(int(m["year"]), MONTHS[m["month"].lower()], int(m["day"]), text)
    m = MONTH_YEAR_RE.match(text)
    if m:
        return _make(int(m["year"]), MONTHS[m["month"].lower()], None, text)
    m = NUMERIC_RE.match(text)
    if m:
        a, b, year = int(m["a"]), int(m["b"]), int(m["year"])
        if a > 12 >= b:
            return _make(year, b, a, text)
        if b > 12 >= a:
            return _make(year, a, b, text)
        if a == b:
            return _make(year, a, b, text)
        raise DateError(f"{text!r} is ambiguous (day/month or month/day?)")
    rfc = _rfc2822(text)
    if rfc is not None:
        return rfc
    other = _dateparser(text)
    if other is not None:
        return other
    raise DateError(f"{text[:40]!r} is not a date")


def _rfc2822(text: str) -> Date | None:
    if not re.search(r"\d{1,2}:\d{2}", text):
        return None
    from email.utils import parsedate_tz

    parts = parsedate_tz(text)
    if parts is None:
        return None
    return _make(parts[0], parts[1], parts[2], text)


def _dateparser(text: str) -> Date | None:
    """Other languages ("5 mars 2019"): only absolute dates that name a year, never "yesterday"."""
    # A month's name must be there: dateparser fills a missing month from today ("13 2019").
    if not YEAR_IN_TEXT_RE.search(text) or not re.search(r"[^\W\d_]{3,}", text) or len(text) > 60:
        return None
    parser = _parser()
    if parser is None:
        return None
    try:
        data = parser.get_date_data(text)
    except (ValueError, OverflowError, TypeError):
        return None
    if data is None or data.date_obj is None:
        return None
    d = data.date_obj
    if data.period == "year":
        return _make(d.year)
    if data.period == "month":
        return _make(d.year, d.month)
    if data.period in ("day", "time"):
        return _make(d.year, d.month, d.day)
    return None


@lru_cache(maxsize=1)
def _parser():
    try:
        from dateparser.date import DateDataParser
    except ImportError:  # installed with htmldate; without it only the forms above are read
        return None
    return DateDataParser(settings={"PARSERS": ["custom-formats", "absolute-time"], "PREFER_DAY_OF_MONTH": "first"})


def is_future(date: Date, today: dt.date | None = None) -> bool:
    """The date starts after tomorrow (a time zone or two ahead is allowed)."""
    today = today or dt.date.today()
    return date.first_day > today + dt.timedelta(days=TOLERANCE_DAYS)


HOW_TO_WRITE = "write YYYY, YYYY-MM or YYYY-MM-DD (e.g. 2019-03-05), '5 March 2019' or 'March 2019'"
