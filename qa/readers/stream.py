"""A whole-folder read that does not hold the corpus: each article is kept as an ArticleRef (who it is,
its hash, where it came from) and read again from its file when the build reaches it.

    read = scan_corpus(corpus_dir)      # a CorpusRead whose articles are an ArticleStream
    for article in read.articles: ...   # each file read again, in order, one at a time

The duplicate check needs no texts (hashes, addresses, lengths), except for the few copies that share an
address or an id and are compared by their words: their files are read again for that. A from-scratch
build so holds refs instead of the articles (about 2.3 KB per article in all: docs/SCALING.md).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Iterable

from qa.errors import CorpusError
from qa.readers.base import Skipped, SourceFile
from qa.readers.options import CollectionOptions
from qa.types import Article


@dataclass(frozen=True, slots=True)
class ArticleRef:
    """An article without its text: what the build's plan, the catalog and the duplicate check need."""

    id: str
    sha256: str
    path: str | None
    record: int | None
    file_type: str | None
    position: int  # its place among the articles its file gives
    chars: int  # len(text)
    keys: tuple[str, str | None]  # qa.readers.dedupe.keys: (hash of the normalised text, normalised address)

    @classmethod
    def of(cls, article: Article, position: int) -> "ArticleRef":
        from qa.readers.dedupe import keys

        return cls(article.id, article.sha256, article.path, article.record, article.file_type, position,
                   len(article.text), tuple(keys(article)))


class ArticleStream:
    """Articles as refs; iterating reads their files again, in order, and yields each file's articles."""

    def __init__(self, refs: list[ArticleRef], files: dict[str, SourceFile], options: CollectionOptions):
        self.refs, self.files, self.options = refs, files, options

    def __len__(self) -> int:
        return len(self.refs)

    def only(self, ids: set[str]) -> "ArticleStream":
        return ArticleStream([r for r in self.refs if r.id in ids], self.files, self.options)

    def __iter__(self) -> Iterator[Article]:
        path, found = None, []
        try:
            for ref in self.refs:
                if ref.path != path:
                    path, found = ref.path, self._read(ref)
                article = found[ref.position] if ref.position < len(found) else None
                if article is None or article.id != ref.id or article.sha256 != ref.sha256:
                    raise _changed(ref)
                yield article
        finally:
            stop_child()

    def _read(self, ref: ArticleRef) -> list[Article]:
        from qa.readers import read_file

        try:
            return read_file(self.files[ref.path], self.options)[0]
        except CorpusError:
            raise _changed(ref) from None


def _changed(ref: ArticleRef) -> CorpusError:
    return CorpusError(f"{ref.path} changed while it was being indexed: run `qa index` again (the index was not "
                       "changed)")


def stop_child() -> None:
    if "qa.readers.isolated" in sys.modules:  # the PDF child lives for one corpus read, not for the process
        sys.modules["qa.readers.isolated"].stop()


def scan(files: list[SourceFile], skipped: list[Skipped], options: CollectionOptions):
    """qa.readers._read without holding the articles: (ArticleStream, notices, skipped)."""
    from qa.readers import read_file, read_one
    from qa.readers.dedupe import EMPTY_KEY, _Copy, normal_url, resolve_copies

    copies: list[_Copy] = []
    notices: list[str] = []
    skipped = list(skipped)
    by_rel = {f.rel: f for f in files}
    again = functools.lru_cache(maxsize=4)(lambda rel: read_file(by_rel[rel], options)[0])
    for f in files:
        found, notes = read_one(f, options, skipped)
        for position, a in enumerate(found):
            ref = ArticleRef.of(a, position)
            copies.append(_Copy(ref, len(copies), "" if ref.keys[0] == EMPTY_KEY else ref.keys[0],
                                normal_url(a.url), ref.chars, functools.partial(_text, again, ref)))
        for n in notes:
            (skipped if isinstance(n, Skipped) else notices).append(n)
    stop_child()
    kept, dup_notices, dup_skipped = resolve_copies(copies)
    return (ArticleStream([c.article for c in kept], by_rel, options), notices + dup_notices,
            skipped + dup_skipped)


def _text(read_again, ref: ArticleRef) -> str:
    found = read_again(ref.path)
    return found[ref.position].text if ref.position < len(found) else ""


def ids_hashes(articles: "list[Article] | ArticleStream") -> dict[str, str]:
    """Article id -> sha256, from the refs of a stream (nothing read) or from the articles."""
    return {a.id: a.sha256 for a in (articles.refs if isinstance(articles, ArticleStream) else articles)}


def only(articles: "list[Article] | ArticleStream", ids: set[str]) -> "list[Article] | ArticleStream":
    return articles.only(ids) if isinstance(articles, ArticleStream) else [a for a in articles if a.id in ids]


def article_ids(articles: "list[Article] | ArticleStream") -> list[str]:
    return [a.id for a in (articles.refs if isinstance(articles, ArticleStream) else articles)]


def total_chars(articles: "list[Article] | ArticleStream") -> int:
    if isinstance(articles, ArticleStream):
        return sum(r.chars for r in articles.refs)
    return sum(len(a.text) for a in articles)


def by_file(articles: "list[Article] | ArticleStream") -> dict[str, list[tuple[str, tuple]]]:
    """File -> [(article id, keys)] (qa.corpus.FileRecord), from refs or articles."""
    from qa.readers.dedupe import keys

    out: dict[str, list[tuple[str, tuple]]] = {}
    items: Iterable = ((r.path, r.id, r.keys) for r in articles.refs) if isinstance(articles, ArticleStream) else (
        (a.path, a.id, tuple(keys(a))) for a in articles)
    for path, i, k in items:
        out.setdefault(path or "", []).append((i, k))
    return out
