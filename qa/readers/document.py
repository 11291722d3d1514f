"""What PDF and Word documents share: paragraphs -> one Article, with the title, byline and date taken
from the document's properties or its first lines (rules about layout, never about words)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from qa.readers.base import FileError, SourceFile, clip_title, file_id, within_max_chars
from qa.readers.dates import MONTHS, DateError, is_future, parse_date
from qa.readers.options import CollectionOptions
from qa.types import Article

_MONTH = r"(?:" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
# A date written inside a line ("By A · Site · Published 3 August 2018", "27/03/2012 Press release").
DATE_IN_LINE = re.compile(
    r"\b\d{1,2}(?:st|nd|rd|th)?\s+" + _MONTH + r",?\s+\d{4}\b"
    r"|\b" + _MONTH + r"\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{4}\b"
    r"|\b" + _MONTH + r",?\s+\d{4}\b"
    r"|\b\d{4}-\d{2}-\d{2}\b", re.I)
BYLINE = re.compile(r"^by\s+([^·|•,;\n]{2,60}?)\s*(?:[·|•,;]|$)", re.I)
# A title property that names the file or the tool rather than the article.
JUNK_TITLE = re.compile(r"^(untitled|document\d*|microsoft word\b.*|.*\.(docx?|pdf|odt|rtf|txt))$", re.I)
DATELINE_CHARS = 200  # a longer first paragraph is text, even with a date in it


@dataclass(frozen=True)
class Properties:
    """What a document says about itself (PDF metadata, Word core properties); None when it does not."""

    title: str | None = None
    author: str | None = None
    date: str | None = None  # a value for parse_date
    date_origin: str | None = None


def words(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.casefold()))


def date_in(line: str):
    """The first date written in a line, as a dates.Date, or None."""
    for m in DATE_IN_LINE.finditer(line):
        try:
            d = parse_date(m.group(0))
        except DateError:
            continue
        if d is not None:
            return d
    return None


def article(f: SourceFile, paragraphs: list[str], props: Properties, options: CollectionOptions, *,
            sha256: str, file_type: str) -> tuple[list[Article], list[str]]:
    """One Article from a document's paragraphs (headings are paragraphs of their own).

    The title is the document's title property (unless it names a file or a tool), else its first
    paragraph when short; a first paragraph equal to the title is not repeated in the text. Among
    the first three paragraphs, a short one holding a date and no full stop is a dateline: its date
    is the article's (before the properties' date, which is often when the file was made) and it
    leaves the text, with the byline it may hold ("By …").
    """
    notices: list[str] = []
    paras = [p for p in (p.strip() for p in paragraphs) if p]
    if not paras:
        raise FileError(f.rel, "has no text")
    title = props.title if props.title and not JUNK_TITLE.match(props.title.strip()) else None
    if title is None and len(paras) > 1 and len(paras[0]) <= 200 and not paras[0].endswith("."):
        title = paras[0]
    if title and words(paras[0]) == words(title) and len(paras) > 1:
        paras = paras[1:]
    author = props.author
    date = origin = None
    for i, p in enumerate(paras[:3]):
        if len(p) > DATELINE_CHARS or p.rstrip().endswith(".") or len(paras) == 1:
            continue
        found = date_in(p)
        if found is None:
            continue
        if is_future(found):
            notices.append(f"{f.rel}: the date {found.iso} in its first lines is in the future: indexed as undated")
        else:
            date, origin = found, "first lines"
        byline = BYLINE.match(p)
        if byline and not author:
            author = byline.group(1).strip()
        del paras[i]
        break
    if date is None and props.date:
        try:
            found = parse_date(props.date)
        except DateError:
            found = None
        if found is not None and not is_future(found):
            date, origin = found, props.date_origin
    text = "\n\n".join(paras)
    text, sha256, cut_notice = within_max_chars(text, sha256, f.rel, options.max_chars)
    notices += cut_notice
    if not title:
        first = paras[0].split("\n", 1)[0]
        title = first if len(first) <= 120 else first[:120].rsplit(" ", 1)[0] + "…"
    return [Article(
        id=file_id(f.rel), title=clip_title(" ".join(title.split())), date=date.iso if date else None, source=None,
        url=None, text=text, sha256=sha256, date_approximate=bool(date and date.precision != "day"), date_note=None,
        path=f.rel, author=author, date_origin=origin if date else None, file_type=file_type,
    )], notices
