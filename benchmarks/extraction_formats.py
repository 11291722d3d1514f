"""Extraction quality of the document, feed and archive readers against the hand-cleaned articles, on
the test files of tests/data/formats/ (the five corpus articles as PDFs printed by Chromium, one in two
justified columns; as an RSS feed; as a WARC of the saved test pages; as Word documents).

    .venv/bin/python benchmarks/extraction_formats.py          # the tables of benchmarks/extraction.md

Scored as benchmarks/extraction.py scores pages: kept words against the clean article's words
(precision, recall), the share of the clean article's sentences found whole in the kept text, and
here also the share of its paragraphs and list items found whole as one line ("paragraphs kept"). For PDFs, each
library's lines go through the same layout code (qa/readers/pdf.py: running heads and feet, page
numbers, hyphenation, paragraphs); its raw output is scored too.
"""

from __future__ import annotations

import argparse
import io
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
    """Share of the clean article's paragraphs and list items (its lines) found whole as one line of the
    kept text (neither cut in two nor run into the next)."""
    mine = {norm(p) for p in kept.split("\n") if p.strip()}
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


# ------------------------------------------------------------------ each format through its reader
def read_all(name: str) -> list:
    from qa.readers import read_corpus

    import shutil
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        for n in ([name] if "*" not in name else [p.name for p in FORMATS.glob(name)]):
            shutil.copy2(FORMATS / n, Path(tmp) / n)
        return read_corpus(Path(tmp)).articles


def run_formats() -> list[dict]:
    """The five articles as each format, read by the shipped readers, matched to the clean ones by title."""
    import yaml

    titles = {norm(yaml.safe_load((ROOT / "corpus" / f"{i}.md").read_text("utf-8").split("---\n", 2)[1])["title"]): i
              for i in IDS}
    rows = []
    for label, files in (("PDF (Chromium print, A5, one in two columns)", "havering-*.pdf"),
                         ("Word .docx", "havering-*.docx"), ("RSS feed, content:encoded", "news.rss"),
                         ("WARC of the saved test pages (byo)", "news.warc.gz")):
        t0 = time.perf_counter()
        articles = read_all(files)
        ms = (time.perf_counter() - t0) * 1000 / max(len(articles), 1)
        per = []
        for a in articles:
            article_id = titles.get(norm(a.title))
            if article_id:
                clean = clean_text(article_id)
                per.append({"doc": article_id, "ms": ms, **score(a.text, clean, []),
                            "paragraphs": paragraphs_kept(a.text, clean)})
        rows.append({"name": f"{label}: {len(per)} of 5 read", "docs": per})
    return rows


def warc_libraries() -> str:
    """On tests/data/formats/news.warc.gz: the HTML pages each library hands over as HTML text."""
    found = {}
    for library in ("warcio", "fastwarc"):
        r = warc_pass(library, FORMATS / "news.warc.gz")
        found[library] = (r["pages"], r["with_text"])
    return ("| library | HTML responses | payloads that are HTML text |\n|---|---:|---:|\n"
            + "\n".join(f"| {k} | {v[0]} | {v[1]} |" for k, v in found.items()))


# ------------------------------------------------------------------ WARC: the library, and a 1 GB archive
def make_big_warc(path: Path, pages: int, blobs: int, blob_mb: int) -> None:
    """``pages`` HTML responses (the five saved test pages in turn, each with a paragraph of its own so no
    two are the same story) and ``blobs`` non-HTML responses of ``blob_mb`` MB (incompressible, as
    images and videos are): a crawl's mix, at about pages*10 KB + blobs*blob_mb MB."""
    import os
    from io import BytesIO

    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    byo = ROOT / "tests" / "data" / "byo"
    sources = [(byo / n).read_bytes() for n in ("havering-rated-inadequate.html", "havering-significantly-improved-good"
                                                ".html", "havering-child-protection-adequate.htm",
                                                "havering-improvement-update.html",
                                                "havering-referral-assessment-praised.md")]
    blob = os.urandom(blob_mb << 20)
    with open(path, "wb") as out:
        writer = WARCWriter(out, gzip=True)
        for i in range(max(pages, blobs)):
            if i < pages:
                body = sources[i % 5].replace(b"</article>", b"<p>Archive copy %d of the story, kept for the "
                                              b"benchmark, paragraph %d.</p></article>" % (i, i), 1)
                http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
                writer.write_record(writer.create_warc_record(f"https://news.example/story/{i}", "response",
                                                              payload=BytesIO(body), http_headers=http))
            if i < blobs:
                http = StatusAndHeaders("200 OK", [("Content-Type", "image/jpeg")], protocol="HTTP/1.1")
                writer.write_record(writer.create_warc_record(f"https://news.example/img/{i}.jpg", "response",
                                                              payload=BytesIO(blob), http_headers=http))


def warc_pass(library: str, path: Path) -> dict:
    """One pass over the archive: HTML payloads read whole, the others passed over unread."""
    import resource

    t0 = time.perf_counter()
    html = found = 0
    if library == "warcio":
        from warcio.archiveiterator import ArchiveIterator

        with open(path, "rb") as f:
            for r in ArchiveIterator(f):
                if r.rec_type == "response" and "html" in (r.http_headers.get_header("Content-Type") or ""):
                    data = r.content_stream().read()
                    html += 1
                    found += b"<p>" in data
    elif library == "fastwarc":
        from fastwarc.warc import ArchiveIterator, WarcRecordType

        with open(path, "rb") as f:
            for r in ArchiveIterator(f, record_types=WarcRecordType.response, parse_http=True):
                if r.http_content_type and "html" in r.http_content_type:
                    data = r.reader.read()
                    html += 1
                    found += b"<p>" in data
    else:  # the shipped reader, extraction and all
        from qa.readers.base import SourceFile
        from qa.readers.options import CollectionOptions
        from qa.readers.warc import read

        articles, _ = read(SourceFile(path=str(path), rel=path.name, size=path.stat().st_size, mtime_ns=0),
                           CollectionOptions())
        html = found = len(articles)
    return {"seconds": time.perf_counter() - t0, "pages": html, "with_text": found,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def run_warc(path: Path) -> str:
    import json
    import os
    import subprocess

    rows = ["| pass over the archive | seconds | HTML pages | pages whose payload is HTML text | peak RSS (MB) |",
            "|---|---:|---:|---:|---:|"]
    for library in ("warcio", "fastwarc", "qa.readers.warc (warcio + trafilatura, shipped)"):
        out = subprocess.run([sys.executable, __file__, "--warc-pass", library.split()[0], str(path)],
                             capture_output=True, text=True, check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
        r = json.loads(out.stdout.strip().splitlines()[-1])
        rows.append(f"| {library} | {r['seconds']:.1f} | {r['pages']:,} | {r['with_text']:,} | {r['peak_mb']:,.0f} |")
    return "\n".join(rows)


def questions_for(folder: Path, out: Path) -> dict[str, str]:
    """corpus/questions.jsonl with each gold article id replaced by the id the folder's reader gave the
    same article (matched by title): a feed's or an archive's ids come from guids and addresses, so
    `qa eval` needs this to know which article is gold. Returns the mapping."""
    import json

    import yaml

    from qa.readers import read_corpus

    by_title = {norm(a.title): a.id for a in read_corpus(folder).articles}
    mapping = {}
    for article_id in IDS:
        front = yaml.safe_load((ROOT / "corpus" / f"{article_id}.md").read_text("utf-8").split("---\n", 2)[1])
        mapping[article_id] = by_title[norm(front["title"])]
    lines = []
    for line in (ROOT / "corpus" / "questions.jsonl").read_text("utf-8").splitlines():
        q = json.loads(line)
        q["articles"] = [mapping.get(a, a) for a in q.get("articles", [])]
        lines.append(json.dumps(q, ensure_ascii=False))
    out.write_text("\n".join(lines) + "\n", "utf-8")
    return mapping


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per document (default: %(default)s)")
    parser.add_argument("--warc", type=Path, metavar="PATH",
                        help="only the WARC table: a 1 GB archive at PATH (made first when missing)")
    parser.add_argument("--warc-pages", type=int, default=2000, help="HTML pages in it (default: %(default)s)")
    parser.add_argument("--warc-pass", nargs=2, metavar=("LIBRARY", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument("--questions-for", nargs=2, type=Path, metavar=("FOLDER", "OUT"),
                        help="only write corpus/questions.jsonl with the gold ids FOLDER's readers give (for qa eval)")
    args = parser.parse_args(argv)
    if args.questions_for:
        for old, new in questions_for(*args.questions_for).items():
            print(f"{old} -> {new}")
        return 0
    if args.warc_pass:
        import json

        print(json.dumps(warc_pass(args.warc_pass[0], Path(args.warc_pass[1]))))
        return 0
    if args.warc:
        if not args.warc.exists():
            make_big_warc(args.warc, args.warc_pages, 1000, 1)
        print(f"WARC: {args.warc.stat().st_size / 1e9:.2f} GB, {args.warc_pages:,} HTML pages + 1,000 images of 1 MB\n")
        print(run_warc(args.warc))
        return 0
    print("PDF (5 documents printed by Chromium, A5, running heads and feet, one in two columns)\n")
    print(table(run_pdfs(args.repeat)))
    print("\nEach format through its shipped reader\n")
    print(table(run_formats(), "format"))
    print("\nWARC libraries on news.warc.gz (one page sent gzip-compressed and chunked)\n")
    print(warc_libraries())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
