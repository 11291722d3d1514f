"""Web archives (.warc, .warc.gz): each HTML page a crawler archived is an article, read record by record.

The archive is streamed (warcio): one record's payload at a time, at most max_file_mb of it, so a
1 GB archive is read in bounded memory (benchmarks/extraction.md). A `response` record with status
200 and an HTML content type goes through the HTML reader; its target URI is the article's url (and so
finds the same story among pages, feeds and exports), its WARC-Date the date when the page gives none.
Requests, metadata and the like are not pages; non-HTML responses, redirects, error statuses and
revisits are counted in one notice. Of several captures of one address, the last is kept.
"""

from __future__ import annotations

import codecs
import hashlib
import re

from qa.readers.base import (FileError, Skipped, SourceFile, as_url, clip_title, decode, file_id, open_regular,
                             within_max_chars)
from qa.readers.dates import DateError, is_future, parse_date
from qa.readers.feed import stable_id
from qa.readers.options import CollectionOptions
from qa.types import Article

HTML_TYPES = ("text/html", "application/xhtml+xml")
CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9_.:-]{2,40})", re.I)


class _Tally:
    """What was passed over, for the one summary notice."""

    def __init__(self):
        self.counts: dict[str, int] = {}
        self.records = 0

    def add(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1

    def line(self, rel: str, pages: int) -> str | None:
        if not self.counts:
            return None
        parts = [f"{n:,} {what}{'s' * (n != 1)}" for what, n in self.counts.items()]
        return (f"{rel}: {pages:,} page{'s' * (pages != 1)} read from {self.records:,} records; passed over "
                f"{', '.join(parts)}")


def read(f: SourceFile, options: CollectionOptions) -> tuple[list[Article], list]:
    """The archived HTML pages of a .warc or .warc.gz, one article each.

    Raises:
        FileError: not a WARC, or damaged before its first page; damage later is one Skipped line
            after the pages read until then.
    """
    from warcio.archiveiterator import ArchiveIterator
    from warcio.exceptions import ArchiveLoadFailed

    base = file_id(f.rel[:-3] if f.rel.lower().endswith(".gz") else f.rel)  # "2019/crawl.warc.gz" -> "2019/crawl"
    by_id: dict[str, Article] = {}
    notices: list = []
    tally = _Tally()
    class Quiet(ArchiveIterator):
        INC_RECORD = ""  # warcio writes a warning to stderr before the error we report in one line

    with open_regular(f) as handle:
        n = 0
        try:
            for n, record in enumerate(Quiet(handle), 1):
                tally.records = n
                kind = _kind(record)
                if kind != "page":
                    if kind:
                        tally.add(kind)
                    continue
                try:
                    a, more = _page(f, record, n, base, options)
                except FileError as exc:
                    notices.append(Skipped(exc.rel, exc.reason))
                    continue
                notices += more
                if a.id in by_id:
                    tally.add("earlier capture")
                    del by_id[a.id]
                by_id[a.id] = a
        except (ArchiveLoadFailed, EOFError, OSError, ValueError) as exc:
            problem = f"is damaged after record {n:,} ({type(exc).__name__}: {str(exc).splitlines()[0][:100] if str(exc) else ''})"
            if n == 0 and not by_id:
                raise FileError(f.rel, f"is not a WARC archive that can be read ({str(exc).splitlines()[0][:100] if str(exc) else type(exc).__name__}): "
                                       "check that it is a .warc or .warc.gz file") from None
            notices.append(Skipped(f"{f.rel} record {n + 1}", f"{problem[3:]}: the rest of the archive was not read; "
                                                              "the pages before it were"))
    line = tally.line(f.rel, len(by_id))
    if line:
        notices.append(line)
    if not by_id and not any(isinstance(x, Skipped) for x in notices):
        raise FileError(f.rel, f"holds no HTML page (of {tally.records:,} records): nothing to index")
    return list(by_id.values()), notices


def _kind(record) -> str | None:
    """"page", or what is passed over ("non-HTML response", "redirect", "error status", "revisit"), or None
    for records that are not responses at all (requests, metadata, warcinfo)."""
    if record.rec_type == "revisit":
        return "revisit"
    if record.rec_type != "response":
        return None
    http = record.http_headers
    if http is None:
        return "non-HTML response"
    try:
        status = int(http.get_statuscode() or 0)
    except ValueError:
        status = 0
    if 300 <= status < 400:
        return "redirect"
    if status != 200:
        return "error status" if status >= 400 else "non-HTML response"
    content_type = (http.get_header("Content-Type") or "").split(";")[0].strip().lower()
    return "page" if content_type in HTML_TYPES else "non-HTML response"


def _page(f: SourceFile, record, n: int, base: str, options: CollectionOptions) -> tuple[Article, list[str]]:
    from qa.readers.html import extract_page

    where = f"{f.rel} record {n}"
    uri = record.rec_headers.get_header("WARC-Target-URI") or ""
    raw = record.content_stream().read(options.max_file_bytes + 1)
    if len(raw) > options.max_file_bytes:
        raise FileError(where, f"is a page over the {options.max_file_bytes / 1e6:,.0f} MB limit for one file: "
                               "raise max_file_mb in collection.yaml")
    if _cut_short(record):
        raise FileError(where, f"({uri[:80]}) is cut short: the archive ends inside it (a truncated download?): "
                               "passed over; download the archive again")
    if not raw.strip():
        raise FileError(where, f"({uri[:80]}) has an empty payload (a wrong Content-Length?): nothing to index")
    text = _decode(raw, record.http_headers.get_header("Content-Type") or "", where)
    page = extract_page(text, **({"prune_xpath": list(options.drop)} if options.drop else {}))
    if not page.text.strip():
        raise FileError(where, f"({uri[:80]}) has no article text that could be found (a listing or a log-in page?)")
    sha256 = hashlib.sha256(raw).hexdigest()
    if options.drop:
        sha256 = hashlib.sha256(f"{sha256}:drop={options.drop!r}".encode()).hexdigest()
    body, sha256, notices = within_max_chars(page.text, sha256, where, options.max_chars)
    date, precision, origin, note = page.date, page.date_precision, page.date_origin, None
    if date is None:
        archived = _archived(record)
        if archived is not None:
            date, precision, origin = archived.iso, "archived", "warc record date"
            note = f"the day the page was archived ({archived.iso}): the page gives no date of its own"
    try:
        url = as_url(uri, where)
    except FileError:
        url = None
    first = next((ln.strip() for ln in body.splitlines() if ln.strip()), "")
    return Article(
        id=stable_id(base, uri, n), title=clip_title(page.title) or (first[:120].rsplit(" ", 1)[0] + "…"
                                                                      if len(first) > 120 else first),
        date=date, source=page.source, url=url, text=body, sha256=sha256,
        date_approximate=precision not in (None, "day"), date_note=note, path=f.rel, author=page.author,
        date_origin=origin, file_type="warc", record=n,
    ), notices


def _cut_short(record) -> bool:
    """Whether the file ended before the record's Content-Length did (warcio just stops reading there)."""
    stream = record.raw_stream
    for _ in range(64):  # what is left of a whole record is its last few bytes; read at most 4 MB to see
        if getattr(stream, "limit", 0) <= 0:
            return False
        if not stream.read(min(stream.limit, 1 << 16)):
            return True
    return False


def _decode(raw: bytes, content_type: str, where: str) -> str:
    declared = CHARSET.search(content_type)
    if declared:
        try:
            codec = codecs.lookup(declared.group(1)).name
        except LookupError:
            codec = None
        if codec and codec != "utf-8":
            try:
                return raw.decode(codec)
            except UnicodeDecodeError:
                pass
    return decode(raw, where, html=True)


def _archived(record):
    value = record.rec_headers.get_header("WARC-Date")
    try:
        found = parse_date(value) if value else None
    except DateError:
        return None
    return None if found is None or is_future(found) else found
