"""One article once: the same story from several files (a page, an export's record, a .md) is kept once,
and two different stories never share an id."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Callable
from urllib.parse import parse_qsl, urlencode, urlsplit

from qa.readers.base import Skipped
from qa.types import Article

# Which copy of a story is kept: hand-made files (and Word documents) first, then an export's or a
# feed's own text, then the text extracted from a page, an archived page or a PDF by a heuristic. A copy with under half the text of the longest (an API's
# truncated "content", a teaser) is passed over.
RANK = {"markdown": 0, "text": 0, "docx": 0, "odt": 0, "json": 1, "jsonl": 1, "csv": 1, "feed": 1, "html": 2, "warc": 2,
        "pdf": 2}
SHORT = 0.5
SIMILAR = 0.5  # share of the shorter text's 5-word shingles found in the longer one
TRACKING = re.compile(r"^(utm_|fbclid$|gclid$|mc_|ref$|cmpid$|ito$)")
QUOTES = (("‘", "'"), ("’", "'"), ("‚", "'"), ("“", '"'), ("”", '"'), ("„", '"'), ("–", "-"), ("—", "-"), ("\u00a0", " "))
WORDS = re.compile(r"\w+")


def where(a: Article) -> str:
    return f"{a.path} record {a.record}" if a.record is not None else str(a.path)


def normal_text(text: str) -> str:
    """Text compared for sameness: case, quotes, dashes, punctuation, bullets and spacing do not count."""
    text = unicodedata.normalize("NFKC", text)
    for mark, plain in QUOTES:  # str.replace per mark: far faster than str.translate on long texts
        if mark in text:
            text = text.replace(mark, plain)
    return " ".join(WORDS.findall(text.casefold()))


def normal_url(url: str | None) -> str | None:
    """An address compared for sameness: no scheme, no www., no trailing slash, no tracking parameters."""
    if not url:
        return None
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower().removeprefix("www.")
    if not host:
        return None
    query = urlencode(sorted((k, v) for k, v in parse_qsl(parts.query) if not TRACKING.match(k.lower())))
    path = parts.path.rstrip("/") or ""
    return f"{host}{path}" + (f"?{query}" if query else "")


def keys(a: Article) -> list:
    """[hash of the normalised text, normalised address]: what finds an article's possible copies."""
    import hashlib

    return [hashlib.sha1(normal_text(a.text).encode("utf-8", "surrogatepass")).hexdigest(), normal_url(a.url)]


def _shingles(words: list[str], n: int = 5) -> set[tuple[str, ...]]:
    if len(words) < n:
        return {tuple(words)} if words else set()
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


EMPTY_KEY = "da39a3ee5e6b4b0d3255bfef95601890afd80709"  # sha1 of no text: keys() of an article without words


@dataclass
class _Copy:
    article: Article  # or an ArticleRef (qa.readers.stream): id, path, record and file_type, without the text
    order: int
    text_key: str  # sha1 of the normalised text ("" when it has no words): not the text, so that a
    #                corpus of 100,000 articles is not held twice more (as normalised text and as words)
    url_key: str | None
    chars: int  # len(text)
    text: Callable[[], str]  # the text, for the few copies compared by their words (read again when not held)
    why: str | None = None  # how it was found to repeat an earlier copy
    _shingles: set | None = None

    @classmethod
    def of(cls, article: Article, order: int) -> "_Copy":
        text_key, url_key = keys(article)
        return cls(article, order, "" if text_key == EMPTY_KEY else text_key, url_key, len(article.text),
                   lambda: article.text)

    @property
    def shingles(self) -> set:
        """Only for copies that share an address or an id (few): computed when first compared."""
        if self._shingles is None:
            self._shingles = _shingles(normal_text(self.text()).split())
        return self._shingles


def similar(a: _Copy, b: _Copy) -> bool:
    small, big = sorted((a.shingles, b.shingles), key=len)
    return bool(small) and len(small & big) >= SIMILAR * len(small)


def resolve(articles: list[Article]) -> tuple[list[Article], list[str], list[Skipped]]:
    """(articles, notices, skipped): duplicates folded into one, id clashes between different texts skipped.

    Two copies are the same story when their normalised texts are equal, or when they share an
    address (canonical URL) or an id and most of their text (half of the shorter one's 5-word
    shingles): a page whose canonical link points at the home page is not merged with every other.
    Input order is file order; the result keeps it.
    """
    kept, notices, skipped = resolve_copies([_Copy.of(a, i) for i, a in enumerate(articles)])
    return [c.article for c in kept], notices, skipped


def resolve_copies(copies: list[_Copy]) -> tuple[list[_Copy], list[str], list[Skipped]]:
    """resolve() on copies that may not hold their texts (qa.readers.stream): the copies kept, in order."""
    ranked = sorted(copies, key=lambda c: (RANK.get(c.article.file_type or "", 1), c.order))
    parent = list(range(len(ranked)))  # union-find over ranked positions: a copy joins every group it matches

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    by_text: dict[str, int] = {}
    by_url: dict[str, list[int]] = {}
    by_id: dict[str, list[int]] = {}
    for k, c in enumerate(ranked):
        matches = []
        if c.text_key and c.text_key in by_text:
            matches.append((by_text[c.text_key], "the same text"))
        for index, why in ((by_url.get(c.url_key, []) if c.url_key else [], "the same address and text"),
                           (by_id.get(c.article.id, []), "the same id and text")):
            matches += [(m, why) for m in index if similar(c, ranked[m])]
        for m, why in matches:
            a, b = find(m), find(k)
            if a != b:
                parent[max(a, b)] = min(a, b)  # the better-ranked copy stays the root
            c.why = c.why or why
        if c.text_key:
            by_text.setdefault(c.text_key, k)
        if c.url_key:
            by_url.setdefault(c.url_key, []).append(k)
        by_id.setdefault(c.article.id, []).append(k)
    grouped: dict[int, list[_Copy]] = {}
    for k, c in enumerate(ranked):
        grouped.setdefault(find(k), []).append(c)
    groups = list(grouped.values())

    kept: list[_Copy] = []
    notices: list[str] = []
    for group in groups:
        longest = max(c.chars for c in group)
        keeper = next(c for c in group if c.chars >= SHORT * longest)
        kept.append(keeper)
        others = [c for c in group if c is not keeper]
        if others:
            reasons = sorted({c.why for c in group if c.why})
            notices.append(f"{', '.join(where(c.article) for c in others)}: the same article as {where(keeper.article)} "
                           f"({'; '.join(reasons)}): indexed once, from {where(keeper.article)}")

    skipped: list[Skipped] = []
    owner: dict[str, _Copy] = {}
    result: list[_Copy] = []
    for c in sorted(kept, key=lambda c: (RANK.get(c.article.file_type or "", 1), c.order)):
        first = owner.get(c.article.id)
        if first is not None:
            skipped.append(Skipped(where(c.article), f"id {c.article.id!r} is already used by {where(first.article)}, "
                                                     "a different article: rename one of the files (or set its id)"))
            continue
        owner[c.article.id] = c
        result.append(c)
    result.sort(key=lambda c: c.order)
    return result, notices, skipped
