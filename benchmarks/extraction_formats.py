"""Extraction quality of the document, feed and archive readers against the hand-cleaned articles, on
the test files of tests/data/formats/ (the five corpus articles as PDFs printed by Chromium, one in two
justified columns; as an RSS feed; as a WARC of the saved test pages; as Word documents).

    .venv/bin/python benchmarks/extraction_formats.py          # the tables of benchmarks/extraction.md

Scored as benchmarks/extraction.py scores pages: kept words against the clean article's words
(precision, recall), the share of the clean article's sentences found whole in the kept text, and
here also the share of its paragraphs found whole as paragraphs ("paragraphs kept"). For PDFs, each
library's lines go through the same layout code (qa/readers/pdf.py: running heads and feet, page
numbers, hyphenation, paragraphs); its raw output is scored too.
"""

from __future__ import annotations

import argparse
import io
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from extraction import clean_text, norm, score  # noqa: E402

FORMATS = ROOT / "tests" / "data" / "formats"
IDS = ["havering-rated-inadequate", "havering-significantly-improved-good", "havering-child-protection-adequate",
       "havering-improvement-update", "havering-referral-assessment-praised"]
TWO_COLUMNS = "havering-significantly-improved-good"


def paragraphs_kept(kept: str, clean: str) -> float:
    """Share of the clean article's paragraphs (its lines) found whole as one paragraph of the kept text."""
    mine = {norm(p) for p in re.split(r"\n\s*\n", kept) if p.strip()}
    theirs = [norm(p) for p in clean.split("\n") if p.strip()]
    return sum(1 for p in theirs if p in mine) / max(len(theirs), 1)


# ------------------------------------------------------------------ PDF: each library's lines
def pdfium_lines(raw: bytes):
    from qa.readers.pdf import extract

    return extract(raw, 10_000_000)["pages"]


def pdfium_plain(raw: bytes) -> list[str]:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(raw)
    return [doc[i].get_textpage().get_text_range().replace("\r\n", "\n") for i in range(len(doc))]


def pypdf_plain(raw: bytes) -> list[str]:
    import pypdf

    return [p.extract_text() for p in pypdf.PdfReader(io.BytesIO(raw)).pages]


def pdfminer_plain(raw: bytes) -> list[str]:
    from pdfminer.high_level import extract_text

    return extract_text(io.BytesIO(raw)).split("\x0c")


def pdfminer_lines(raw: bytes):
    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LTTextContainer, LTTextLine

    pages = []
    for page in extract_pages(io.BytesIO(raw)):
        lines = []
        for box in page:
            if isinstance(box, LTTextContainer):
                for line in box:
                    if isinstance(line, LTTextLine) and line.get_text().strip():
                        lines.append((line.get_text().rstrip("\n"), line.x0, line.x1, line.y0, line.y1))
        pages.append(lines)
    return pages


def boxless(pages: list[str]):
    """Lines of a library's plain text with made-up boxes (one per line, a blank line a wider gap): the
    layout code then sees only what the text itself says."""
    out = []
    for text in pages:
        lines, y = [], 1000.0
        for line in text.split("\n"):
            if not line.strip():
                y -= 6
                continue
            lines.append((line, 0.0, 100.0, y - 10, y))
            y -= 12
        out.append(lines)
    return out


def shipped(raw: bytes, pages) -> str:
    from qa.readers.base import SourceFile
    from qa.readers.document import Properties, article
    from qa.readers.options import CollectionOptions
    from qa.readers.pdf import layout

    f = SourceFile(path="x.pdf", rel="x.pdf", size=len(raw), mtime_ns=0)
    arts, _ = article(f, layout(pages), Properties(), CollectionOptions(), sha256="", file_type="pdf")
    return arts[0].text


PDF_CANDIDATES = {
    "pypdfium2 5.15 (pdfium) + qa layout — shipped": lambda raw: shipped(raw, pdfium_lines(raw)),
    "pdfminer.six 20260107 + qa layout (its line boxes)": lambda raw: shipped(raw, pdfminer_lines(raw)),
    "pypdf 7.1 + qa layout (text only, no boxes)": lambda raw: shipped(raw, boxless(pypdf_plain(raw))),
    "pypdfium2, raw text": lambda raw: "\n".join(pdfium_plain(raw)),
    "pdfminer.six, raw extract_text": lambda raw: "\n".join(pdfminer_plain(raw)),
    "pypdf, raw extract_text": lambda raw: "\n".join(pypdf_plain(raw)),
}


def run_pdfs(repeat: int) -> list[dict]:
    rows = []
    for name, extract in PDF_CANDIDATES.items():
        per = []
        for article_id in IDS:
            raw = (FORMATS / f"{article_id}.pdf").read_bytes()
            extract(raw)
            t0 = time.perf_counter()
            for _ in range(repeat):
                kept = extract(raw)
            ms = (time.perf_counter() - t0) / repeat * 1000
            clean = clean_text(article_id)
            per.append({"doc": article_id, "ms": ms, **score(kept, clean, []), "paragraphs": paragraphs_kept(kept, clean)})
        rows.append({"name": name, "docs": per})
    return rows


def table(rows: list[dict], what: str = "library") -> str:
    lines = [f"| {what} | precision | recall | sentences kept whole | paragraphs kept | two columns: sentences | "
             "ms / document |", "|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        d = r["docs"]
        two = next((x["sentences"] for x in d if x["doc"] == TWO_COLUMNS), float("nan"))
        lines.append(f"| {r['name']} | {statistics.mean(x['precision'] for x in d):.3f} | "
                     f"{statistics.mean(x['recall'] for x in d):.3f} | {statistics.mean(x['sentences'] for x in d):.3f} | "
                     f"{statistics.mean(x['paragraphs'] for x in d):.3f} | {two:.3f} | "
                     f"{statistics.median(x['ms'] for x in d):.1f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per document (default: %(default)s)")
    args = parser.parse_args(argv)
    print("PDF (5 documents printed by Chromium, A5, running heads and feet, one in two columns)\n")
    print(table(run_pdfs(args.repeat)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
