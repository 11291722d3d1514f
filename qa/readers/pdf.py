"""PDF documents: the text layer in reading order (pdfium, through pypdfium2), without running heads and
feet or page numbers, hyphenated line ends joined, paragraphs kept.

pdfium was chosen by measuring it against pypdf and pdfminer.six on PDFs printed by Chromium
(benchmarks/extraction_formats.py, benchmarks/extraction.md). It has no limit of its own on what a
stream may inflate to, so it runs in a child process capped in memory and time (qa/readers/isolated.py).
A PDF without a text layer (a scan) is skipped with a line: there is no OCR.
"""

from __future__ import annotations

import hashlib
import re
import statistics

from qa.readers.base import FileError, SourceFile, read_bytes
from qa.readers.document import Properties, article
from qa.readers.options import CollectionOptions
from qa.types import Article

MAX_PAGES = 5_000
# (text, x0, x1, bottom, top) in PDF points, y upwards; pages of them are what the child sends back.
Line = tuple[str, float, float, float, float]
# \s*+ (possessive): a line of one digit then many blanks was tried quadratically (issue 23, item 10)
PAGE_NUMBER = re.compile(r"^(?:page\s*+)?[-–—(\[]?\s*+\d{1,4}\s*+[-–—)\]]?(?:\s*+(?:of|/)\s*+\d{1,4})?$", re.I)
HYPHENS = ("\u2010", "\u00ad", "\x02")  # a word broken at a line end where the layout chose (a soft hyphen)
# List bullets as PDFs carry them: Word's Symbol and Wingdings bullets come out in the private use area.
BULLET = re.compile(r"^[\u2022\u25cf\u25aa\u25e6\u2023\u2219\u25a0\uf0b7\uf0a7\uf076\uf0d8\uf0fc\uf06e]\s*")
BROWSER_PRINT = re.compile(r"skia/pdf|chrom|mozilla|webkit|wkhtmltopdf|cairo", re.I)  # made when printed


def read(f: SourceFile, options: CollectionOptions) -> tuple[list[Article], list[str]]:
    """One article from a .pdf.

    Raises:
        FileError: over max_file_mb, not a PDF, protected by a password, no text layer (a scan), or a
            file that needs more memory or time than a document may have (see qa/readers/isolated.py).
    """
    raw = read_bytes(f, options.max_file_bytes)
    if not raw.lstrip()[:1024].startswith(b"%PDF") and b"%PDF-" not in raw[:1024]:
        raise FileError(f.rel, "is not a PDF (it does not start with %PDF): rename it, or export it again")
    from qa.readers.isolated import run

    doc = run("qa.readers.pdf:extract", f.rel, raw, options.max_chars)
    paragraphs = layout(doc["pages"])
    if not paragraphs:
        raise FileError(f.rel, f"has no text layer ({len(doc['pages'])} page{'s' * (len(doc['pages']) != 1)} of "
                               "pictures: a scan?): there is no OCR; index the text as .txt, or run OCR first "
                               "(e.g. ocrmypdf)")
    meta = doc["meta"]
    made_by = f"{meta.get('Creator', '')} {meta.get('Producer', '')}"
    props = Properties(title=_clean(meta.get("Title")), author=_clean(meta.get("Author")),
                       date=None if BROWSER_PRINT.search(made_by) else _pdf_date(meta.get("CreationDate")),
                       date_origin="pdf creation date")
    notices = [f"{f.rel}: read its first {doc['read']:,} of {doc['count']:,} pages"] if doc["read"] < doc["count"] else []
    articles, more = article(f, paragraphs, props, options, sha256=hashlib.sha256(raw).hexdigest(), file_type="pdf")
    return articles, notices + more


def _clean(value) -> str | None:
    text = " ".join(str(value or "").replace("\x00", "").split())
    return text or None


def _pdf_date(value) -> str | None:
    """D:20190305143000+00'00' -> "2019-03-05"."""
    m = re.match(r"^(?:D:)?(\d{4})(\d{2})?(\d{2})?", str(value or ""))
    if not m:
        return None
    return "-".join(g for g in m.groups() if g)


# ------------------------------------------------------------------ in the child process
def extract(raw: bytes, max_chars: int) -> dict:  # pragma: no cover - runs in qa.readers.isolated's child
    """The text lines of each page with their boxes, and the document's metadata. Stops once the text
    read is four times max_chars (the article is cut there anyway)."""
    import pypdfium2 as pdfium

    try:
        doc = pdfium.PdfDocument(raw)
    except pdfium.PdfiumError as exc:
        reason = str(exc).lower()
        if "password" in reason:
            raise FileError("", "is protected by a password: save an unprotected copy") from None
        raise FileError("", f"is not a PDF that can be read ({str(exc)[:80]}): export it again") from None
    try:
        count = len(doc)
        pages: list[list[Line]] = []
        total = 0
        for n in range(min(count, MAX_PAGES)):
            try:
                page = doc[n]
            except pdfium.PdfiumError:  # a page tree that claims more pages than it has
                break
            textpage = page.get_textpage()
            lines = _lines(textpage)
            textpage.close()
            page.close()
            pages.append(lines)
            total += sum(len(t) for t, *_ in lines)
            if total > 4 * max_chars:
                break
        meta = {k: v for k, v in doc.get_metadata_dict(skip_empty=True).items() if isinstance(v, str)}
        return {"pages": pages, "meta": meta, "count": count, "read": len(pages)}
    finally:
        doc.close()


def _lines(textpage) -> list[Line]:
    """pdfium's lines with the box of their first and last character. pdfium joins a line ending in '-'
    to the next one, marking the join U+FFFE: such a line is split back into its two."""
    text = textpage.get_text_range()
    if textpage.count_chars() != len(text):  # characters outside the BMP: lines without boxes
        return [(t, 0.0, 0.0, 0.0, 0.0) for t in re.split(r"\r\n|(?<=\ufffe)", text) if t.strip()]
    out: list[Line] = []
    i = 0
    for t in re.split(r"(\r\n|(?<=\ufffe))", text):
        if t == "\r\n" or not t:
            i += len(t)
            continue
        if t.strip():
            first = i + len(t) - len(t.lstrip())
            last = i + len(t.rstrip()) - 1
            x0, bottom, _, top = textpage.get_charbox(first, loose=True)
            x1 = textpage.get_charbox(last, loose=True)[2]
            out.append((t.replace("\u00ad", "") if not t.endswith("\u00ad") else t[:-1].replace("\u00ad", "") + "\u00ad",
                        x0, x1, bottom, top))
        i += len(t)
    return out


# ------------------------------------------------------------------ layout
def _key(text: str) -> str:
    return re.sub(r"\d+", "#", " ".join(text.casefold().split()))


def running(pages: list[list[Line]]) -> set[str]:
    """Keys of the lines repeated at the top or bottom of at least half the pages (two at least):
    running heads and feet, page numbers turned to '#' so "Page 2 of 4" repeats."""
    if len(pages) < 2:
        return set()
    seen: dict[str, int] = {}
    for lines in pages:
        by_height = sorted(lines, key=lambda ln: -ln[4])
        edge = {_key(ln[0]) for ln in by_height[:2] + by_height[-2:]}
        for k in edge:
            seen[k] = seen.get(k, 0) + 1
    need = max(2, (len(pages) + 1) // 2)
    return {k for k, n in seen.items() if n >= need}


def layout(pages: list[list[Line]]) -> list[str]:
    """Paragraphs of the pages' lines: running heads, feet and page numbers dropped; a paragraph ends at
    a wider gap, a change of type size, or a short line ending a sentence before the next column or
    page; a word hyphenated at a line end is joined."""
    repeated = running(pages)
    body: list[tuple[int, Line]] = []
    for n, lines in enumerate(pages):
        by_height = sorted(lines, key=lambda ln: -ln[4])
        edges = {id(ln) for ln in by_height[:2] + by_height[-2:]}
        for ln in lines:
            text = ln[0].strip()
            if id(ln) in edges and (_key(text) in repeated or PAGE_NUMBER.match(text)):
                continue
            body.append((n, ln))
    if not body:
        return []
    heights = [ln[4] - ln[3] for _, ln in body if ln[4] > ln[3]]
    gaps = [prev[3] - cur[4] for (pn, prev), (cn, cur) in zip(body, body[1:])
            if pn == cn and cur[4] < prev[4] and abs(cur[1] - prev[1]) < 50 and prev[3] - cur[4] > -2]
    size = statistics.median(heights) if heights else 0.0
    gap = statistics.median(gaps) if gaps else 0.0
    rights = _column_rights(pages)
    paragraphs: list[list[str]] = []
    prev_page, prev = None, None
    for n, ln in body:
        if prev is None or BULLET.match(ln[0].strip()) or _breaks(prev, ln, prev_page != n, size, gap,
                                                                  rights.get((prev_page, round(prev[1])), prev[2])):
            paragraphs.append([])
        paragraphs[-1].append(ln[0].strip())
        prev_page, prev = n, ln
    vocabulary = set(re.findall(r"\w+", " ".join(" ".join(p) for p in paragraphs).casefold()))
    out: list[str] = []
    for text in (_join(p, vocabulary) for p in paragraphs):
        if not text:
            continue
        item = BULLET.match(text)
        if item:
            text = "• " + text[item.end():]
            if out and out[-1].startswith("• "):  # a list is one block of "• " lines, as the other readers give it
                out[-1] += "\n" + text
                continue
        out.append(text)
    return out


def _column_rights(pages: list[list[Line]]) -> dict[tuple[int, int], float]:
    """(page, left edge) -> the right edge of the widest line starting there: where a full line ends."""
    out: dict[tuple[int, int], float] = {}
    for n, lines in enumerate(pages):
        for t, x0, x1, *_ in lines:
            key = (n, round(x0))
            out[key] = max(out.get(key, 0.0), x1)
    return out


def _breaks(prev: Line, cur: Line, new_page: bool, size: float, gap: float, right: float) -> bool:
    p_h, c_h = prev[4] - prev[3], cur[4] - cur[3]
    if size and (abs(p_h - c_h) > 0.2 * size):
        return True  # a heading, a caption, a different block
    ended = prev[0].rstrip().endswith((".", "!", "?", ":", '"', "”", "’", "'", ")"))
    short = prev[2] < right - max(size, 1.0) * 2
    if new_page or cur[4] > prev[4] + 1:  # the next page or column: the paragraph runs on unless it ended
        return ended and short
    space = prev[3] - cur[4]
    if space > gap + 0.45 * max(size, 1.0):
        return True
    return False


def _join(lines: list[str], vocabulary: set[str]) -> str:
    out = ""
    for line in lines:
        if not out:
            out = line
        elif out.endswith(HYPHENS):
            out = out[:-1] + line  # a word broken where the layout put a soft hyphen
        elif re.search(r"[^\W\d_][-\ufffe]$", out) and line[:1].islower():
            word = re.findall(r"(?<!\w)\w+$", out[:-1])  # (?<!\w): tried once per word, not per letter
            rest = re.match(r"\w+", line)
            whole = (word[0] + rest.group(0)).casefold() if word and rest else ""
            out = out[:-1] + ("" if whole in vocabulary else "-") + line  # "recog-\nnised" vs "gang-\nrelated"
        else:
            out += " " + line
    return out.replace("\ufffe", "-")
