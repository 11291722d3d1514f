"""What every reader shares: the file and skip records, safe reading, decoding, ids and field checks."""

from __future__ import annotations

import codecs
import contextlib
import errno
import functools
import hashlib
import json
import os
import reprlib
import re
import stat
import unicodedata
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from qa.errors import CorpusError


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A file found by `find_files`, which only stat()s: no file has been opened yet."""

    path: str | Path  # absolute; the walk gives a string (a Path per file cost 1.6 s of walking 100,000 files)
    rel: str  # posix path relative to the corpus folder, e.g. "2019/council.html"
    size: int
    mtime_ns: int

    @property
    def suffix(self) -> str:
        return suffix_of(self.rel)


def suffix_of(name: str) -> str:
    """".md", ".pdf"…, lower case; ".warc.gz" for a compressed web archive."""
    lower = name.lower()
    if lower.endswith(".warc.gz"):
        return ".warc.gz"
    base = lower.rpartition("/")[2]  # PurePosixPath(lower).suffix, without a Path per file (1.5 s of 100,000)
    dot = base.rfind(".")
    return base[dot:] if 0 < dot < len(base) - 1 else ""


@dataclass(frozen=True)
class Skipped:
    """A file (or "file.jsonl record 17") that was not indexed, and why."""

    rel: str
    reason: str  # one line: the problem and the fix

    def __str__(self) -> str:
        return f"{self.rel}: {self.reason}"


class FileError(CorpusError):
    """One file (or one record) cannot be read; the message names it, the problem and the fix."""

    def __init__(self, rel: str, reason: str):
        self.rel = rel
        self.reason = reason
        super().__init__(f"{rel}: {reason}")


class SkippedFilesError(CorpusError):
    """`qa index --strict`: some files were skipped, so nothing was indexed; ``read`` is what was found."""

    exit_code = 3

    def __init__(self, read, message: str):
        self.read = read
        super().__init__(message)


# ------------------------------------------------------------------ reading bytes safely
@contextlib.contextmanager
def open_regular(f: SourceFile):
    """The open file, refusing links and non-regular files.

    The walk that found ``f`` only stat()ed it; the file may have been swapped for a link since,
    so it is opened without following links and checked again on the open descriptor. O_NONBLOCK
    keeps a named pipe put in its place from blocking the read.
    """
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(f.path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # it became a symbolic link
            raise FileError(f.rel, "is a symbolic link: links are not followed; copy the file into the folder") from None
        raise FileError(f.rel, f"cannot be opened ({exc.strerror}): check that it exists and that "
                               "you may read it") from None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise FileError(f.rel, "is not a regular file: remove it from the corpus folder")
        try:
            yield handle
        except OSError as exc:
            raise FileError(f.rel, f"cannot be read ({exc.strerror}): check the disk and the file's "
                                   "permissions") from None


def read_bytes(f: SourceFile, limit: int) -> bytes:
    """The whole file, refusing links, non-regular files and files over ``limit`` bytes."""
    with open_regular(f) as handle:
        size = os.fstat(handle.fileno()).st_size
        if size > limit:
            raise FileError(f.rel, f"is {size / 1e6:,.1f} MB, over the {limit / 1e6:,.0f} MB limit for one "
                                   "file: split it, or raise max_file_mb in collection.yaml")
        return handle.read(limit + 1)


def read_head(f: SourceFile, limit: int) -> tuple[bytes, int, str]:
    """(the first ``limit`` bytes, the file's size, the sha256 of all its bytes): bounded memory."""
    with open_regular(f) as handle:
        head = handle.read(limit)
        digest = hashlib.sha256(head)
        size = len(head)
        while block := handle.read(1 << 20):
            digest.update(block)
            size += len(block)
        return head, size, digest.hexdigest()


# ------------------------------------------------------------------ decoding
BOMS = (  # longest first: the UTF-32 LE mark starts with the UTF-16 LE one
    (codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32"), (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32"),
    (codecs.BOM_UTF8, "utf-8", "UTF-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16"), (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16"),
)
CONTROL_RE = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
CHARSET_RE = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]{2,40})""", re.I)


def _looks_utf16(sample: bytes) -> bool:
    """Mostly-ASCII text in UTF-16 has a NUL in every other byte."""
    even, odd = sample[0::2], sample[1::2]
    if not even or not odd:
        return False
    zero_even, zero_odd = even.count(0) / len(even), odd.count(0) / len(odd)
    return (zero_odd > 0.3 and zero_even < 0.05) or (zero_even > 0.3 and zero_odd < 0.05)


def _binary_or_legacy(raw: bytes, rel: str, exc: UnicodeDecodeError) -> FileError:
    sample = raw[:65536]
    high = sum(b >= 0x80 for b in sample) / max(len(sample), 1)
    controls = sum(b < 0x09 or 0x0e <= b < 0x20 for b in sample) / max(len(sample), 1)
    if high < 0.3 and controls < 0.01:
        return FileError(rel, f"is not UTF-8 (byte {exc.start} is {raw[exc.start]:#04x}; it looks like Windows-1252 "
                              "or Latin-1 text): save it as UTF-8")
    return FileError(rel, "is a binary file, not text: remove it, or save its text as .txt, .md or .html")


def decode(raw: bytes, rel: str, *, html: bool = False, partial: bool = False) -> str:
    """Text of a file: UTF-8 (with or without a byte-order mark), or UTF-16/32 with a byte-order mark.

    An HTML page may instead declare its encoding in a <meta charset>. UTF-16 without a byte-order mark
    and binary files (many control bytes, NUL among them, or not UTF-8 at all) are refused with a
    message rather than guessed at; a stray control byte in a text (a scanned page's NUL or ESC) is text.

    ``partial``: ``raw`` is the head of a longer file, so a character cut at its end is dropped.

    Raises:
        FileError: empty, binary, or in an encoding that is not declared.
    """
    if partial:
        raw = _whole_characters(raw)
    text = None
    for bom, codec, name in BOMS:
        if raw.startswith(bom):
            try:
                text = raw[len(bom):].decode(codec)
            except UnicodeDecodeError as exc:
                raise FileError(rel, f"starts with a {name} byte-order mark but is not valid {name} (byte "
                                     f"{exc.start + len(bom)}): save it again as UTF-8") from None
            break
    if text is None:
        sample = raw[:65536]
        if b"\x00" in sample and _looks_utf16(sample):
            raise FileError(rel, "is UTF-16 text without a byte-order mark: save it as UTF-8 (or as UTF-16 "
                                 "with a byte-order mark)")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            declared = CHARSET_RE.search(raw[:8192]) if html else None
            if declared:
                charset = declared.group(1).decode("ascii").lower()
                try:
                    text = raw.decode(codecs.lookup(charset).name)
                except LookupError:
                    raise FileError(rel, f"declares the unknown encoding {charset!r}: save it as UTF-8") from None
                except UnicodeDecodeError as exc2:
                    raise FileError(rel, f"is not valid {charset} as it declares (byte {exc2.start}): save it as "
                                         "UTF-8") from None
            else:
                raise _binary_or_legacy(raw, rel, exc) from None
    head = min(len(text), 65536)
    controls = len(CONTROL_RE.findall(text[:65536]))
    if controls > 0.01 * head and (controls >= 8 or controls > 0.1 * head):
        raise FileError(rel, "is a binary file, not text: remove it, or save its text as .txt, .md or .html")
    if not text.strip():
        raise FileError(rel, "is empty: add the article's text, or remove the file")
    return text


def _whole_characters(raw: bytes) -> bytes:
    """The head of a file without the partial character at its end (UTF-8 or UTF-16/32 by its mark)."""
    for bom, codec, _ in BOMS:
        if raw.startswith(bom):
            unit = 4 if "32" in codec else 2 if "16" in codec else 0
            if unit:
                body = raw[len(bom):]
                body = body[:len(body) - len(body) % unit]
                if unit == 2 and body:  # a high surrogate cut from its pair
                    last = body[-2:] if codec.endswith("le") else body[-2:][::-1]
                    if 0xD8 <= last[1] <= 0xDB:
                        body = body[:-2]
                return bom + body
    end = len(raw)
    for back in range(1, min(4, end) + 1):  # a UTF-8 lead byte whose sequence runs past the end
        b = raw[end - back]
        if b < 0x80:
            break
        if b >= 0xC0:
            need = 2 if b < 0xE0 else 3 if b < 0xF0 else 4
            return raw[:end - back] if need > back else raw
    return raw


# ------------------------------------------------------------------ YAML
class YAMLProblem(ValueError):
    """Front matter or collection.yaml that cannot be read; ``reason`` is one line (what and the fix)."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


@functools.lru_cache(maxsize=1)
def _yaml_loader():
    """PyYAML's safe loader (libyaml's when PyYAML has it: ten times faster, and front matter is most of
    reading a Markdown corpus), with dates left as text (each is read by parse_date, with its own message)
    and aliases refused.

    An alias (``*a``) reuses a node: ten lines of nine aliases each make one value of 9**10 items
    ("billion laughs"), small in memory but endless to print, compare or join. Each node is built at most
    once here; a second use of a node (an alias) stops the load before anything is expanded.
    """
    import yaml

    class Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
        def construct_object(self, node, deep=False):
            if node in self.constructed_objects or node in self.recursive_objects:
                raise YAMLProblem("uses a YAML alias (*name): aliases are not read; write the value out")
            return super().construct_object(node, deep)

    Loader.yaml_implicit_resolvers = {
        k: [r for r in v if r[0] != "tag:yaml.org,2002:timestamp"]
        for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    return Loader


def load_yaml(source: str, first_line: int = 1):
    """The value of a YAML text (front matter, collection.yaml), read as data.

    Raises:
        YAMLProblem: invalid YAML (with its line, counted from ``first_line``), an alias, nesting too
            deep, or a number too long to read.
    """
    import yaml

    try:
        return yaml.load(source, Loader=_yaml_loader())
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        at = f" (line {line + first_line})" if line is not None else ""
        raise YAMLProblem(f"is not valid YAML{at}: fix its syntax (put a value holding ':' in quotes)") from None
    except RecursionError:
        raise YAMLProblem("is nested too deeply to be settings: fix its syntax") from None
    except ValueError as exc:  # int() of thousands of digits
        if isinstance(exc, YAMLProblem):
            raise
        raise YAMLProblem("holds a number too long to read (over 4,300 digits): write it in quotes, or fix it") from None


# ------------------------------------------------------------------ ids
SEGMENT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
MAX_ID_CHARS = 255


def slug(name: str) -> str:
    """One id segment from a file or folder name: unchanged when it is already a slug."""
    if SEGMENT_RE.match(name):
        return name
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    s = re.sub(r"[^A-Za-z0-9._-]+", "-", ascii_name)
    s = re.sub(r"-{2,}", "-", s).strip("-._")[:128].strip("-._")
    return s or "file-" + hashlib.sha1(name.encode("utf-8", "surrogatepass")).hexdigest()[:10]


def file_id(rel: str) -> str:
    """The article id of a one-article file: its relative path without the suffix, e.g. "2019/council";
    a path deeper than MAX_ID_CHARS allows is cut, and a hash of the whole path keeps it unique."""
    parts = PurePosixPath(rel).with_suffix("").parts
    article_id = "/".join(slug(p) for p in parts)
    if len(article_id) > MAX_ID_CHARS:
        tail = "-" + hashlib.sha1(rel.encode("utf-8", "surrogatepass")).hexdigest()[:10]
        article_id = article_id[:MAX_ID_CHARS - len(tail)].rstrip("/-._") + tail
    return article_id


def check_id(value: str, where: str) -> str:
    """An id given in a file (front matter ``id:``, a record's id field), checked to be a slug."""
    if not (len(value) <= MAX_ID_CHARS and all(SEGMENT_RE.match(p) for p in value.split("/"))):
        raise FileError(where, f"id {_short(value)} is not a slug: use letters, digits, '.', '_' or '-' (and '/' "
                               "between folders), starting with a letter or digit")
    return value


# ------------------------------------------------------------------ field values
def as_text(value: object, field: str, where: str) -> str | None:
    """A one-line text field (title, source, url, date_note): None when empty; lists are errors."""
    if value is None:
        return None
    if isinstance(value, bool) or isinstance(value, (list, tuple, dict)):
        kind = "a list" if isinstance(value, (list, tuple)) else "a mapping" if isinstance(value, dict) else "yes/no"
        raise FileError(where, f"{field} is {kind} ({_short(value)}), not text: write one {field} (in quotes if "
                               "it holds ':' or starts with '[')")
    text = " ".join(str(value).split())
    return text or None


def as_bool(value: object, field: str, where: str) -> bool | None:
    """true/false, also when written in quotes ("false" is false)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in ("true", "yes", "on", "1"):
            return True
        if word in ("false", "no", "off", "0", ""):
            return False
    raise FileError(where, f"{field} is {_short(value)}, not true or false: write {field}: true or {field}: false")


def as_author(value: object, where: str) -> str | None:
    """An author or a list of them (strings, or objects with a name), joined with ", "."""
    if value is None:
        return None
    items = value if isinstance(value, (list, tuple)) else [value]
    names = []
    for item in items:
        if isinstance(item, dict):
            item = item.get("name")
        if isinstance(item, (str, int, float)) and not isinstance(item, bool):
            name = " ".join(str(item).split())
            if name and name not in names:
                names.append(name)
        elif item is not None:
            raise FileError(where, f"author is {_short(value)}: write a name or a list of names")
    return ", ".join(names) or None


URL_RE = re.compile(r"^https?://[^\s/?#]+[^\s]*$", re.I)


def as_url(value: object, where: str) -> str | None:
    text = as_text(value, "url", where)
    if text is None:
        return None
    if not URL_RE.match(text):
        raise FileError(where, f"url {text!r} is not a web address: write the full address (https://…) or leave it out")
    return text


_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxlist, _REPR.maxdict, _REPR.maxstring, _REPR.maxother = 2, 4, 4, 40, 40


def _short(value: object) -> str:
    """A value in a message: bounded however large or nested (YAML aliases can nest exponentially)."""
    text = _REPR.repr(value)
    return text if len(text) <= 60 else text[:57] + "…"


MAX_TITLE_CHARS = 300


def clip_title(title: str | None) -> str | None:
    """A title from a page or an export, at most MAX_TITLE_CHARS (cut at a word, with an ellipsis)."""
    if not title or len(title) <= MAX_TITLE_CHARS:
        return title
    return title[:MAX_TITLE_CHARS].rsplit(" ", 1)[0] + "…"


# ------------------------------------------------------------------ bounded text
def within_max_chars(text: str, sha256: str | None, where: str, max_chars: int) -> tuple[str, str | None, list[str]]:
    """The text cut to max_chars (see cut), its hash marked with the limit when cut (so raising the limit
    re-reads the article), and the notice saying so: (text, sha256, notices)."""
    if len(text) <= max_chars:
        return text, sha256, []
    full, text = len(text), cut(text, max_chars)
    if sha256 is not None:
        sha256 = hashlib.sha256(f"{sha256}:max_chars={max_chars}".encode()).hexdigest()
    return text, sha256, [f"{where}: cut to its first {len(text):,} of {full:,} characters (max_chars in collection.yaml)"]


def cut(text: str, max_chars: int) -> str:
    """The longest prefix of at most max_chars characters that ends at a paragraph, line, sentence or
    word boundary (a prefix, so every offset stays exact)."""
    if len(text) <= max_chars:
        return text
    window = text[:max_chars]
    floor = int(max_chars * 0.8)
    for pattern in (r"\n[ \t]*\n", r"\n", r"[.!?][\"'”’)]?\s", r"\s"):
        last = None
        for m in re.finditer(pattern, window[floor:]):
            last = m
        if last is not None:
            return window[:floor + last.end()].rstrip()
    return window


def record_hash(fields: dict) -> str:
    """The sha256 of a record's article: its fields as canonical JSON."""
    return hashlib.sha256(json.dumps(fields, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()
