"""Which articles a question may be answered from: a date range, publishers, article ids, a title match.

One record, validated once, whatever the question came through (CLI flags, an API body, the chat's
controls, a questions file). Dates are ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` and inclusive; an article
dated as precisely as "2021" is in a range that overlaps that year. Undated articles are left out of a
date range unless ``undated`` says to keep them.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Mapping

from qa.errors import UsageError

DATE_FORMS = "YYYY, YYYY-MM or YYYY-MM-DD"
_DATE_RE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
MAX_LIST = 1000  # publishers or article ids in one filter
MAX_TITLE_CHARS = 200
FIELDS = ("since", "until", "sources", "articles", "title", "undated")


def date_bounds(date: str) -> tuple[str, str]:
    """The first and last day a date as precise as known covers, as ISO strings ("2021" ->
    ("2021-01-01", "2021-12-31"); a month ends on its 31st: the strings only compare)."""
    parts = date.split("-")
    if len(parts) == 1:
        return f"{date}-01-01", f"{date}-12-31"
    if len(parts) == 2:
        return f"{date}-01", f"{date}-31"
    return date, date


def _check_date(name: str, value: Any) -> str | None:
    if value is None or value == "":
        return None
    text = str(value).strip()
    m = _DATE_RE.match(text)
    if m:
        year, month, day = (int(g) if g else None for g in m.groups())
        try:
            dt.date(year, month or 1, day or 1)
            return text
        except ValueError:
            pass
    raise UsageError(f"{name} {text!r} is not a date: write {DATE_FORMS} (e.g. 2019 or 2019-03).")


def _check_list(name: str, value: Any) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v.strip() for v in value):
        raise UsageError(f"{name} must be a list of names (non-empty text), e.g. [\"The Local Herald\"].")
    if len(value) > MAX_LIST:
        raise UsageError(f"{name} lists {len(value):,} values; at most {MAX_LIST:,} are allowed.")
    return tuple(dict.fromkeys(v.strip() for v in value))


@dataclass(frozen=True)
class Filter:
    """Usage example:
        Filter.of({"since": "2019", "until": "2021", "sources": ["The Local Herald"]})
    """

    since: str | None = None
    until: str | None = None
    sources: tuple[str, ...] = ()
    articles: tuple[str, ...] = ()
    title: str | None = None  # a case-insensitive part of the title
    undated: bool = False  # keep undated articles in a date range

    def __post_init__(self) -> None:
        since, until = _check_date("since", self.since), _check_date("until", self.until)
        if since and until and date_bounds(since)[0] > date_bounds(until)[1]:
            raise UsageError(f"since {since} is after until {until}: swap them, or leave one out.")
        title = (self.title or "").strip() or None
        if title is not None and len(title) > MAX_TITLE_CHARS:
            raise UsageError(f"the title filter is {len(title):,} characters; at most {MAX_TITLE_CHARS} are allowed.")
        if not isinstance(self.undated, bool):
            raise UsageError(f"undated must be true or false, not {self.undated!r}.")
        object.__setattr__(self, "since", since)
        object.__setattr__(self, "until", until)
        object.__setattr__(self, "sources", _check_list("sources", self.sources))
        object.__setattr__(self, "articles", _check_list("articles", self.articles))
        object.__setattr__(self, "title", title)

    @classmethod
    def of(cls, value: "Filter | Mapping[str, Any] | None") -> "Filter | None":
        """A Filter from a record (API body, questions file) or None when it sets nothing.

        Raises:
            UsageError: naming the unknown field or the bad value and the accepted forms.
        """
        if value is None or isinstance(value, Filter):
            return value if value is None or not value.empty else None
        if not isinstance(value, Mapping):
            raise UsageError(f"the filter must be an object with {', '.join(FIELDS)}.")
        unknown = sorted(set(value) - set(FIELDS))
        if unknown:
            raise UsageError(f"unknown filter field {', '.join(map(repr, unknown))}; the fields are {', '.join(FIELDS)}.")
        made = cls(since=value.get("since"), until=value.get("until"), sources=value.get("sources") or (),
                   articles=value.get("articles") or (), title=value.get("title"),
                   undated=value.get("undated", False))
        return None if made.empty else made

    @property
    def empty(self) -> bool:
        return not (self.since or self.until or self.sources or self.articles or self.title)

    @property
    def dated(self) -> bool:
        return bool(self.since or self.until)

    def period(self) -> str:
        """The date range as people write it ("2019–2021", "from 2019", "until March 2021")."""
        if self.since and self.until:
            return self.since if self.since == self.until else f"{self.since}–{self.until}"
        if self.since:
            return f"from {self.since}"
        return f"until {self.until}" if self.until else ""

    def describe(self) -> str:
        """What the filter keeps, in words ("2019–2021, The Local Herald")."""
        parts = [self.period()] if self.dated else []
        if self.dated and self.undated:
            parts.append("and undated articles")
        if self.sources:
            parts.append(", ".join(self.sources))
        if self.articles:
            parts.append(f"{len(self.articles)} chosen article{'s' if len(self.articles) != 1 else ''}")
        if self.title:
            parts.append(f"titles with “{self.title}”")
        return ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {"since": self.since, "until": self.until, "sources": list(self.sources),
                "articles": list(self.articles), "title": self.title, "undated": self.undated}


def allowed_articles(flt: Filter, *, dates, sources, ids, titles, live):
    """The article rows ``flt`` keeps, as a boolean array (pure: arrays in, array out).

    Args:
        dates: each article's ISO date, "" when undated (numpy unicode array).
        sources: each article's publisher, "" when unknown (numpy unicode array).
        ids: each article's id (numpy unicode array).
        titles: a callable returning each article's title, lower-cased (read only for a title filter).
        live: which rows are articles of the collection (not deleted).

    Raises:
        UsageError: a publisher or an article id the collection does not have, listing what it has.
    """
    import numpy as np

    keep = np.array(live, dtype=bool, copy=True)
    if flt.dated:
        lo = date_bounds(flt.since)[0] if flt.since else "0000-00-00"
        hi = date_bounds(flt.until)[1] if flt.until else "9999-99-99"
        length = np.char.str_len(dates)  # 4: a year, 7: a month, 10: a day, 0: undated (as date_bounds)
        starts = np.char.add(dates, np.where(length == 4, "-01-01", np.where(length == 7, "-01", "")))
        ends = np.char.add(dates, np.where(length == 4, "-12-31", np.where(length == 7, "-31", "")))
        undated = length == 0
        in_range = (ends >= lo) & (starts <= hi) & ~undated
        keep &= in_range | (undated if flt.undated else False)
    if flt.sources:  # publishers match whatever their case
        folded = np.char.lower(sources)
        spellings = {str(s).lower(): str(s) for s in sorted(np.unique(sources[live]).tolist(), reverse=True) if s}
        names = sorted(spellings.values(), key=str.lower)  # one spelling of each
        known = set(spellings)
        missing = [s for s in flt.sources if s.lower() not in known]
        if missing:
            listed = ", ".join(names[:20]) or "no publisher is recorded for any article"
            raise UsageError(f"no article is from {', '.join(map(repr, missing))}; the publishers are: {listed}.")
        keep &= np.isin(folded, np.array([s.lower() for s in flt.sources]))
    if flt.articles:
        present = set(ids[live].tolist())
        missing = [a for a in flt.articles if a not in present]
        if missing:
            raise UsageError(f"no article has the id {', '.join(map(repr, missing[:5]))}"
                             f"{' (and more)' if len(missing) > 5 else ''}: `qa show ID` or the Articles list "
                             "gives the ids.")
        keep &= np.isin(ids, np.array(flt.articles))
    if flt.title:
        needle = flt.title.casefold()
        keep &= np.array([needle in t for t in titles()], dtype=bool) if len(keep) else keep
    return keep
