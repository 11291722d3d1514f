"""PDF, Word, RSS/Atom and WARC files read as articles (tests/data/formats/, made by make_formats.py):
the text as the hand-cleaned corpus has it, the metadata, one line per bad file or record, duplicates
across formats folded, and hostile files bounded in time and memory."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
import zlib
from pathlib import Path

import psutil
import pytest

from qa.readers import read_corpus
from qa.readers.base import SourceFile
from qa.readers.options import CollectionOptions

ROOT = Path(__file__).resolve().parents[1]
FORMATS = ROOT / "tests" / "data" / "formats"
CORPUS = ROOT / "corpus"
IDS = ["havering-rated-inadequate", "havering-significantly-improved-good", "havering-child-protection-adequate",
       "havering-improvement-update", "havering-referral-assessment-praised"]
# make_byo.py's invented metadata, which make_formats.py prints into the documents' first lines
DATES = {"havering-rated-inadequate": "2024-01-12", "havering-significantly-improved-good": "2018-08-03",
         "havering-child-protection-adequate": "2012-03-27", "havering-improvement-update": "2024-12",
         "havering-referral-assessment-praised": "2010-06-24"}
GOOD = "---\ntitle: A good article\ndate: 2020-01-02\n---\nThe council met on Tuesday.\n"


def norm(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
                                .casefold()))


def clean(article_id: str) -> str:
    return (CORPUS / f"{article_id}.md").read_text("utf-8").split("\n---\n", 1)[1]


def title(article_id: str) -> str:
    import yaml

    return yaml.safe_load((CORPUS / f"{article_id}.md").read_text("utf-8").split("---\n", 2)[1])["title"]


def sentences(text: str) -> list[str]:
    from qa.chunking import split_sentences

    return [text[a:b] for a, b in split_sentences(text)]


def copy(tmp_path: Path, *names: str) -> Path:
    folder = tmp_path / "c"
    folder.mkdir(exist_ok=True)
    for name in names:
        shutil.copy2(FORMATS / name, folder / name)
    return folder


def source(path: Path) -> SourceFile:
    st = path.stat()
    return SourceFile(path=str(path), rel=path.name, size=st.st_size, mtime_ns=st.st_mtime_ns)


def assert_same_text(text: str, article_id: str) -> None:
    """Every sentence of the clean article whole in the text, and no word that is not the article's."""
    kept = norm(text)
    missing = [s for s in sentences(clean(article_id)) if norm(s) not in kept]
    assert not missing, missing[:3]
    extra = set(norm(text).split()) - set(norm(clean(article_id)).split())
    assert not extra, sorted(extra)[:10]


# ------------------------------------------------------------------ PDF
def test_pdfs_printed_by_chromium_read_as_the_clean_articles(tmp_path):
    read = read_corpus(copy(tmp_path, *(f"{i}.pdf" for i in IDS)))
    assert not read.skipped
    by_id = {a.id: a for a in read.articles}
    assert set(by_id) == set(IDS)
    for article_id, a in by_id.items():
        assert_same_text(a.text, article_id)  # no running head, foot or page number, no broken word
        assert "Page 1 of" not in a.text and "Page 2 of" not in a.text
        assert norm(a.title) == norm(title(article_id))
        assert a.date == DATES[article_id] and a.date_origin == "first lines"
        assert a.file_type == "pdf" and a.path == f"{article_id}.pdf"
    # paragraphs kept: each of the clean article's paragraphs is one paragraph of the PDF's text
    for article_id in ("havering-rated-inadequate", "havering-child-protection-adequate"):
        mine = {norm(p) for p in by_id[article_id].text.split("\n\n")}
        assert all(norm(p) in mine for p in clean(article_id).split("\n") if p.strip())
    assert by_id["havering-rated-inadequate"].author == "Staff reporter"


def test_two_columns_with_hyphenated_line_ends_read_in_order(tmp_path):
    (f,) = [FORMATS / "havering-significantly-improved-good.pdf"]
    from qa.readers import pdf

    (a,), _ = pdf.read(source(f), CollectionOptions())
    assert_same_text(a.text, "havering-significantly-improved-good")
    assert "significant progress" in a.text and "gang-related" in a.text  # a soft hyphen gone, a real one kept
    assert "\u2010" not in a.text and "\u00ad" not in a.text and "\ufffe" not in a.text


def test_layout_joins_hyphenated_words_and_drops_running_heads():
    from qa.readers.pdf import layout

    def page(n: int, body: list[str]) -> list:
        lines = [("The Gazette — Council news", 50, 300, 780, 790)]
        y = 700.0
        for text in body:
            lines.append((text, 50, 300 if not text.endswith(".") else 200, y - 10, y))
            y -= 12
        lines.append((f"{n}", 170, 175, 30, 40))
        return lines

    pages = [page(1, ["The report was recog-", "nised as fair by the gang-", "related committee."]),
             page(2, ["It was recognised again, and the hyphen in gang-", "related stays."])]
    assert layout(pages) == ["The report was recognised as fair by the gang-related committee.",
                             "It was recognised again, and the hyphen in gang-related stays."]
    pages[0][-2] = ("related committee and", 50, 300, 666, 676)  # a full line: the paragraph runs on
    assert len(layout(pages)) == 1


def test_bullets_that_word_puts_in_a_pdf_become_list_lines():
    from qa.readers.pdf import layout

    lines = [("Inspectors found:", 50, 200, 690, 700),
             ("\uf0b7 Children benefit from a good range of early", 60, 300, 678, 688),
             ("help services.", 70, 140, 666, 676),
             ("\uf0b7 Social workers know their children well.", 60, 280, 654, 664),
             ("\u2022 Plans are variable.", 60, 180, 642, 652),
             ("The report ended there.", 50, 190, 620, 630)]
    assert layout([lines]) == ["Inspectors found:", "• Children benefit from a good range of early help services.\n"
                               "• Social workers know their children well.\n• Plans are variable.",
                               "The report ended there."]


def test_a_scanned_or_protected_pdf_is_skipped_with_a_line_saying_so(tmp_path):
    folder = copy(tmp_path, "scanned.pdf", "protected.pdf")
    (folder / "good.md").write_text(GOOD, "utf-8")
    read = read_corpus(folder)
    assert [a.id for a in read.articles] == ["good"]
    protected, scanned = read.skipped
    assert scanned.rel == "scanned.pdf" and "no text layer" in scanned.reason and "OCR" in scanned.reason
    assert protected.rel == "protected.pdf" and "protected by a password" in protected.reason


def _pdf(objects: list[bytes]) -> bytes:
    out, offsets = b"%PDF-1.7\n", []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1) + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    return out + b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)


PAGE = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>"
FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"


def test_a_pdf_decompression_bomb_is_bounded_in_memory_and_time(tmp_path, monkeypatch):
    from qa.readers import isolated

    monkeypatch.setattr(isolated, "MEMORY_BYTES", 400 << 20)  # the cap the child starts with (default 1 GB)
    isolated.stop()
    z = zlib.compressobj(9)
    block = b" " * (1 << 20)
    stream = z.compress(b"BT /F1 12 Tf 72 712 Td (Hello) Tj ET\n") + b"".join(z.compress(block) for _ in range(800))
    stream += z.flush()  # 800 MB of content stream in under 1 MB of file
    bomb = _pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>", PAGE,
                 b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream", FONT])
    assert len(bomb) < 1_000_000
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / "bomb.pdf").write_bytes(bomb)
    (folder / "good.md").write_text(GOOD, "utf-8")
    me = psutil.Process()
    before = me.memory_info().rss
    t0 = time.monotonic()
    try:
        read = read_corpus(folder)
    finally:
        isolated.stop()
    assert time.monotonic() - t0 < isolated.SECONDS
    assert me.memory_info().rss - before < 100 << 20  # the inflating happened in the capped child
    assert [a.id for a in read.articles] == ["good"]
    (skip,) = read.skipped
    assert skip.rel == "bomb.pdf" and "memory" in skip.reason


def test_a_pdf_with_a_recursive_object_graph_is_bounded(tmp_path):
    """A page tree that holds itself and claims a million pages, and a form that draws itself."""
    cyclic = _pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 1000000 >>",
                   b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources 6 0 R >>",
                   b"<< /Length 44 >>\nstream\nBT /F1 12 Tf 72 712 Td (Hello there.) Tj ET /X1 Do\nendstream", FONT,
                   b"<< /Font << /F1 5 0 R >> /XObject << /X1 7 0 R >> >>",
                   b"<< /Type /XObject /Subtype /Form /BBox [0 0 10 10] /Resources 6 0 R /Length 6 >>\nstream\n/X1 Do"
                   b"\nendstream"])
    deep = _pdf([b"<< /Type /Catalog /Pages 2 0 R /Deep " + b"[" * 200_000 + b"]" * 200_000 + b" >>",
                 b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>", PAGE,
                 b"<< /Length 40 >>\nstream\nBT /F1 12 Tf 72 712 Td (Deep text.) Tj ET\nendstream", FONT])
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / "cyclic.pdf").write_bytes(cyclic)
    (folder / "deep.pdf").write_bytes(deep)
    (folder / "good.md").write_text(GOOD, "utf-8")
    t0 = time.monotonic()
    read = read_corpus(folder)
    assert time.monotonic() - t0 < 30
    assert "good" in {a.id for a in read.articles}
    for name in ("cyclic", "deep"):  # read, or skipped with one line: never a hang or a crash of the reader
        found = [a for a in read.articles if a.id == name]
        if found:
            assert found[0].text in ("Hello there.", "Deep text.")
        else:
            assert any(s.rel == f"{name}.pdf" and "\n" not in s.reason for s in read.skipped)


def test_a_pdf_and_the_same_article_as_markdown_are_indexed_once(tmp_path):
    folder = copy(tmp_path, "havering-rated-inadequate.pdf")
    shutil.copy2(CORPUS / "havering-rated-inadequate.md", folder / "rated.md")
    read = read_corpus(folder)
    assert [a.path for a in read.articles] == ["rated.md"]  # the hand-made copy is kept
    assert any("havering-rated-inadequate.pdf" in n and "indexed once" in n for n in read.notices)


def test_strict_and_the_size_bound_hold_for_pdfs(tmp_path):
    from qa.readers import SkippedFilesError

    folder = copy(tmp_path, "scanned.pdf", "havering-improvement-update.pdf")
    with pytest.raises(SkippedFilesError):
        read_corpus(folder, strict=True)
    from qa.readers import pdf
    from qa.readers.base import FileError

    with pytest.raises(FileError, match="over the 0 MB limit"):
        pdf.read(source(folder / "havering-improvement-update.pdf"), CollectionOptions(max_file_mb=0))


def test_the_pdf_child_process_ends_with_the_corpus_read(tmp_path):
    from qa.readers import isolated

    read_corpus(copy(tmp_path, "havering-improvement-update.pdf"))
    assert isolated._CHILD is None


def test_the_heavy_libraries_are_imported_only_when_such_a_file_is_read(tmp_path):
    """Reading a folder of Markdown (what `qa ask` on an unchanged index does not even do) imports none
    of them; reading a PDF imports pdfium in the child process only."""
    folder = copy(tmp_path, "havering-improvement-update.pdf")
    (tmp_path / "md").mkdir()
    (tmp_path / "md" / "good.md").write_text(GOOD, "utf-8")
    code = ("import sys; from qa.readers import read_corpus; read_corpus(sys.argv[1]); read_corpus(sys.argv[2]); "
            "heavy = {'pypdfium2', 'pypdf', 'pdfminer', 'docx', 'feedparser', 'warcio', 'fastwarc', 'odf'}; "
            "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "md"), str(folder)], capture_output=True,
                         text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


# ------------------------------------------------------------------ feeds
FEED_URLS = {  # make_byo.py's invented addresses, which the feed's links and guids carry
    "havering-rated-inadequate": "https://www.romfordrecorder.example/news/24052317.damning-ofsted-report-havering-"
                                 "childrens-services/",
    "havering-child-protection-adequate": "https://www.havering.example/news/article/1234/child_protection_services_"
                                          "rated_adequate",
}


def _by_url(articles):
    return {a.url: a for a in articles}


def test_an_rss_feed_is_one_article_per_entry_with_its_metadata(tmp_path):
    read = read_corpus(copy(tmp_path, "news.rss"))
    assert not read.skipped and len(read.articles) == 5
    texts = {norm(a.text): a for a in read.articles}
    for article_id in IDS:
        a = next(a for a in read.articles if norm(a.title) == norm(title(article_id)))
        assert_same_text(a.text, article_id)
        assert a.source == "Havering children's services news" and a.file_type == "feed"
        assert a.date_origin == "feed published" and a.date.startswith(DATES[article_id][:7])
        assert a.id.startswith("news/") and a.record is not None
    assert len(texts) == 5
    rated = _by_url(read.articles)[FEED_URLS["havering-rated-inadequate"]]
    assert rated.author == "Staff reporter" and rated.date == "2024-01-12"


def test_an_entry_with_only_a_summary_is_indexed_with_a_note(tmp_path):
    read = read_corpus(copy(tmp_path, "updates.atom"))
    (full, summary) = sorted(read.articles, key=lambda a: len(a.text), reverse=True)
    assert_same_text(full.text, "havering-improvement-update")
    assert summary.title == "Foster carers welcomed at town hall event" and summary.author == "Communications team"
    assert summary.date == "2025-01-10" and summary.date_origin == "feed updated" and summary.source == "Havering Council news"
    assert any("1 of 2 entries carries only a summary" in n for n in read.notices)


def test_feed_ids_are_stable_and_an_updated_feed_changes_only_its_changed_entries(tmp_path):
    folder = copy(tmp_path, "news.rss")
    first = {a.id: a.sha256 for a in read_corpus(folder).articles}
    feed = (folder / "news.rss").read_text("utf-8")
    changed = feed.replace("after inspections from December 11 to 22.", "after inspections from 11 to 22 December.")
    assert changed != feed
    new_item = ("<item><title>A new story</title><link>https://news.example/new-story</link><guid>https://news.example/"
                "new-story</guid><content:encoded><![CDATA[<p>Something new happened in the borough today.</p>]]>"
                "</content:encoded></item>\n</channel>")
    (folder / "news.rss").write_text(changed.replace("</channel>", new_item), "utf-8")
    os.utime(folder / "news.rss", (time.time() - 10, time.time() - 10))
    second = {a.id: a.sha256 for a in read_corpus(folder).articles}
    assert set(first) < set(second) and len(second) == 6  # the same ids, and one more
    moved = [i for i in first if first[i] != second[i]]
    assert len(moved) == 1 and "damning" in moved[0]


def test_size_bounds_hold_for_feeds_and_archived_pages(tmp_path):
    from qa.readers import feed, warc
    from qa.readers.base import FileError

    folder = copy(tmp_path, "news.rss", "news.warc.gz")
    small = CollectionOptions(max_file_mb=0)  # 0 bytes: every file and every archived page is over it
    with pytest.raises(FileError, match="over the 0 MB limit"):
        feed.read(source(folder / "news.rss"), small)
    articles, notices = warc.read(source(folder / "news.warc.gz"), small)  # the archive itself is streamed
    assert articles == [] and len([n for n in notices if "over the 0 MB limit" in str(n)]) == 5
    cut = read_corpus(folder).articles  # and max_chars cuts an entry as it cuts a page
    from qa.readers.feed import read as read_feed

    short, notes = read_feed(source(folder / "news.rss"), CollectionOptions(max_chars=1_000))
    assert all(len(a.text) <= 1_000 for a in short) and any("cut to its first" in n for n in notes)
    assert len(cut) == 5


def test_a_feed_in_utf16_with_a_byte_order_mark_is_read(tmp_path):
    feed = (FORMATS / "updates.atom").read_text("utf-8").replace('encoding="utf-8"', 'encoding="utf-16"')
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / "updates.xml").write_bytes(feed.encode("utf-16"))
    read = read_corpus(folder)
    assert len(read.articles) == 2 and not read.skipped


def test_a_feed_in_the_encoding_its_xml_declaration_names_is_read(tmp_path):
    feed = ('<?xml version="1.0" encoding="ISO-8859-1"?>\n<rss version="2.0"><channel><title>Caf\xe9 news</title>'
            "<item><title>Caf\xe9 opens</title><link>https://a.example/cafe</link><description>The caf\xe9 opened "
            "on Monday, serving cr\xe8me br\xfbl\xe9e.</description></item></channel></rss>\n")
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / "old.rss").write_bytes(feed.encode("latin-1"))
    (a,) = read_corpus(folder).articles
    assert a.title == "Café opens" and a.source == "Café news" and "crème brûlée" in a.text


def test_a_truncated_feed_keeps_its_whole_entries_and_says_it_is_damaged(tmp_path):
    feed = (FORMATS / "news.rss").read_text("utf-8")
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / "cut.rss").write_text(feed[:feed.index("<item>", feed.index("<item>", feed.index("<item>") + 1) + 1)],
                                    "utf-8")  # two whole items, then the end of the download
    read = read_corpus(folder)
    assert len(read.articles) == 2
    (skip,) = read.skipped
    assert skip.rel == "cut.rss record 3" and "not well-formed" in skip.reason


def test_xml_that_is_not_a_feed_and_a_feed_without_entries_are_skipped_with_a_line(tmp_path):
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / "good.md").write_text(GOOD, "utf-8")
    (folder / "sitemap.xml").write_text('<?xml version="1.0"?><urlset><url><loc>https://a.example/</loc></url>'
                                        "</urlset>", "utf-8")
    (folder / "empty.rss").write_text('<?xml version="1.0"?><rss version="2.0"><channel><title>T</title></channel>'
                                      "</rss>", "utf-8")
    read = read_corpus(folder)
    assert [a.id for a in read.articles] == ["good"]
    reasons = {s.rel: s.reason for s in read.skipped}
    assert "not an RSS or Atom feed" in reasons["sitemap.xml"] and "no entries" in reasons["empty.rss"]


LAUGHS = ('<?xml version="1.0"?>\n<!DOCTYPE rss [\n <!ENTITY lol "lol">\n'
          + "".join(f' <!ENTITY lol{i} "{("&lol%s;" % ("" if i == 1 else i - 1)) * 10}">\n' for i in range(1, 10))
          + ']>\n<rss version="2.0"><channel><title>T</title><item><title>Laughs</title><description>&lol9;'
          "</description></item></channel></rss>\n")


def test_a_feed_with_entity_expansion_is_refused_in_bounded_time_and_memory(tmp_path):
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / "good.md").write_text(GOOD, "utf-8")
    (folder / "laughs.rss").write_text(LAUGHS, "utf-8")  # 10^9 "lol"s when expanded
    me = psutil.Process()
    before = me.memory_info().rss
    t0 = time.monotonic()
    read = read_corpus(folder)
    assert time.monotonic() - t0 < 10 and me.memory_info().rss - before < 100 << 20
    assert [a.id for a in read.articles] == ["good"]
    (skip,) = read.skipped
    assert skip.rel == "laughs.rss" and "entities" in skip.reason


@pytest.fixture()
def listener():
    """A local HTTP listener that counts connections: what a reader fetching a DTD or an image would hit."""
    import socket
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)
    hits = []
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            hits.append(conn.recv(1024))
            conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n")
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}", hits
    stop.set()
    thread.join(2)
    server.close()


def test_reading_a_feed_fetches_nothing(tmp_path, listener):
    base, hits = listener
    feed = (f'<?xml version="1.0"?>\n<?xml-stylesheet href="{base}/style.xsl" type="text/xsl"?>\n'
            f'<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" "{base}/rss-0.91.dtd">\n'
            f'<rss version="0.91"><channel><title>T</title><link>{base}/</link><item><title>One</title>'
            f'<link>{base}/one</link><description>&lt;p&gt;The council met. &lt;img src="{base}/pixel.gif"&gt;'
            f'&lt;iframe src="{base}/frame"&gt;&lt;/iframe&gt;&lt;/p&gt;</description></item></channel></rss>\n')
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / "old.rss").write_text(feed, "utf-8")
    (a,) = read_corpus(folder).articles
    assert a.text == "The council met." and a.url == f"{base}/one"
    time.sleep(0.5)
    assert hits == []


# ------------------------------------------------------------------ web archives
def test_a_warc_gives_its_html_pages_with_the_target_uri_and_a_summary_line(tmp_path):
    read = read_corpus(copy(tmp_path, "news.warc.gz"))
    assert not read.skipped and len(read.articles) == 5
    for article_id in IDS:
        a = next(a for a in read.articles if norm(a.title) == norm(title(article_id)))
        kept = norm(a.text)
        assert all(norm(s) in kept for s in sentences(clean(article_id)))  # the gzip+chunked page too
        assert a.file_type == "warc" and a.id.startswith("news/") and a.url.startswith("https://")
        assert a.date.startswith(DATES[article_id][:7])  # the pages' own dates, not the crawl's
    assert _by_url(read.articles)[FEED_URLS["havering-rated-inadequate"]].source == "Romford Recorder"
    (line,) = [n for n in read.notices if n.startswith("news.warc.gz:")]
    assert line == ("news.warc.gz: 5 pages read from 19 records; passed over 1 redirect, 1 error status, "
                    "2 non-HTML responses")


def _record(uri: str, body: bytes, *, date: str = "2025-01-15T10:00:00Z", length: int | None = None,
            status: str = "200 OK", content_type: str = "text/html; charset=utf-8") -> bytes:
    http = f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n\r\n".encode() + body
    head = (f"WARC/1.1\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:{abs(hash(uri + date)):032x}>\r\n"
            f"WARC-Date: {date}\r\nWARC-Target-URI: {uri}\r\nContent-Type: application/http; msgtype=response\r\n"
            f"Content-Length: {len(http) if length is None else length}\r\n\r\n").encode()
    return head + http + b"\r\n\r\n"


def page_html(place: str) -> bytes:
    return (f"<html><head><title>{place} hours extended</title></head><body><article><h1>{place} hours extended"
            f"</h1><p>The {place.lower()} will open until eight in the evening from next month, the council said."
            f"</p><p>Weekend hours at the {place.lower()} stay the same.</p></article></body></html>").encode()


PAGE_HTML = page_html("Library")


def test_a_truncated_archive_keeps_its_whole_pages_and_names_the_cut_one(tmp_path):
    data = (FORMATS / "news.warc.gz").read_bytes()
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / "cut.warc.gz").write_bytes(data[:len(data) // 2])
    read = read_corpus(folder)
    kept = [a for a in read.articles]
    assert kept and all(any(norm(s) in norm(a.text) for s in sentences(clean(article_id))[-1:])
                        for a in kept for article_id in IDS if norm(a.title) == norm(title(article_id)))
    assert any("cut short" in s.reason or "damaged" in s.reason for s in read.skipped)


def test_an_archive_is_streamed_record_by_record(tmp_path):
    """A 300 MB video record between two pages (zeros, so the .warc.gz is small): read in bounded memory."""
    import gzip as gz

    folder = tmp_path / "c"
    folder.mkdir()
    big = 300 << 20
    with open(folder / "crawl.warc.gz", "wb") as out:
        out.write(gz.compress(_record("https://lib.example/hours", PAGE_HTML)))
        http = b"HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\n\r\n"
        head = (f"WARC/1.1\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:{1:032x}>\r\nWARC-Date: "
                f"2025-01-15T10:00:00Z\r\nWARC-Target-URI: https://lib.example/video.mp4\r\nContent-Type: "
                f"application/http; msgtype=response\r\nContent-Length: {len(http) + big}\r\n\r\n").encode()
        z = zlib.compressobj(6, zlib.DEFLATED, 31)  # one gzip member
        out.write(z.compress(head + http))
        block = bytes(1 << 20)
        for _ in range(big >> 20):
            out.write(z.compress(block))
        out.write(z.compress(b"\r\n\r\n") + z.flush())
        out.write(gz.compress(_record("https://lib.example/pool", page_html("Pool"))))
    assert (folder / "crawl.warc.gz").stat().st_size < 2_000_000
    me = psutil.Process()
    before = me.memory_info().rss
    read = read_corpus(folder)
    assert me.memory_info().rss - before < 100 << 20
    assert sorted(a.url for a in read.articles) == ["https://lib.example/hours", "https://lib.example/pool"]
    assert any("1 non-HTML response" in n for n in read.notices)


def test_an_undated_archived_page_takes_the_record_date_as_an_approximate_date(tmp_path):
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / "crawl.warc").write_bytes(_record("https://lib.example/hours", PAGE_HTML, date="2023-05-02T08:00:00Z"))
    (a,) = read_corpus(folder).articles
    assert (a.date, a.date_origin, a.date_approximate) == ("2023-05-02", "warc record date", True)
    assert "archived" in a.date_note and a.url == "https://lib.example/hours" and a.title == "Library hours extended"


def test_a_warc_with_a_lying_content_length_is_bounded_and_keeps_what_came_before(tmp_path):
    good = _record("https://lib.example/hours", PAGE_HTML)
    short = _record("https://lib.example/other", page_html("Museum"), length=40)  # says 40 bytes
    huge = _record("https://lib.example/huge", page_html("Pool"), length=10 ** 12)  # says 1 TB
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / "short.warc").write_bytes(good + short + _record("https://lib.example/later", page_html("Gallery")))
    (folder / "huge.warc").write_bytes(_record("https://lib.example/first", page_html("Park")) + huge)
    me = psutil.Process()
    before = me.memory_info().rss
    t0 = time.monotonic()
    read = read_corpus(folder)
    assert time.monotonic() - t0 < 10 and me.memory_info().rss - before < 100 << 20
    urls = sorted(a.url for a in read.articles)
    # huge.warc: the record that claims 1 TB ends with the file, so it is cut short: one line; short.warc:
    # the bytes after the 40 it claims are not a record, so the archive stops there with one line
    assert urls == ["https://lib.example/first", "https://lib.example/hours"]
    (cut_short,) = [s for s in read.skipped if s.rel.startswith("huge.warc")]
    assert cut_short.rel == "huge.warc record 2" and "cut short" in cut_short.reason
    empty, damaged = [s for s in read.skipped if s.rel.startswith("short.warc")]
    assert empty.rel == "short.warc record 2" and "empty payload" in empty.reason
    assert damaged.rel == "short.warc record 3" and "damaged after record 2" in damaged.reason
    assert "\n" not in str(damaged) and len(str(damaged)) < 300


def test_the_same_story_as_a_page_a_feed_entry_a_warc_record_and_a_pdf_is_indexed_once(tmp_path):
    folder = copy(tmp_path, "news.rss", "news.warc.gz", "havering-rated-inadequate.pdf")
    shutil.copy2(ROOT / "tests" / "data" / "byo" / "havering-rated-inadequate.html", folder / "saved.html")
    read = read_corpus(folder)
    assert len(read.articles) == 5 and not read.skipped
    assert {a.file_type for a in read.articles} == {"feed"}  # the feed's own text before extracted pages and PDFs
    folded = [n for n in read.notices if "indexed once" in n]
    rated = next(n for n in folded if "saved.html" in n)
    assert "news.warc.gz record" in rated and "havering-rated-inadequate.pdf" in rated


# ------------------------------------------------------------------ Word
def test_word_documents_read_as_the_clean_articles_with_their_core_properties(tmp_path):
    read = read_corpus(copy(tmp_path, *(f"{i}.docx" for i in IDS)))
    assert not read.skipped and len(read.articles) == 5
    for a in read.articles:
        assert_same_text(a.text, a.id)
        assert norm(a.title) == norm(title(a.id)) and a.file_type == "docx"
        assert a.date == DATES[a.id][:10] or DATES[a.id] == "2024-12" and a.date == "2024-12-18"
        assert a.date_origin == "docx created"
    good = next(a for a in read.articles if a.id == "havering-significantly-improved-good")
    assert good.author == "Editorial Team"
    assert "Inspectors found:\n\n• Children and families increasingly benefit" in good.text  # lists as "• …" lines


def test_word_headings_lists_and_tables_become_lines(tmp_path):
    (a,), _ = read_corpus(copy(tmp_path, "press-release.docx")).articles, None
    assert a.title == "Libraries open longer from March"  # the Title style: the title property names a file
    assert (a.date, a.date_origin, a.author) == ("2025-02-03", "first lines", "Communications team")
    assert a.text == ("Opening hours\n\nFour libraries will open until eight in the evening on weekdays from 3 March."
                      "\n\n• Central Library\n• Harold Hill Library\n• Hornchurch Library\n\nThe new hours are:\n\n"
                      "Library | Weekdays | Saturday\nCentral | 9am to 8pm | 9am to 5pm\nHornchurch | 10am to 8pm | "
                      "10am to 4pm\n\nSunday hours are unchanged.")


def _bomb_docx(path: Path, *, lie: bool) -> None:
    """A .docx whose word/document.xml inflates to 200 MB from under 1 MB; ``lie``: it declares 2 KB."""
    import docx

    template = tmp = path.with_suffix(".tmp.docx")
    docx.Document().save(str(template))
    with zipfile.ZipFile(template) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            if info.filename != "word/document.xml":
                out.writestr(info, src.read(info.filename))
        info = zipfile.ZipInfo("word/document.xml")
        info.compress_type = zipfile.ZIP_DEFLATED
        with out.open(info, "w", force_zip64=True) as w:
            w.write(b'<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/'
                    b'2006/main"><w:body><w:p><w:r><w:t>')
            block = b"A" * (1 << 20)
            for _ in range(200):
                w.write(block)
            w.write(b"</w:t></w:r></w:p></w:body></w:document>")
    tmp.unlink()
    if lie:
        data = bytearray(path.read_bytes())
        name = b"word/document.xml"
        for sig, size_at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
            at = data.find(sig)
            while at != -1:
                name_len = int.from_bytes(data[at + (26 if sig == b"PK\x03\x04" else 28):][:2], "little")
                start = at + (30 if sig == b"PK\x03\x04" else 46)
                if bytes(data[start:start + name_len]) == name:
                    data[at + size_at:at + size_at + 4] = (2048).to_bytes(4, "little")
                at = data.find(sig, at + 4)
        path.write_bytes(bytes(data))


@pytest.mark.parametrize("lie", [False, True], ids=["declared", "lying"])
def test_a_docx_zip_bomb_is_bounded_in_memory_and_time(tmp_path, lie):
    folder = tmp_path / "c"
    folder.mkdir()
    _bomb_docx(folder / "bomb.docx", lie=lie)
    assert (folder / "bomb.docx").stat().st_size < 2_000_000
    (folder / "good.md").write_text(GOOD, "utf-8")
    me = psutil.Process()
    before = me.memory_info().rss
    t0 = time.monotonic()
    read = read_corpus(folder)
    assert time.monotonic() - t0 < 10 and me.memory_info().rss - before < 100 << 20
    assert [a.id for a in read.articles] == ["good"]
    (skip,) = read.skipped
    # declared: refused once the XML read passes the budget; lying: zipfile stops at the declared 2 KB, then
    # the checksum fails (read whole, as python-docx would, it inflates all 200 MB first)
    assert skip.rel == "bomb.docx" and ("damaged zip" if lie else "zip bomb") in skip.reason


def test_an_odt_reads_as_its_docx_twin(tmp_path):
    read = read_corpus(copy(tmp_path, "press-release.odt", "press-release.docx"))
    (kept,) = read.articles  # the same story twice: indexed once
    assert any("indexed once" in n for n in read.notices)
    from qa.readers import odt

    (a,), _ = odt.read(source(FORMATS / "press-release.odt"), CollectionOptions())
    assert (a.text, a.title, a.date, a.author) == (kept.text, kept.title, kept.date, kept.author)
    assert a.file_type == "odt" and a.title == "Libraries open longer from March"


def test_an_odt_with_entity_expansion_or_a_zip_bomb_is_one_line(tmp_path):
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / "good.md").write_text(GOOD, "utf-8")
    with zipfile.ZipFile(FORMATS / "press-release.odt") as src:
        parts = {i.filename: src.read(i.filename) for i in src.infolist()}
    laughs = LAUGHS.replace("<!DOCTYPE rss", "<!DOCTYPE office:document-content").split("]>", 1)[0] + "]>"
    for name, content in (("laughs.odt", laughs.encode() + parts["content.xml"].split(b"?>", 1)[1].replace(
            b"Sunday hours", b"&lol9; hours")), ("bomb.odt", None)):
        with zipfile.ZipFile(folder / name, "w", zipfile.ZIP_DEFLATED) as out:
            for part, data in parts.items():
                if part == "content.xml" and content is not None:
                    data = content
                elif part == "content.xml":
                    data = data.replace(b"Sunday hours", b"A" * (80 << 20))  # 80 MB of XML from ~80 KB
                out.writestr(part, data)
    t0 = time.monotonic()
    read = read_corpus(folder)
    assert time.monotonic() - t0 < 10
    assert [a.id for a in read.articles] == ["good"]
    reasons = {s.rel: s.reason for s in read.skipped}
    assert "EntitiesForbidden" in reasons["laughs.odt"] and "zip bomb" in reasons["bomb.odt"]


@pytest.mark.parametrize("name", ["havering-improvement-update.pdf", "press-release.docx", "press-release.odt",
                                  "news.rss", "updates.atom", "news.warc.gz"])
def test_damaged_files_of_each_format_are_read_or_one_line_each(tmp_path, name):
    """Cut short at several points, or with bytes overwritten: never a traceback, never the whole read lost."""
    import random

    data = (FORMATS / name).read_bytes()
    rng = random.Random(name)
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / "good.md").write_text(GOOD, "utf-8")
    stem, dot, suffix = name.partition(".")
    for i, cut_at in enumerate((0.1, 0.5, 0.9)):
        (folder / f"{stem}-cut{i}.{suffix}").write_bytes(data[:int(len(data) * cut_at)])
    for i in range(3):
        flipped = bytearray(data)
        for _ in range(20):
            at = rng.randrange(len(flipped))
            flipped[at] = rng.randrange(256)
        (folder / f"{stem}-flip{i}.{suffix}").write_bytes(bytes(flipped))
    t0 = time.monotonic()
    read = read_corpus(folder)
    assert time.monotonic() - t0 < 60
    assert "good" in {a.id for a in read.articles}
    for s in read.skipped:
        assert "\n" not in str(s) and len(str(s)) < 400 and "Traceback" not in str(s)
    # each file read, skipped with a line, or folded into a copy with a notice naming it: nothing silent
    said = " ".join(read.notices)
    for p in folder.iterdir():
        assert (any(a.path == p.name for a in read.articles) or any(s.rel.split(" record ")[0] == p.name
                                                                     for s in read.skipped) or p.name in said), p.name
