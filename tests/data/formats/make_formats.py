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


def main(argv: list[str]) -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    what = set(argv) or {"pdf"}
    if "pdf" in what:
        make_pdfs()
    if "feed" in what:
        make_feeds()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
