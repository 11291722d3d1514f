"""The collection as the web layer lists it: newest first, a page at a time, optionally filtered.

The one place that lists the collection: from the index's entries (titles, dates, publishers; no
article text is read), ordered and summarised once per index generation, not per request.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from qa.web.article_page import format_date
from qa.web.gate import WebEngine


@dataclass(frozen=True)
class ArticlePage:
    """One page of the listing: ``articles`` are items offset .. offset+limit of ``total`` matches."""

    total: int
    offset: int
    limit: int
    query: str
    articles: tuple  # ArticleEntry (id, title, date, date_approximate, source, url, sentences, chunks)


def collection_summary(entries) -> str:
    """ "5 articles · approx. 2010 – approx. December 2024" (plain text)."""
    count = len(entries)
    noun = "article" if count == 1 else "articles"
    dated = sorted((a.date, a.date_approximate) for a in entries if a.date)
    if not dated:
        return f"{count} {noun}"
    first, last = dated[0], dated[-1]
    if first == last:
        return f"{count} {noun} · {format_date(*first)}"
    return f"{count} {noun} · {format_date(*first)} – {format_date(*last)}"


@dataclass(frozen=True)
class _Snapshot:
    key: Any
    order: tuple  # entries, newest first
    summary: str


class Catalog:
    """Listing of ``engine.articles`` for the Articles tab and ``GET /api/articles``.

    Usage example:
        catalog = Catalog(engine)
        page = catalog.page(query="council", offset=0, limit=20)
        print(page.total, [a.title for a in page.articles])
    """

    def __init__(self, engine: WebEngine):
        self.engine = engine
        self._lock = threading.Lock()
        self._snapshot: _Snapshot | None = None

    def _current(self) -> _Snapshot:
        index = self.engine.index  # one generation for the whole call
        key = (index.path, (index.manifest or {}).get("created"))
        snapshot = self._snapshot
        if snapshot is None or snapshot.key != key:
            with self._lock:
                snapshot = self._snapshot
                if snapshot is None or snapshot.key != key:
                    entries = index.entries()  # no article text is read
                    order = tuple(sorted(entries, key=lambda a: (a.date or "", a.id), reverse=True))
                    snapshot = self._snapshot = _Snapshot(key, order, collection_summary(entries))
        return snapshot

    def summary(self) -> str:
        return self._current().summary

    def count(self) -> int:
        return len(self._current().order)

    def page(self, *, query: str = "", offset: int = 0, limit: int = 20) -> ArticlePage:
        """Articles newest first; with ``query``, those whose title, id or publisher contains it
        (case-insensitive)."""
        snapshot = self._current()
        offset, limit = max(0, int(offset)), max(1, int(limit))
        needle = " ".join(query.split()).casefold()
        if not needle:
            return ArticlePage(len(snapshot.order), offset, limit, "", snapshot.order[offset:offset + limit])
        matching = [a for a in snapshot.order if needle in f"{a.title}\n{a.id}\n{a.source or ''}".casefold()]
        return ArticlePage(len(matching), offset, limit, needle, tuple(matching[offset:offset + limit]))
