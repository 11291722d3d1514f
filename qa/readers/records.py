"""News exports: JSON, JSON Lines and CSV files, one article per record, fields found by their usual names."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from qa.readers.base import (BOMS, FileError, Skipped, SourceFile, as_author, as_bool, as_text, as_url, check_id,
                             clip_title, cut, decode, file_id, open_regular, read_bytes, record_hash, slug)
from qa.readers.dates import HOW_TO_WRITE, DateError, is_future, parse_date
from qa.readers.options import CollectionOptions
from qa.types import Article

# The usual names of each field in news APIs and CMS exports, compared without case, '_', '-' or spaces
# (so publishedAt, published_at and "Published At" are one name). collection.yaml's fields: comes first.
CONVENTIONS: dict[str, tuple[str, ...]] = {
    "id": ("id", "slug", "articleid", "docid", "uuid", "guid"),
    "title": ("title", "headline", "webtitle"),
    "text": ("text", "body", "content", "article", "articlebody", "bodytext", "fulltext", "maintext"),
    "date": ("date", "published", "publishedat", "pubdate", "datepublished", "publicationdate", "publishdate",
             "publishedon", "publishedtime", "webpublicationdate"),
    "url": ("url", "link", "canonicalurl", "weburl", "permalink"),
    "source": ("source", "publisher", "sitename", "site", "publication"),
    "author": ("author", "byline", "authors", "creator"),
    "date_approximate": ("dateapproximate",),
    "date_note": ("datenote",),
}
# Where a .json export keeps its list of records, when it is not the top level.
LIST_KEYS = ("articles", "items", "results", "data", "records", "entries", "posts", "stories", "docs", "documents",
             "hits")
HTML_TAG_RE = re.compile(r"<(?:p|div|br|h[1-6]|ul|ol|li|span|a|strong|em|b|i|blockquote|figure|img|table)\b[^<>]*>",
                         re.I)
MAX_BAD_IN_A_ROW = 50  # then the file is not what its name says: stop reading it
MAX_SKIPS_LISTED = 20  # of one file; the rest are counted in one line (500,000 bad rows made a 57 MB manifest)


def _key(name: object) -> str:
    return re.sub(r"[\s_.\-]+", "", str(name).lower())


@dataclass
class Mapper:
    """Finds an article field in a record: the keys from collection.yaml first, then the usual names,
    at the top level or one level down (Guardian-style ``fields.bodyText``)."""

    options: CollectionOptions

    def get(self, record: dict, name: str):
        for path in self.options.keys(name):
            value = _path(record, path)
            if value is not None:
                return value
        names = CONVENTIONS[name]
        index = {_key(k): k for k in record}
        for n in names:
            if n in index and record[index[n]] not in (None, ""):
                return record[index[n]]
        for value in record.values():
            if isinstance(value, dict):
                inner = {_key(k): k for k in value}
                for n in names:
                    if n in inner and value[inner[n]] not in (None, ""):
                        return value[inner[n]]
        return None

    def tried(self, name: str) -> str:
        return ", ".join(dict.fromkeys([*self.options.keys(name), *CONVENTIONS[name]]))


def _path(record: dict, path: str):
    """A dotted path ("fields.bodyText"); each step matched exactly, then without case or '_'."""
    value = record
    for step in path.split("."):
        if not isinstance(value, dict):
            return None
        if step in value:
            value = value[step]
            continue
        index = {_key(k): k for k in value}
        if _key(step) not in index:
            return None
        value = value[index[_key(step)]]
    return value


def _is_questions(record: object) -> bool:
    return isinstance(record, dict) and "question" in record and not any(
        _key(k) in CONVENTIONS["text"] for k in record)


def _questions_error(rel: str) -> FileError:
    return FileError(rel, "holds test questions ('question' fields, no article text), not articles: name it "
                          "questions.jsonl (which the reader leaves alone) or move it out of the corpus folder")


class Reader:
    """Turns one export's records into Articles, collecting what was skipped and why."""

    def __init__(self, f: SourceFile, options: CollectionOptions, file_type: str):
        self.f = f
        self.options = options
        self.file_type = file_type
        self.mapper = Mapper(options)
        self.articles: list[Article] = []
        self.notices: list = []  # str notices and Skipped records
        self.no_text = 0
        self.skipped = 0
        self.bad_in_a_row = 0
        folder = PurePosixPath(file_id(f.rel)).parent
        self.prefix = "" if str(folder) == "." else f"{folder}/"
        self.base_id = file_id(f.rel)

    def where(self, n: int) -> str:
        return f"{self.f.rel} record {n}"

    def add(self, n: int, record: object) -> None:
        try:
            self.articles.append(self.article(n, record))
            self.bad_in_a_row = 0
        except FileError as exc:
            self.skip(exc.rel, exc.reason)

    def skip(self, where: str, reason: str) -> None:
        self.skipped += 1
        if self.skipped <= MAX_SKIPS_LISTED:
            self.notices.append(Skipped(where, reason))
        self.bad_in_a_row += 1
        if self.bad_in_a_row >= MAX_BAD_IN_A_ROW and not self.articles:
            raise FileError(self.f.rel, f"its first {MAX_BAD_IN_A_ROW} records cannot be read (the first: {reason}): "
                                        f"check that it is a {self.file_type.upper()} export of articles")

    def article(self, n: int, record: object) -> Article:
        where = self.where(n)
        if not isinstance(record, dict):
            raise FileError(where, f"is {type(record).__name__}, not an object with fields (title, text, date, …)")
        get = self.mapper.get
        value = get(record, "text")
        if value is None:
            self.no_text += 1
            raise FileError(where, f"has no text (looked for {self.mapper.tried('text')}): name the field text, "
                                   "or map it in collection.yaml, e.g. fields: {text: story}")
        text = _text_value(value, where)
        if not text.strip():
            raise FileError(where, "has an empty text field: fill it, or remove the record")
        raw_id = get(record, "id")
        if isinstance(raw_id, (str, int)) and not isinstance(raw_id, bool) and str(raw_id).strip() \
                and "://" not in str(raw_id):
            article_id = check_id(self.prefix + slug(str(raw_id).strip()), where)
        else:
            article_id = f"{self.base_id}-{n}"
        title = as_text(get(record, "title"), "title", where)
        try:
            date = parse_date(get(record, "date"))
        except DateError as exc:
            raise FileError(where, f"date: {exc}: {HOW_TO_WRITE}") from None
        note = as_text(get(record, "date_note"), "date_note", where)
        if date is not None and is_future(date):
            self.notices.append(f"{where}: date {date.iso} is in the future: indexed as undated; fix the date")
            note = f"the record gives {date.iso}, a date in the future: not used"
            date = None
        approximate = as_bool(get(record, "date_approximate"), "date_approximate", where)
        if approximate is None:
            approximate = date is not None and date.precision != "day"
        source = get(record, "source")
        if isinstance(source, dict):
            source = source.get("name") or source.get("title")
        if len(text) > self.options.max_chars:
            full = len(text)
            text = cut(text, self.options.max_chars)
            self.notices.append(f"{where}: cut to its first {len(text):,} of {full:,} characters (max_chars in "
                                "collection.yaml)")
        fields = {
            "id": article_id,
            "title": clip_title(title) or _first_line(text),
            "date": date.iso if date else None,
            "date_approximate": bool(approximate and date is not None),
            "date_note": note,
            "source": as_text(source, "source", where),
            "url": as_url(get(record, "url"), where),
            "author": as_author(get(record, "author"), where),
            "text": text,
        }
        return Article(**fields, sha256=record_hash(fields), path=self.f.rel,
                       date_origin=f"{self.file_type} record" if date else None,
                       file_type=self.file_type, record=n)

    def result(self) -> tuple[list[Article], list]:
        if not self.articles and self.no_text and self.no_text == self.skipped:
            raise FileError(self.f.rel, f"no record has a text field (looked for {self.mapper.tried('text')}): name "
                                        "the field text, or map it in collection.yaml, e.g. fields: {text: story}")
        if self.skipped > MAX_SKIPS_LISTED:
            self.notices.append(f"{self.f.rel}: {self.skipped - MAX_SKIPS_LISTED:,} more records skipped after the first "
                                f"{MAX_SKIPS_LISTED} listed ({self.skipped:,} in all): fix the file")
        return self.articles, self.notices


def _text_value(value: object, where: str) -> str:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        value = "\n\n".join(v.strip() for v in value if v.strip())
    if not isinstance(value, str):
        raise FileError(where, f"text is {type(value).__name__}, not text: point fields.text at the article's body")
    if HTML_TAG_RE.search(value):
        from qa.readers.html import fragment_text

        return fragment_text(value)
    return value.strip("\n")


def _first_line(text: str) -> str:
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return line if len(line) <= 120 else line[:120].rsplit(" ", 1)[0] + "…"


# ------------------------------------------------------------------ the three formats
def read_json(f: SourceFile, options: CollectionOptions) -> tuple[list[Article], list]:
    """A .json export: a list of records, or an object holding one (articles, results…; see records:)."""
    raw = read_bytes(f, options.max_file_bytes)
    text = decode(raw, f.rel)
    if text.lstrip().startswith("<"):
        raise FileError(f.rel, "is an HTML page, not JSON: rename it .html, or export the data again")
    try:
        data = json.loads(text)
    except RecursionError:
        raise FileError(f.rel, "is nested too deeply to be an export of articles: export it again") from None
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data":  # one object per line: JSON Lines under a .json name
            return _jsonl_lines(f, options, ((i, line) for i, line in enumerate(text.splitlines(), 1)), "json")
        raise FileError(f.rel, f"is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}): fix it, or "
                               "export it again") from None
    records = _find_records(data, options, f.rel)
    if records and _is_questions(records[0]):
        raise _questions_error(f.rel)
    reader = Reader(f, options, "json")
    for n, record in enumerate(records, 1):
        reader.add(n, record)
    return reader.result()


def _find_records(data, options: CollectionOptions, rel: str) -> list:
    if options.records:
        found = _path(data, options.records) if isinstance(data, dict) else None
        if not isinstance(found, list):
            raise FileError(rel, f"has no list at {options.records!r} (records: in collection.yaml): fix the path")
        return found
    if isinstance(data, list):
        return data
    if isinstance(data, dict):
        if any(_key(k) in CONVENTIONS["text"] for k in data):
            return [data]  # one article
        index = {_key(k): k for k in data}
        for name in LIST_KEYS:
            if name in index and isinstance(data[index[name]], list):
                return data[index[name]]
        for value in data.values():  # {"response": {"results": [...]}}
            if isinstance(value, dict):
                inner = {_key(k): k for k in value}
                for name in LIST_KEYS:
                    if name in inner and isinstance(value[inner[name]], list):
                        return value[inner[name]]
    raise FileError(rel, "holds no list of records (looked for a top-level list or "
                         f"{', '.join(LIST_KEYS[:4])}…): set records: in collection.yaml to its path, e.g. "
                         "records: response.results")


def read_jsonl(f: SourceFile, options: CollectionOptions) -> tuple[list[Article], list]:
    """A .jsonl / .ndjson export, one record per line, read line by line (bounded memory)."""
    line_limit = options.max_chars * 4 + (1 << 20)
    with open_regular(f) as handle:
        head = handle.read(65536)
        _check_text(head, f.rel, partial=True)
        handle.seek(0)
        return _jsonl_lines(f, options, _lines(handle, head, line_limit, f.rel), "jsonl")


def _check_text(head: bytes, rel: str, *, partial: bool) -> None:
    decode(head, rel, partial=partial)  # empty, binary, UTF-16 without a mark: one message for the file


def _lines(handle, head: bytes, limit: int, rel: str):
    """(line number, text or None when over the limit or not UTF-8) for each line of a binary handle."""
    codec = _text_codec(head)
    if codec != "utf-8-sig":  # UTF-16/32 with a byte-order mark: decoded as a stream
        for n, line in enumerate(io.TextIOWrapper(handle, encoding=codec, newline=None), 1):
            yield n, line
        return
    n = 0
    while True:
        line = handle.readline(limit + 1)
        if not line:
            return
        n += 1
        if len(line) > limit and not line.endswith(b"\n"):
            while (rest := handle.readline(1 << 20)) and not rest.endswith(b"\n"):
                pass
            yield n, None
            continue
        if n == 1:
            line = line.removeprefix(b"\xef\xbb\xbf")
        try:
            yield n, line.decode("utf-8")
        except UnicodeDecodeError:
            yield n, b""


def _text_codec(head: bytes) -> str:
    """The stream codec for a file's head: "utf-16"/"utf-32" read their byte-order mark themselves."""
    codec = next((c for bom, c, _ in BOMS if head.startswith(bom)), "utf-8")
    return "utf-8-sig" if codec == "utf-8" else codec[:6]


def _jsonl_lines(f: SourceFile, options: CollectionOptions, lines, file_type: str) -> tuple[list[Article], list]:
    reader = Reader(f, options, file_type)
    checked = False
    for n, line in lines:
        if line is None:
            reader.skip(reader.where(n), f"is longer than the {options.max_chars * 4 / 1e6:,.0f} MB a record may "
                                         "have: split it, or raise max_chars in collection.yaml")
            continue
        if isinstance(line, bytes):
            reader.skip(reader.where(n), "is not UTF-8: save the file as UTF-8")
            continue
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except RecursionError:
            reader.skip(reader.where(n), "is nested too deeply to be an article: fix the line")
            continue
        except json.JSONDecodeError as exc:
            reader.skip(reader.where(n), f"is not valid JSON (column {exc.colno}: {exc.msg}): fix the line or "
                                         "remove it")
            continue
        if not checked:
            checked = True
            if _is_questions(record):
                raise _questions_error(f.rel)
        reader.add(n, record)
    return reader.result()


SNIFF_CHARS = 4096  # the Sniffer's quote pattern is quadratic: 64 KB of ',"' took 20 s, 4 KB takes 0.2 s


def _sniff_sample(sample: str) -> str:
    """The first lines of a CSV, at most SNIFF_CHARS characters (cut at a line end when there is one)."""
    if len(sample) <= SNIFF_CHARS:
        return sample
    head = sample[:SNIFF_CHARS]
    end = max(head.rfind("\n"), head.rfind("\r"))
    return head[:end] if end > 0 else head


def read_csv(f: SourceFile, options: CollectionOptions) -> tuple[list[Article], list]:
    """A .csv / .tsv export with a header row, read row by row; the delimiter is sniffed (, ; tab |)."""
    with open_regular(f) as handle:
        head = handle.read(65536)
        _check_text(head, f.rel, partial=True)
        handle.seek(0)
        text = io.TextIOWrapper(handle, encoding=_text_codec(head), newline="")
        try:
            sample = text.read(65536)
        except UnicodeDecodeError as exc:
            raise FileError(f.rel, f"is not UTF-8 (byte {exc.start}): save it as UTF-8 (in a spreadsheet: "
                                   "CSV UTF-8)") from None
        text.seek(0)
        if f.suffix == ".tsv":
            dialect = csv.excel_tab
        else:
            try:
                dialect = csv.Sniffer().sniff(_sniff_sample(sample), delimiters=",;\t|")
            except csv.Error:
                dialect = csv.excel
        limit = options.max_chars * 4 + (1 << 20)
        if csv.field_size_limit() < limit:
            csv.field_size_limit(limit)  # a body column holds a whole article
        rows = csv.reader(text, dialect)
        try:
            header = next(rows)
        except StopIteration:
            raise FileError(f.rel, "is empty: add a header row and one row per article") from None
        except (csv.Error, UnicodeDecodeError) as exc:
            raise FileError(f.rel, f"has an unreadable header row ({exc}): save it again as CSV UTF-8") from None
        header = [h.strip() for h in header]
        reader = Reader(f, options, "csv")
        if not any(_key(h) in CONVENTIONS["text"] for h in header) and not any(
                k in header or _key(k) in map(_key, header) for k in options.keys("text")):
            if "question" in header:
                raise _questions_error(f.rel)
            raise FileError(f.rel, f"has no text column (its columns: {', '.join(header[:12])}): name the article "
                                   "column text, or map it in collection.yaml, e.g. fields: {text: story}")
        n = 0
        while True:
            try:
                row = next(rows)
            except StopIteration:
                break
            except UnicodeDecodeError as exc:
                reader.skip(reader.where(n + 1), f"is not UTF-8 (byte {exc.start}), nor is the rest of the file, which "
                                                 "was not read: save it as CSV UTF-8")
                break
            except csv.Error as exc:
                n += 1
                reader.skip(reader.where(n), f"cannot be read as CSV ({exc}): fix the row")
                continue
            if not any(cell.strip() for cell in row):
                continue
            n += 1
            if len(row) > len(header):
                reader.skip(reader.where(n), f"has {len(row)} cells for {len(header)} columns: quote its text "
                                             "(\"…\") or fix the row")
                continue
            reader.add(n, {h: v for h, v in zip(header, row, strict=False) if h})  # short rows: missing cells
        return reader.result()
