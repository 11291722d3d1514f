"""The collection as the web layer lists it: newest first, a page at a time, optionally filtered.

The one place that walks ``engine.articles``. The order and the summary are computed once per index
generation (not per request); ``page`` is the function an indexed query can later replace.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from qa.types import Article
from qa.web.article_page import format_date


@dataclass(frozen=True)
class ArticlePage:
    """One page of the listing: ``articles`` are items offset .. offset+limit of ``total`` matches."""

    total: int
    offset: int
    limit: int
    query: str
    articles: tuple[Article, ...]


def collection_summary(articles: Mapping[str, Article]) -> str:
    """ "5 articles · approx. 2010 – approx. December 2024" (plain text)."""
    count = len(articles)
    noun = "article" if count == 1 else "articles"
    dated = sorted((a.date, a.date_approximate) for a in articles.values() if a.date)
    if not dated:
        return f"{count} {noun}"
    first, last = dated[0], dated[-1]
    if first == last:
        return f"{count} {noun} · {format_date(*first)}"
    return f"{count} {noun} · {format_date(*first)} – {format_date(*last)}"


@dataclass(frozen=True)
class _Snapshot:
    key: Any
    order: tuple[str, ...]  # ids, newest first
    summary: str


class Catalog:
    """Listing of ``engine.articles`` for the Articles tab and ``GET /api/articles``.

    Usage example:
        catalog = Catalog(engine)
        page = catalog.page(query="ofsted", offset=0, limit=20)
        print(page.total, [a.title for a in page.articles])
    """

    def __init__(self, engine: Any):
        self.engine = engine
        self._lock = threading.Lock()
        self._snapshot: _Snapshot | None = None

    def _key(self) -> Any:
        index = getattr(self.engine, "index", None)
        return getattr(index, "path", None) or id(self.engine.articles)

    def _current(self) -> tuple[Any, _Snapshot]:
        articles = self.engine.articles  # one generation for the whole call
        key = self._key()
        snapshot = self._snapshot
        if snapshot is None or snapshot.key != key:
            with self._lock:
                snapshot = self._snapshot
                if snapshot is None or snapshot.key != key:
                    order = tuple(sorted(articles, key=lambda i: (articles[i].date or "", i), reverse=True))
                    snapshot = self._snapshot = _Snapshot(key, order, collection_summary(articles))
        return articles, snapshot

    def summary(self) -> str:
        return self._current()[1].summary

    def count(self) -> int:
        return len(self._current()[1].order)

    def page(self, *, query: str = "", offset: int = 0, limit: int = 20) -> ArticlePage:
        """Articles newest first; with ``query``, those whose title, id or publisher contains it
        (case-insensitive)."""
        articles, snapshot = self._current()
        offset, limit = max(0, int(offset)), max(1, int(limit))
        needle = " ".join(query.split()).casefold()
        if not needle:
            ids = snapshot.order[offset:offset + limit]
            found = tuple(a for i in ids if (a := articles.get(i)) is not None)
            return ArticlePage(len(snapshot.order), offset, limit, "", found)
        total, found = 0, []
        for article_id in snapshot.order:
            article = articles.get(article_id)
            if article is None:
                continue
            haystack = f"{article.title}\n{article.id}\n{article.source or ''}".casefold()
            if needle in haystack:
                if offset <= total < offset + limit:
                    found.append(article)
                total += 1
        return ArticlePage(total, offset, limit, needle, tuple(found))
