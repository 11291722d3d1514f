"""Writes tests/data/formats/: the five corpus articles as PDFs (printed by headless Chromium), an RSS
feed, a WARC web archive and Word documents, plus a scanned PDF without a text layer, for
tests/test_readers_formats.py and benchmarks/extraction_formats.py.

The article text comes from corpus/*.md (the hand-cleaned bodies) through tests/data/make_byo.py's
helpers; dates, sites and addresses are make_byo.py's invented ones (.example hosts). The PDFs are
printed as a browser's "Save as PDF" prints: a running head (site and headline) and a running foot
("Page 2 of 3") on every page, A5 pages so that each article runs over several. One of them is set in
two justified columns with soft hyphens in its long words, so lines end in hyphenated word halves.

Run once from the repository root (it needs Debian's /usr/bin/chromium; the output is committed, so
the tests do not):

    .venv/bin/python tests/data/formats/make_formats.py pdf feed warc docx   # or some of them
"""

from __future__ import annotations

import html
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "tests" / "data"))
OUT = ROOT / "tests" / "data" / "formats"
CHROMIUM = "/usr/bin/chromium"

from make_byo import META, blocks, load  # noqa: E402

IDS = ["havering-rated-inadequate", "havering-significantly-improved-good", "havering-child-protection-adequate",
       "havering-improvement-update", "havering-referral-assessment-praised"]
TWO_COLUMNS = "havering-significantly-improved-good"

STYLE = """
@page { size: A5; margin: 22mm 16mm 20mm 16mm; }
body { font-family: "DejaVu Serif", serif; font-size: 10.5pt; line-height: 1.4; }
h1 { font-size: 17pt; line-height: 1.2; margin: 0 0 4mm 0; }
p.meta { font-size: 9pt; color: #444; margin: 0 0 5mm 0; }
p, li { margin: 0 0 3mm 0; }
"""
COLUMNS = """
.body { column-count: 2; column-gap: 6mm; text-align: justify; }
body { font-size: 9.5pt; }
"""
HEAD = ('<div style="font-size:7pt;width:100%;margin:0 16mm;display:flex;justify-content:space-between;'
        'font-family:sans-serif"><span>{site}</span><span>{short}</span></div>')
FOOT = ('<div style="font-size:7pt;width:100%;text-align:center;font-family:sans-serif">Page '
        '<span class="pageNumber"></span> of <span class="totalPages"></span></div>')


def soft_hyphens(text: str) -> str:
    """A soft hyphen in the middle of each word of ten letters or more: where a justified line may break."""
    return re.sub(r"\b([A-Za-z]{5,})([A-Za-z]{5,})\b", lambda m: m.group(1) + "\u00ad" + m.group(2), text)


def article_html(article_id: str) -> str:
    m = META[article_id]
    title, body = load(article_id)
    two = article_id == TWO_COLUMNS
    fix = soft_hyphens if two else (lambda s: s)
    parts = []
    for kind, value in blocks(body):
        if kind == "p":
            parts.append(f"<p>{html.escape(fix(value), quote=False)}</p>")
        else:
            parts.append("<ul>" + "".join(f"<li>{html.escape(fix(v), quote=False)}</li>" for v in value) + "</ul>")
    byline = f"By {m['author']} · " if m["author"] else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{STYLE}{COLUMNS if two else ""}</style></head>
<body><h1>{html.escape(title)}</h1>
<p class="meta">{html.escape(byline)}{m['site']} · Published {m['human']}</p>
<div class="body">
{chr(10).join(parts)}
</div></body></html>"""


def make_pdfs() -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        for article_id in IDS:
            title, _ = load(article_id)
            short = title if len(title) <= 60 else title[:57].rsplit(" ", 1)[0] + "…"
            page.set_content(article_html(article_id))
            page.pdf(path=str(OUT / f"{article_id}.pdf"), format="A5", display_header_footer=True,
                     header_template=HEAD.format(site=html.escape(META[article_id]["site"]), short=html.escape(short)),
                     footer_template=FOOT, margin={"top": "22mm", "bottom": "20mm", "left": "16mm", "right": "16mm"})
        # A scanned letter: the page is a picture of text, with no text layer.
        page.set_content(article_html("havering-child-protection-adequate"))
        page.set_viewport_size({"width": 560, "height": 800})
        png = page.screenshot(full_page=False)
        import base64

        page.set_content(f'<html><body style="margin:0"><img style="width:100%" '
                         f'src="data:image/png;base64,{base64.b64encode(png).decode()}"></body></html>')
        page.pdf(path=str(OUT / "scanned.pdf"), format="A5")
        browser.close()


def make_protected() -> None:
    """protected.pdf: one of the PDFs encrypted with a password to open it (pypdf, AES-256)."""
    import pypdf

    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(OUT / "havering-referral-assessment-praised.pdf"))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="AES-256")
    writer.write(OUT / "protected.pdf")


def fragment(article_id: str) -> str:
    """The article's body as the HTML a CMS puts in content:encoded."""
    _, body = load(article_id)
    parts = []
    for kind, value in blocks(body):
        if kind == "p":
            parts.append(f"<p>{html.escape(value, quote=False)}</p>")
        else:
            parts.append("<ul>" + "".join(f"<li>{html.escape(v, quote=False)}</li>" for v in value) + "</ul>")
    return "\n".join(parts)


def rfc822(iso: str) -> str:
    import datetime as dt
    from email.utils import format_datetime

    d = dt.datetime.fromisoformat(iso.replace("Z", "+00:00"))
    if d.tzinfo is None:
        d = d.replace(hour=9, tzinfo=dt.timezone.utc)
    return format_datetime(d)


def make_feeds() -> None:
    """news.rss: the five articles as an RSS 2.0 feed with content:encoded; updates.atom: an Atom feed
    with one full entry and one that carries only a summary."""
    items = []
    for article_id in IDS:
        m = META[article_id]
        title, body = load(article_id)
        first = blocks(body)[0][1]
        creator = f"\n    <dc:creator>{html.escape(m['author'])}</dc:creator>" if m["author"] else ""
        items.append(f"""  <item>
    <title>{html.escape(title)}</title>
    <link>{m['url']}</link>
    <guid isPermaLink="true">{m['url']}</guid>
    <pubDate>{rfc822(m['iso'])}</pubDate>{creator}
    <description>{html.escape(first)}</description>
    <content:encoded><![CDATA[{fragment(article_id)}]]></content:encoded>
  </item>""")
    rss = f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel>
  <title>Havering children's services news</title>
  <link>https://news.example/havering/</link>
  <description>Stories about children's social care in Havering, collected for the tests.</description>
{chr(10).join(items)}
</channel>
</rss>
"""
    (OUT / "news.rss").write_text(rss, "utf-8")
    aid = "havering-improvement-update"
    m = META[aid]
    title, _ = load(aid)
    atom = f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Havering Council news</title>
  <id>tag:havering.example,2024:news</id>
  <updated>2025-01-10T09:00:00Z</updated>
  <entry>
    <title>{html.escape(title)}</title>
    <id>tag:havering.example,2024:news/2291</id>
    <link rel="alternate" href="{m['url']}"/>
    <published>{m['iso']}</published>
    <updated>{m['iso']}</updated>
    <content type="html">{html.escape(fragment(aid))}</content>
  </entry>
  <entry>
    <title>Foster carers welcomed at town hall event</title>
    <id>tag:havering.example,2025:news/2302</id>
    <link rel="alternate" href="https://www.havering.example/news/article/2302/foster_carers_welcomed"/>
    <updated>2025-01-10T09:00:00Z</updated>
    <author><name>Communications team</name></author>
    <summary>New foster carers were welcomed at a town hall event in January, where the council thanked
    families who had opened their homes to children in the borough.</summary>
  </entry>
</feed>
"""
    (OUT / "updates.atom").write_text(atom, "utf-8")


BYO_PAGES = {  # the saved test pages of tests/data/byo, with their furniture
    "havering-rated-inadequate": "havering-rated-inadequate.html",
    "havering-significantly-improved-good": "havering-significantly-improved-good.html",
    "havering-child-protection-adequate": "havering-child-protection-adequate.htm",
    "havering-improvement-update": "havering-improvement-update.html",
    "havering-referral-assessment-praised": "havering-referral-assessment-praised.md",
}
CRAWLED = "2025-01-15T10:{:02d}:00Z"


def warc_records(writer) -> None:
    """The five saved pages as a crawler archives them, with what a crawl also holds: request records, a
    redirect, a missing page, an image and robots.txt. One page is sent gzip-compressed and chunked."""
    import gzip as gz
    from io import BytesIO

    from warcio.statusandheaders import StatusAndHeaders

    def response(uri: str, status: str, headers: list, body: bytes, minute: int) -> None:
        http = StatusAndHeaders(status, headers, protocol="HTTP/1.1")
        writer.write_record(writer.create_warc_record(uri, "response", payload=BytesIO(body), http_headers=http,
                                                      warc_headers_dict={"WARC-Date": CRAWLED.format(minute)}))
        req = StatusAndHeaders(f"GET /{uri.split('/', 3)[-1] if uri.count('/') > 2 else ''} HTTP/1.1",
                               [("Host", uri.split("/")[2]), ("User-Agent", "test-crawler/1.0")], is_http_request=True)
        writer.write_record(writer.create_warc_record(uri, "request", payload=BytesIO(b""), http_headers=req,
                                                      warc_headers_dict={"WARC-Date": CRAWLED.format(minute)}))

    writer.write_record(writer.create_warcinfo_record("news.warc.gz", {"software": "make_formats.py",
                                                                       "format": "WARC File Format 1.1"}))
    for minute, article_id in enumerate(IDS):
        url = META[article_id]["url"]
        body = (ROOT / "tests" / "data" / "byo" / BYO_PAGES[article_id]).read_bytes()
        if article_id == "havering-child-protection-adequate":
            packed = gz.compress(body, mtime=0)
            chunks = b"".join(b"%x\r\n%s\r\n" % (len(packed[i:i + 4000]), packed[i:i + 4000])
                              for i in range(0, len(packed), 4000)) + b"0\r\n\r\n"
            response(url, "200 OK", [("Content-Type", "text/html; charset=utf-8"), ("Content-Encoding", "gzip"),
                                     ("Transfer-Encoding", "chunked")], chunks, minute)
        else:
            response(url, "200 OK", [("Content-Type", "text/html; charset=utf-8"),
                                     ("Content-Length", str(len(body)))], body, minute)
        if minute == 0:
            response(url.replace("https://", "http://"), "301 Moved Permanently",
                     [("Location", url), ("Content-Length", "0")], b"", minute)
    response("https://www.havering.example/news/article/9999/", "404 Not Found",
             [("Content-Type", "text/html"), ("Content-Length", "48")],
             b"<html><body><h1>Page not found</h1></body></html>", 10)
    png = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                        "1f15c4890000000d4944415478da63f8cfc0f01f0005000201a5e6ab0a0000000049454e44ae426082")
    response("https://www.havering.example/images/logo.png", "200 OK",
             [("Content-Type", "image/png"), ("Content-Length", str(len(png)))], png, 11)
    robots = b"User-agent: *\nDisallow: /search\n"
    response("https://www.havering.example/robots.txt", "200 OK",
             [("Content-Type", "text/plain"), ("Content-Length", str(len(robots)))], robots, 12)


def make_warc() -> None:
    from warcio.warcwriter import WARCWriter

    with open(OUT / "news.warc.gz", "wb") as out:
        warc_records(WARCWriter(out, gzip=True))


def make_docx() -> None:
    """Each article as a Word document (core properties set, the headline in the Title style, lists in
    List Bullet), and press-release.docx: a heading, a numbered list and a table."""
    import datetime as dt

    import docx

    for article_id in IDS:
        m = META[article_id]
        title, body = load(article_id)
        d = docx.Document()
        d.core_properties.title = title
        d.core_properties.author = m["author"] or m["site"]
        d.core_properties.created = dt.datetime.fromisoformat(m["iso"][:10])
        d.add_paragraph(title, style="Title")
        for kind, value in blocks(body):
            if kind == "p":
                d.add_paragraph(value)
            else:
                for item in value:
                    d.add_paragraph(item, style="List Bullet")
        d.save(str(OUT / f"{article_id}.docx"))
    d = docx.Document()
    d.core_properties.title = "Microsoft Word - press-release-final.docx"  # a tool's title: not used
    d.core_properties.author = "Communications team"
    d.core_properties.created = dt.datetime(2025, 2, 3, 9, 30)
    d.add_paragraph("Libraries open longer from March", style="Title")
    d.add_paragraph("Press release · 3 February 2025")
    d.add_paragraph("Opening hours", style="Heading 1")
    d.add_paragraph("Four libraries will open until eight in the evening on weekdays from 3 March.")
    for item in ("Central Library", "Harold Hill Library", "Hornchurch Library"):
        d.add_paragraph(item, style="List Number")
    d.add_paragraph("The new hours are:")
    table = d.add_table(rows=3, cols=3)
    for r, row in enumerate([("Library", "Weekdays", "Saturday"), ("Central", "9am to 8pm", "9am to 5pm"),
                             ("Hornchurch", "10am to 8pm", "10am to 4pm")]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    d.add_paragraph("Sunday hours are unchanged.")
    d.save(str(OUT / "press-release.docx"))


def make_odt() -> None:
    """press-release.odt: press-release.docx's content as LibreOffice writes it."""
    from odf import dc, meta, table, text
    from odf.opendocument import OpenDocumentText

    d = OpenDocumentText()
    d.meta.addElement(dc.Title(text="press-release-final.odt"))  # a file's name as its title: not used
    d.meta.addElement(meta.InitialCreator(text="Communications team"))
    d.meta.addElement(meta.CreationDate(text="2025-02-03T09:30:00"))
    d.text.addElement(text.P(stylename="Title", text="Libraries open longer from March"))
    d.text.addElement(text.P(text="Press release · 3 February 2025"))
    d.text.addElement(text.H(outlinelevel=1, text="Opening hours"))
    d.text.addElement(text.P(text="Four libraries will open until eight in the evening on weekdays from 3 March."))
    items = text.List()
    for name in ("Central Library", "Harold Hill Library", "Hornchurch Library"):
        item = text.ListItem()
        item.addElement(text.P(text=name))
        items.addElement(item)
    d.text.addElement(items)
    d.text.addElement(text.P(text="The new hours are:"))
    t = table.Table(name="Hours")
    t.addElement(table.TableColumn(numbercolumnsrepeated=3))
    for row in (("Library", "Weekdays", "Saturday"), ("Central", "9am to 8pm", "9am to 5pm"),
                ("Hornchurch", "10am to 8pm", "10am to 4pm")):
        tr = table.TableRow()
        for value in row:
            cell = table.TableCell()
            cell.addElement(text.P(text=value))
            tr.addElement(cell)
        t.addElement(tr)
    d.text.addElement(t)
    d.text.addElement(text.P(text="Sunday hours are unchanged."))
    d.save(str(OUT / "press-release.odt"))


def main(argv: list[str]) -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    what = set(argv) or {"pdf"}
    if "pdf" in what:
        make_pdfs()
        make_protected()
    if "feed" in what:
        make_feeds()
    if "warc" in what:
        make_warc()
    if "docx" in what:
        make_docx()
        make_odt()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
