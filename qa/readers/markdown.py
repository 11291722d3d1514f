"""Markdown and plain-text articles: the body verbatim, metadata from optional YAML front matter."""

from __future__ import annotations

import re

from qa.readers.base import (FileError, SourceFile, as_author, as_bool, as_text, as_url, check_id, cut, decode,
                             file_id, load_yaml, read_head, YAMLProblem)
from qa.readers.dates import HOW_TO_WRITE, DateError, is_future, parse_date
from qa.readers.options import CollectionOptions
from qa.types import Article

# "---" on its own line, the YAML (possibly nothing: "---\n---"), then "---" on its own line.
FRONT_MATTER_RE = re.compile(r"\A---[ \t]*\r?\n(?:(.*?)\r?\n)??---[ \t]*(?:\r?\n|\Z)", re.S)
HTML_START_RE = re.compile(r"\A\s*(?:<!--.*?-->\s*)*(?:<\?xml[^>]*>\s*)?(?:<!doctype\s+html|<html[\s>])", re.I | re.S)
# The closing #s are cut in heading(): "(.+?)(?:[ \t]+#+)?[ \t]*$" backtracked quadratically on a long run of spaces
ATX_RE = re.compile(r"^[ ]{0,3}(#{1,6})[ \t]+(.+)$")
SETEXT_RE = re.compile(r"^[ ]{0,3}(=+|-+)[ \t]*$")
TITLE_CHARS = 120


def looks_like_html(text: str) -> bool:
    """A saved web page, whatever its name: it starts with <!DOCTYPE html> or <html>."""
    return bool(HTML_START_RE.match(text[:4096]))


def read(f: SourceFile, options: CollectionOptions) -> tuple[list[Article], list[str]]:
    """One article from a .md, .markdown or .txt file (or, when it is really a saved page, via the HTML reader).

    Raises:
        FileError: undecodable, bad front matter or field values, or no text.
    """
    head_limit = options.max_chars * 4 + 65536  # UTF-8 is at most 4 bytes a character; front matter
    raw, size, sha256 = read_head(f, head_limit)
    partial = size > len(raw)
    text = decode(raw, f.rel, partial=partial)
    if looks_like_html(text):
        from qa.readers import html

        if partial:
            raise FileError(f.rel, f"is a saved web page of {size / 1e6:,.1f} MB, over the {head_limit / 1e6:,.0f} "
                                   "MB a page may have here: raise max_chars in collection.yaml")
        return html.read_page(f, raw, text, options, sha256=sha256)
    return parse(f, text, sha256, options, partial=partial, size=size)


def parse(f: SourceFile, content: str, sha256: str, options: CollectionOptions, *, partial: bool = False,
          size: int = 0) -> tuple[list[Article], list[str]]:
    notices: list[str] = []
    where = f.rel
    meta: dict = {}
    body = content
    m = FRONT_MATTER_RE.match(content)
    if re.match(r"---[ \t]*\r?\n", content) and not m:
        raise FileError(where, "front matter is not closed: end it with a line '---'")
    if m:
        meta = _front_matter(m.group(1) or "", where)
        body = content[m.end():]
    if not body.strip():
        raise FileError(where, "has no text after its front matter: add the article's body, or remove the file")
    article_id = check_id(str(meta["id"]).strip(), where) if meta.get("id") is not None else file_id(f.rel)
    title = as_text(meta.get("title"), "title", where)
    if "title" in meta and title is None:
        raise FileError(where, "title is empty: give the article a title (or remove the line to use its first heading)")
    if title is None:
        title = first_heading(body, markdown=f.suffix != ".txt")
    try:
        date = parse_date(meta.get("date"))
    except DateError as exc:
        raise FileError(where, f"date: {exc}: {HOW_TO_WRITE}, or null when unknown") from None
    approximate = as_bool(meta.get("date_approximate"), "date_approximate", where)
    date_note = as_text(meta.get("date_note"), "date_note", where)
    if date is not None and is_future(date):
        notices.append(f"{where}: date {date.iso} is in the future: indexed as undated; fix the date")
        date_note = f"the file gives {date.iso}, a date in the future: not used" + (f"; {date_note}" if date_note else "")
        date = None
    if approximate is None:
        approximate = date is not None and date.precision != "day"
    if len(body) > options.max_chars or partial:
        full = f"of {len(body):,} characters" if not partial else f"characters (the file is {size / 1e6:,.1f} MB)"
        body = cut(body, options.max_chars)
        notices.append(f"{where}: cut to its first {len(body):,} {full} (max_chars in collection.yaml)")
        sha256 = _cut_hash(sha256, options.max_chars)
    return [Article(
        id=article_id,
        title=title,
        date=date.iso if date else None,
        source=as_text(meta.get("source"), "source", where),
        url=as_url(meta.get("url"), where),
        text=body,
        sha256=sha256,
        date_approximate=bool(approximate and date is not None),
        date_note=date_note,
        path=f.rel,
        author=as_author(meta.get("author"), where),
        date_origin="front matter" if date is not None else None,
        file_type="text" if f.suffix == ".txt" else "markdown",
    )], notices


def _cut_hash(sha256: str, max_chars: int) -> str:
    """A cut article changes with max_chars even when its file does not."""
    import hashlib

    return hashlib.sha256(f"{sha256}:max_chars={max_chars}".encode()).hexdigest()


def _front_matter(source: str, where: str) -> dict:
    if not source.strip():
        return {}
    try:
        meta = load_yaml(source, first_line=2)
    except YAMLProblem as exc:
        raise FileError(where, f"front matter {exc.reason}") from None
    if meta is None:
        return {}
    if not isinstance(meta, dict):
        raise FileError(where, "front matter must be 'key: value' lines (title:, date:, source:, url:)")
    return meta


def first_heading(body: str, *, markdown: bool = True) -> str:
    """The title of a file without one: its first '# heading' (Markdown), else its first line."""
    lines = body.splitlines()
    first = next((ln.strip() for ln in lines if ln.strip()), "")
    if markdown:
        for line in lines[:200]:
            m = ATX_RE.match(line)
            if m and len(m.group(1)) == 1:
                return _clip(heading(m.group(2)))
        m = ATX_RE.match(first)
        if m:
            return _clip(heading(m.group(2)))
        nonblank = [i for i, ln in enumerate(lines) if ln.strip()]
        if len(nonblank) > 1 and nonblank[1] == nonblank[0] + 1 and SETEXT_RE.match(lines[nonblank[1]]):
            return _clip(first)
    return _clip(first)


def heading(text: str) -> str:
    """An ATX heading's text without its closing #s ("Title ##") and trailing blanks."""
    text = text.rstrip(" \t")
    body = text.rstrip("#")
    if body != text and body.rstrip(" \t") and body[-1] in " \t":
        text = body.rstrip(" \t")
    return text


def _clip(title: str) -> str:
    title = " ".join(title.split())
    return title if len(title) <= TITLE_CHARS else title[:TITLE_CHARS].rsplit(" ", 1)[0] + "…"
