"""RSS and Atom feeds (.rss, .atom, and .xml files that hold one): one article per entry, through feedparser.

The entry's full text (RSS content:encoded, Atom content) goes through the HTML reader; an entry with
only a summary is indexed from it, and the file's notice says how many were. Ids come from the entry's
guid (or its link), so they stay the same when the feed is read again and an updated feed re-indexes
only its new and changed entries. feedparser is given the file's bytes, never an address: nothing is
fetched (it does not fetch the DTD either); a feed that declares XML entities is refused before parsing.
"""

from __future__ import annotations

import calendar
import hashlib
import io
import re
import time
from pathlib import PurePosixPath
from urllib.parse import urlsplit
from xml.sax import SAXParseException

from qa.readers.base import (FileError, Skipped, SourceFile, as_author, as_text, as_url, check_id, clip_title, decode,
                             file_id, read_bytes, record_hash, slug, within_max_chars)
from qa.readers.dates import DateError, is_future, parse_date
from qa.readers.options import CollectionOptions
from qa.types import Article

FEED_ROOT = re.compile(r"<(?:[A-Za-z0-9_]+:)?(?:rss|feed|RDF)[\s>]")
ENTITY = re.compile(r"<!ENTITY", re.I)
HTML_TYPES = ("text/html", "application/xhtml+xml", "html", "xhtml")
MAX_ENTRIES = 100_000


def is_feed(head: str) -> bool:
    """Whether the start of an .xml file is an RSS, RDF or Atom document."""
    return bool(FEED_ROOT.search(head[:4096]))


def read(f: SourceFile, options: CollectionOptions) -> tuple[list[Article], list]:
    """The entries of a feed, one article each; an entry that cannot be read is one Skipped line.

    Raises:
        FileError: over max_file_mb, not a feed, entity declarations, or no entry with text.
    """
    raw = read_bytes(f, options.max_file_bytes)
    text = _text_of(raw, f.rel)
    if not is_feed(text):
        raise FileError(f.rel, "is XML but not an RSS or Atom feed (no <rss>, <feed> or <rdf:RDF> at its start): "
                               "move it out of the corpus folder, or give it its own suffix")
    if ENTITY.search(text):
        raise FileError(f.rel, "declares XML entities (<!ENTITY …>), which no feed needs and which can expand to "
                               "gigabytes: remove the declarations from its DOCTYPE")
    import feedparser

    parsed = feedparser.parse(io.BytesIO(raw), sanitize_html=True, resolve_relative_uris=True)
    if not parsed.entries:
        problem = f" ({str(parsed.get('bozo_exception', ''))[:80]})" if parsed.get("bozo") else ""
        raise FileError(f.rel, f"is a feed with no entries{problem}: check that it is the whole feed")
    publisher = as_text(parsed.feed.get("title"), "title", f.rel)
    base = file_id(f.rel)
    articles: list[Article] = []
    notices: list = []
    summaries = 0
    seen: set[str] = set()
    for n, entry in enumerate(parsed.entries[:MAX_ENTRIES], 1):
        where = f"{f.rel} record {n}"
        try:
            a, summary_only, more = _entry(entry, n, base, publisher, options, f.rel)
        except FileError as exc:
            notices.append(Skipped(where, exc.reason))
            continue
        if a.id in seen:  # a feed that repeats an entry: the first is kept
            notices.append(f"{where}: the same guid as an earlier entry: passed over")
            continue
        seen.add(a.id)
        summaries += summary_only
        notices += more
        articles.append(a)
    damage = parsed.get("bozo_exception")
    if isinstance(damage, SAXParseException):  # feedparser went on with its lenient parser: the rest may be lost
        notices.append(Skipped(f"{f.rel} record {len(parsed.entries) + 1}",
                               f"the feed is not well-formed XML (line {damage.getLineNumber()}: "
                               f"{damage.getMessage()[:60]}): it was read leniently, and entries after the damage "
                               "may be missing; fix or download the feed again"))
    if len(parsed.entries) > MAX_ENTRIES:
        notices.append(f"{f.rel}: read its first {MAX_ENTRIES:,} of {len(parsed.entries):,} entries")
    if summaries:
        notices.append(f"{f.rel}: {summaries:,} of {len(articles):,} entr{'ies' if len(articles) != 1 else 'y'} "
                       f"carr{'y' if summaries != 1 else 'ies'} only a summary, indexed as such: the full text is on the site (save the pages, or a feed "
                       "with content:encoded)")
    if not articles:
        first = next((x.reason for x in notices if isinstance(x, Skipped)), "")
        raise FileError(f.rel, f"no entry could be read (the first: {first})")
    return articles, notices


XML_ENCODING = re.compile(rb"""\A\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9_.:-]{2,40})["']""")


def _text_of(raw: bytes, rel: str) -> str:
    """The feed as text: UTF-8 or a byte-order mark, else the encoding its XML declaration names
    (older feeds are often ISO-8859-1); empty, binary and undeclared files get the readers' one message."""
    try:
        return decode(raw, rel, html=True)
    except FileError:
        declared = XML_ENCODING.match(raw[:512])
        if not declared:
            raise
    import codecs

    name = declared.group(1).decode("ascii")
    try:
        return raw.decode(codecs.lookup(name).name)
    except LookupError:
        raise FileError(rel, f"declares the unknown encoding {name!r}: save it as UTF-8") from None
    except UnicodeDecodeError as exc:
        raise FileError(rel, f"is not valid {name} as it declares (byte {exc.start}): save it as UTF-8") from None


def _entry(entry, n: int, base: str, publisher: str | None, options: CollectionOptions, rel: str
           ) -> tuple[Article, bool, list[str]]:
    where = f"{rel} record {n}"
    text, summary_only = _text(entry)
    if not text.strip():
        raise FileError(where, "has no text (no content and no summary): check the feed")
    text, _, notices = within_max_chars(text, None, where, options.max_chars)  # the hash is of what is kept
    guid = entry.get("id") or entry.get("link") or ""
    article_id = stable_id(base, guid, n)
    try:
        url = as_url(entry.get("link"), where)
    except FileError:
        url = None
    date, origin, note = None, None, None
    for key, origin_name in (("published", "feed published"), ("updated", "feed updated")):
        found = _date(entry, key)
        if found is None:
            continue
        if is_future(found):
            notices.append(f"{where}: its {key} date {found.iso} is in the future: indexed as undated")
            note = f"the feed gives {found.iso}, a date in the future: not used"
            break
        date, origin = found, origin_name
        break
    try:
        author = as_author(entry.get("author") or [a.get("name") for a in entry.get("authors", []) if a.get("name")]
                           or None, where)
    except FileError:
        author = None
    title = as_text(entry.get("title"), "title", where)
    fields = {"id": article_id, "title": clip_title(title) or _first_line(text),
              "date": date.iso if date else None, "date_approximate": bool(date and date.precision != "day"),
              "date_note": note, "source": publisher, "url": url, "author": author, "text": text}
    return Article(**fields, sha256=record_hash(fields), path=rel, date_origin=origin if date else None,
                   file_type="feed", record=n), summary_only, notices


def _text(entry) -> tuple[str, bool]:
    """(text, only a summary): the longest full content, else the summary; HTML through the HTML reader."""
    contents = [c for c in entry.get("content", []) if (c.get("value") or "").strip()]
    if contents:
        best = max(contents, key=lambda c: len(c.get("value", "")))
        return _as_text(best.get("value", ""), best.get("type", "")), False
    detail = entry.get("summary_detail") or {}
    return _as_text(entry.get("summary") or "", detail.get("type", "text/html")), True


def _as_text(value: str, kind: str) -> str:
    """HTML with tags through the HTML reader; text (or HTML that is only text and entities) as paragraphs."""
    if re.search(r"<[A-Za-z!/]", value):
        from qa.readers.html import fragment_text

        return fragment_text(value)
    if kind in HTML_TYPES:
        import html

        value = html.unescape(value)
    return "\n\n".join(" ".join(p.split()) for p in re.split(r"\n\s*\n", value) if p.strip())


def _date(entry, key: str):
    parsed = entry.get(f"{key}_parsed")
    if parsed:
        try:
            return parse_date(time.strftime("%Y-%m-%d", time.gmtime(calendar.timegm(parsed))))
        except (DateError, ValueError, OverflowError):
            return None
    value = entry.get(key)
    if not value:
        return None
    try:
        return parse_date(value)
    except DateError:
        return None


def stable_id(base: str, guid: str, n: int) -> str:
    """"<file id>/<last part of the guid or address>-<8 hex of its hash>": the same guid, the same id
    (a feed entry's guid, an archived page's address)."""
    if not guid:
        return f"{base}/entry-{n}"
    parts = urlsplit(guid)
    tail = PurePosixPath(parts.path).name if parts.scheme in ("http", "https") and parts.path.strip("/") else guid
    tail = re.sub(r"\.(html?|php|aspx?)$", "", tail)[:60] or "entry"
    digest = hashlib.sha1(guid.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return check_id(f"{base}/{slug(tail)}-{digest}", guid[:200])


def _first_line(text: str) -> str:
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return line if len(line) <= 120 else line[:120].rsplit(" ", 1)[0] + "…"
