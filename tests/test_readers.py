"""Readers by file type (pure: no model): each accepted format, each bad-file case, metadata checks."""

from __future__ import annotations

import codecs
import datetime as dt
import json
import os
from pathlib import Path

import pytest

from qa.errors import CorpusError
from qa.readers import (CollectionOptions, FileError, NothingReadableError, Skipped, SkippedFilesError, find_files,
                        read_corpus, read_file)
from qa.readers.dates import DateError, parse_date
from qa.readers.options import chat_settings, read_collection

GOOD = "---\ntitle: A title\ndate: 2024-01-15\nsource: The Paper\n---\nFirst sentence. Second one.\n"


def write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, "utf-8")
    return path


def one(folder: Path, name: str, content: str | bytes, options: CollectionOptions | None = None):
    """Read one file through the public interface: (articles, notices), or raise FileError."""
    write(folder, name, content)
    files, skipped = find_files(folder)
    assert not skipped, skipped
    (f,) = [f for f in files if f.rel == name]
    return read_file(f, options or CollectionOptions())


def skip_reason(folder: Path, name: str) -> str:
    read = read_corpus(folder)
    reasons = [s.reason for s in read.skipped if s.rel == name]
    assert reasons, f"{name} was not skipped: {read.skipped}"
    return reasons[0]


# ------------------------------------------------------------------ Markdown and text
def test_markdown_without_front_matter_takes_its_first_heading_as_title(tmp_path):
    (a,), _ = one(tmp_path, "story.md", "# Council approves the budget\n\nThe council met on Tuesday.\n")
    assert a.title == "Council approves the budget"
    assert a.text == "# Council approves the budget\n\nThe council met on Tuesday.\n"  # verbatim
    assert a.date is None and a.id == "story" and a.file_type == "markdown"


def test_markdown_title_from_a_later_h1_and_a_setext_heading(tmp_path):
    (a,), _ = one(tmp_path, "a.md", "Some intro line.\n\n# The real headline #\n\nBody.\n")
    assert a.title == "The real headline"
    (b,), _ = one(tmp_path, "b.md", "A setext headline\n=================\n\nBody.\n")
    assert b.title == "A setext headline"


def test_text_file_title_is_its_first_line(tmp_path):
    (a,), _ = one(tmp_path, "plain.txt", "\n\nA headline\n\nBody text here.\n")
    assert a.title == "A headline" and a.file_type == "text"


def test_empty_closed_front_matter_is_no_metadata(tmp_path):
    (a,), _ = one(tmp_path, "a.md", "---\n---\n# Heading\n\nBody.\n")
    assert a.title == "Heading" and a.text == "# Heading\n\nBody.\n"
    (b,), _ = one(tmp_path, "b.md", "---\n\n---\nBody only.\n")
    assert b.title == "Body only."


def test_quoted_booleans_are_booleans(tmp_path):
    (a,), _ = one(tmp_path, "a.md", '---\ntitle: T\ndate: "2024-01"\ndate_approximate: "false"\n---\nBody.\n')
    assert a.date_approximate is False
    (b,), _ = one(tmp_path, "b.md", "---\ntitle: T\ndate: 2024-01-02\ndate_approximate: 'yes'\n---\nBody.\n")
    assert b.date_approximate is True
    with pytest.raises(FileError, match="date_approximate is 'maybe', not true or false"):
        one(tmp_path, "c.md", "---\ntitle: T\ndate: 2024\ndate_approximate: maybe\n---\nBody.\n")


def test_approximate_follows_the_precision_when_not_given(tmp_path):
    (a,), _ = one(tmp_path, "a.md", "---\ntitle: T\ndate: March 2019\n---\nBody.\n")
    assert (a.date, a.date_approximate, a.date_origin) == ("2019-03", True, "front matter")
    (b,), _ = one(tmp_path, "b.md", "---\ntitle: T\ndate: 5 March 2019\n---\nBody.\n")
    assert (b.date, b.date_approximate) == ("2019-03-05", False)


@pytest.mark.parametrize("written,iso,precision", [
    ("March 2019", "2019-03", "month"),
    ("5 March 2019", "2019-03-05", "day"),
    ("Tuesday, 5th March 2019", "2019-03-05", "day"),
    ("March 5, 2019", "2019-03-05", "day"),
    ("2019-03-05T23:30:00-05:00", "2019-03-05", "day"),  # the writer's own date, not UTC's
    ("2019-03-05T14:30:00Z", "2019-03-05", "day"),
    ("2019-03-05 10:00:00+01:00", "2019-03-05", "day"),
    ("Tue, 05 Mar 2019 10:00:00 +0000", "2019-03-05", "day"),
    ("20190305", "2019-03-05", "day"),
    ("2019", "2019", "year"),
    (2019, "2019", "year"),
    ("25/03/2019", "2019-03-25", "day"),
    ("Published: 27 March 2012", "2012-03-27", "day"),
    ("5 mars 2019", "2019-03-05", "day"),
])
def test_dates_as_people_and_pages_write_them(written, iso, precision):
    d = parse_date(written)
    assert (d.iso, d.precision) == (iso, precision)


@pytest.mark.parametrize("written", ["last spring", "2024-13-01", "05/03/2019", "13 2019", "yesterday", "the 2019 budget"])
def test_dates_that_cannot_be_read_unambiguously(written):
    with pytest.raises(DateError):
        parse_date(written)


def test_a_bad_date_skips_the_file_with_how_to_write_it(tmp_path):
    write(tmp_path, "good.md", GOOD)
    write(tmp_path, "bad.md", "---\ntitle: T\ndate: last spring\n---\nBody.\n")
    reason = skip_reason(tmp_path, "bad.md")
    assert "'last spring' is not a date" in reason and "YYYY-MM-DD" in reason


def test_a_future_date_is_flagged_and_not_used(tmp_path):
    (a,), notices = one(tmp_path, "a.md", "---\ntitle: T\ndate: 2099-01-01\n---\nBody.\n")
    assert a.date is None and "2099-01-01" in (a.date_note or "")
    assert any("a.md: date 2099-01-01 is in the future" in n for n in notices)
    tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    (b,), notices = one(tmp_path, "b.md", f"---\ntitle: T\ndate: {tomorrow}\n---\nBody.\n")
    assert b.date == tomorrow and not notices  # a time zone ahead is not an error


def test_a_list_as_title_is_an_error_with_a_message(tmp_path):
    with pytest.raises(FileError) as exc:
        one(tmp_path, "a.md", "---\ntitle: [a, b]\ndate: 2024\n---\nBody.\n")
    assert "title is a list (['a', 'b']), not text" in str(exc.value) and "a.md" in str(exc.value)


def test_authors_may_be_a_list(tmp_path):
    (a,), _ = one(tmp_path, "a.md", "---\ntitle: T\nauthor: [Ann Lee, Bo Chan]\n---\nBody.\n")
    assert a.author == "Ann Lee, Bo Chan"


def test_sha256_of_a_markdown_file_is_of_its_bytes(tmp_path):
    import hashlib

    (a,), _ = one(tmp_path, "a.md", GOOD)
    assert a.sha256 == hashlib.sha256(GOOD.encode()).hexdigest()


# ------------------------------------------------------------------ encodings and unreadable files
def test_utf16_with_a_byte_order_mark_is_read(tmp_path):
    (a,), _ = one(tmp_path, "a.txt", codecs.BOM_UTF16_LE + "Headline\n\nCafé body.\n".encode("utf-16-le"))
    assert a.title == "Headline" and a.text == "Headline\n\nCafé body.\n"
    (b,), _ = one(tmp_path, "b.md", codecs.BOM_UTF8 + "# Title\n\nBody.\n".encode())
    assert b.text == "# Title\n\nBody.\n"  # the mark is not text


@pytest.mark.parametrize("name,content,expect", [
    ("empty.txt", b"", "is empty"),
    ("blank.md", b"  \n\n ", "is empty"),
    ("utf16.txt", "Council notes\n\nThe committee met.\n".encode("utf-16-le"), "UTF-16 text without a byte-order mark"),
    ("binary.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "binary file"),
    ("latin1.txt", "Caf\xe9 society: a long article text in Latin-1.\n".encode("latin-1"), "not UTF-8"),
    ("nobody.md", b"---\ntitle: T\ndate: 2020\n---\n   \n", "has no text"),
    ("unclosed.md", b"---\ntitle: T\ndate: 2020\nBody.\n", "not closed"),
    ("yaml.md", b"---\ntitle: [unclosed\ndate: 2020\n---\nBody.\n", "not valid YAML"),
    ("notmap.md", b"---\n- a\n- b\n---\nBody.\n", "must be 'key: value' lines"),
    ("badid.md", b"---\nid: 'a:b'\ntitle: T\n---\nBody.\n", "is not a slug"),
    ("badurl.md", b"---\ntitle: T\nurl: example.com\n---\nBody.\n", "not a web address"),
    ("emptytitle.md", b"---\ntitle: ''\n---\nBody.\n", "title is empty"),
    ("page.pdf", b"%PDF-1.4\n%%EOF\n", "is not a PDF that can be read"),
])
def test_each_bad_file_is_skipped_with_one_line_and_the_rest_is_read(tmp_path, name, content, expect):
    write(tmp_path, "good.md", GOOD)
    write(tmp_path, name, content)
    read = read_corpus(tmp_path)
    assert [a.id for a in read.articles] == ["good"]
    (skip,) = read.skipped
    assert skip.rel == name and expect in skip.reason
    assert "\n" not in str(skip) and len(str(skip)) < 300
    assert ": " in skip.reason or "," in skip.reason  # the problem, then the fix


def test_strict_raises_with_a_distinct_exit_code_and_what_was_found(tmp_path):
    write(tmp_path, "good.md", GOOD)
    write(tmp_path, "empty.txt", b"")
    with pytest.raises(SkippedFilesError) as exc:
        read_corpus(tmp_path, strict=True)
    assert exc.value.exit_code == 3 and "empty.txt" in str(exc.value)
    assert [s.rel for s in exc.value.read.skipped] == ["empty.txt"]
    assert len(read_corpus(tmp_path).articles) == 1  # without --strict the rest is read


def test_a_folder_with_nothing_readable_says_what_it_found(tmp_path):
    write(tmp_path, "a.txt", b"")
    write(tmp_path, "b.md", b"\x00\x01\x02binary")
    write(tmp_path, "c.docx", b"PK\x03\x04")
    with pytest.raises(NothingReadableError) as exc:
        read_corpus(tmp_path)
    message = str(exc.value)
    assert "3 files, none readable" in message and "a.txt" in message
    assert len(exc.value.read.skipped) == 3


def test_missing_empty_and_file_corpus_folders(tmp_path):
    with pytest.raises(CorpusError, match="does not exist"):
        read_corpus(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CorpusError, match="has no articles"):
        read_corpus(tmp_path / "empty")
    write(tmp_path, "file.md", GOOD)
    with pytest.raises(CorpusError, match="is a file, not a folder"):
        read_corpus(tmp_path / "file.md")


# ------------------------------------------------------------------ the walk: names, folders, links
def test_subfolders_give_ids_with_slashes_and_odd_names_become_slugs(tmp_path):
    write(tmp_path, "2019/council.md", GOOD)
    write(tmp_path, "2019/Council Meeting (May).txt", "Headline\n\nBody.\n")
    write(tmp_path, "café.md", "# Café\n\nBody text.\n")
    ids = {a.id: a for a in read_corpus(tmp_path).articles}
    assert set(ids) == {"2019/council", "2019/Council-Meeting-May", "cafe"}
    assert ids["2019/council"].path == "2019/council.md"
    for i in ids:
        assert ":" not in i and "#" not in i


def test_ignored_names_are_not_articles_and_not_reported(tmp_path):
    write(tmp_path, "good.md", GOOD)
    for name in ("README.md", "readme.txt", "questions.jsonl", ".hidden.md", "_draft.md", ".git/config",
                 "sub/questions.jsonl", "sub/collection.yaml", "Thumbs.db"):
        write(tmp_path, name, "x: y\n")
    write(tmp_path, "collection.yaml", "title: A collection\n")
    read = read_corpus(tmp_path)
    assert [a.id for a in read.articles] == ["good"] and not read.skipped
    assert [f.rel for f in read.files] == ["good.md"]


def test_a_browsers_saved_page_folder_is_left_alone(tmp_path):
    write(tmp_path, "page.html", "<html><head><title>A page</title></head><body><article><p>"
                                 + "A long enough paragraph of article text. " * 5 + "</p></article></body></html>")
    write(tmp_path, "page_files/logo.png", b"\x89PNG\x00")
    write(tmp_path, "other_files/x.png", b"\x89PNG\x00")  # no page beside it: reported
    read = read_corpus(tmp_path)
    assert [s.rel for s in read.skipped] == ["other_files/x.png"]


def test_find_files_only_stats(tmp_path, monkeypatch):
    write(tmp_path, "a.md", GOOD)
    opened = []
    real_open = os.open
    monkeypatch.setattr(os, "open", lambda *a, **k: opened.append(a[0]) or real_open(*a, **k))
    files, _ = find_files(tmp_path)
    assert not opened
    (f,) = files
    assert Path(f.path).is_absolute() and f.rel == "a.md" and f.size == len(GOOD.encode()) and f.mtime_ns > 0


def test_symlinks_are_never_followed(tmp_path):
    corpus = tmp_path / "corpus"
    write(corpus, "good.md", GOOD)
    outside = write(tmp_path, "secret.txt", "Secret headline\n\nroot:x:0:0:root:/root:/bin/bash\n")
    (corpus / "passwd.txt").symlink_to("/etc/passwd")
    (corpus / "secret.md").symlink_to(outside)
    (corpus / "inside.md").symlink_to(corpus / "good.md")
    (corpus / "linked-dir").symlink_to(tmp_path)
    read = read_corpus(corpus)
    assert [a.id for a in read.articles] == ["good"]
    assert {s.rel for s in read.skipped} == {"passwd.txt", "secret.md", "inside.md", "linked-dir"}
    assert all("symbolic link" in s.reason for s in read.skipped)
    assert "root:x" not in "".join(a.text for a in read.articles)


def test_a_named_pipe_is_skipped_without_blocking(tmp_path):
    write(tmp_path, "good.md", GOOD)
    os.mkfifo(tmp_path / "pipe.md")
    read = read_corpus(tmp_path)
    assert [(s.rel, "named pipe" in s.reason) for s in read.skipped] == [("pipe.md", True)]


def test_a_file_swapped_for_a_link_after_the_walk_is_refused(tmp_path):
    write(tmp_path, "a.md", GOOD)
    (f,), _ = find_files(tmp_path)
    (tmp_path / "a.md").unlink()
    (tmp_path / "a.md").symlink_to("/etc/passwd")
    with pytest.raises(FileError, match="symbolic link"):
        read_file(f)


def test_a_corpus_folder_given_through_a_link_is_read(tmp_path):
    write(tmp_path / "real", "good.md", GOOD)
    (tmp_path / "link").symlink_to(tmp_path / "real")
    assert [a.id for a in read_corpus(tmp_path / "link").articles] == ["good"]


# ------------------------------------------------------------------ HTML pages
PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8">
<title>Council approves the budget | The Gazette</title>
<meta property="og:title" content="Council approves the budget">
<meta property="og:site_name" content="The Gazette">
<meta property="article:published_time" content="2019-03-05T09:00:00+00:00">
<meta name="author" content="Ann Lee">
<link rel="canonical" href="https://gazette.example/news/budget">
<script>gtag('config', 'G-1');</script>
{ld}
</head><body>
<div class="cookie-banner"><p>We use cookies to improve your experience. Accept all cookies.</p></div>
<nav><ul><li><a href="/">Home</a></li><li><a href="/news">News</a></li><li><a href="/sport">Sport</a></li></ul></nav>
<article><h1>Council approves the budget</h1>
<p>The council approved its budget for the coming year on Tuesday evening after a long debate.</p>
<p>Councillors voted by a large majority for the plan, which raises spending on libraries and parks.</p>
<figure><img src="x.jpg" alt="The town hall"><figcaption>The town hall (Image: Gazette archive)</figcaption></figure>
<p>The leader of the council said the budget would protect the services residents value most.</p>
<ul><li>Libraries get more money.</li><li>Parks get new staff.</li></ul>
</article>
<aside class="related"><h2>Related stories</h2><ul><li><a href="/1">Bins collected late again</a></li></ul></aside>
<footer><p>Copyright The Gazette. All rights reserved.</p></footer>
</body></html>"""


def test_html_page_main_text_and_metadata(tmp_path):
    (a,), notices = one(tmp_path, "budget.html", PAGE.format(ld=""))
    assert a.id == "budget" and a.file_type == "html" and not notices
    assert a.title == "Council approves the budget"
    assert (a.date, a.date_approximate, a.date_origin) == ("2019-03-05", False, "meta article:published_time")
    assert (a.source, a.author, a.url) == ("The Gazette", "Ann Lee", "https://gazette.example/news/budget")
    assert a.text.startswith("The council approved its budget")
    assert "\n\nCouncillors voted" in a.text  # paragraphs kept, blank-line separated
    assert "• Libraries get more money.\n• Parks get new staff." in a.text
    for furniture in ("cookies", "gtag", "Home", "Related stories", "Bins collected", "Image: Gazette",
                      "All rights reserved", "Sport"):
        assert furniture not in a.text


def test_json_ld_news_article_comes_first(tmp_path):
    ld = json.dumps({"@context": "https://schema.org", "@graph": [
        {"@type": "Organization", "@id": "#org", "name": "Gazette Media"},
        {"@type": "NewsArticle", "headline": "Budget approved after long debate", "datePublished": "2019-03-04",
         "author": [{"@type": "Person", "name": "Ann Lee"}, {"@type": "Person", "name": "Bo Chan"}],
         "publisher": {"@id": "#org"}}]})
    (a,), _ = one(tmp_path, "budget.html", PAGE.format(ld=f'<script type="application/ld+json">{ld}</script>'))
    assert a.title == "Budget approved after long debate"
    assert (a.date, a.date_origin) == ("2019-03-04", "json-ld datePublished")
    assert (a.author, a.source) == ("Ann Lee, Bo Chan", "Gazette Media")


def test_html_date_from_htmldate_when_no_metadata_names_it(tmp_path):
    page = ("<html><head><title>Notice</title></head><body><article><h1>Notice</h1>"
            '<p class="date">Published <time datetime="2018-06-02">2 June 2018</time></p>'
            + "<p>" + "The parish council met to discuss the new footpath and agreed to fund it. " * 3 + "</p>"
            + "</article></body></html>")
    (a,), _ = one(tmp_path, "notice.html", page)
    assert (a.date, a.date_origin) == ("2018-06-02", "htmldate")
    assert a.source is None and a.url is None  # never invented


def test_a_saved_page_under_a_markdown_or_text_name_is_read_as_html(tmp_path):
    for name in ("saved.md", "saved.txt"):
        (a,), _ = one(tmp_path, name, PAGE.format(ld=""))
        assert a.file_type == "html" and a.title == "Council approves the budget"
        assert "<script" not in a.text and "gtag" not in a.text and "DOCTYPE" not in a.text


def test_html_declared_charset_is_honoured(tmp_path):
    page = ('<html><head><meta charset="windows-1252"><title>Caf\xe9 opens</title></head><body><article>'
            + "<p>" + "The caf\xe9 on the high street opened its doors to customers this week. " * 3 + "</p>"
            + "</article></body></html>")
    (a,), _ = one(tmp_path, "cafe.html", page.encode("cp1252"))
    assert a.title == "Café opens" and "café on the high street" in a.text


def test_html_without_article_text_is_skipped(tmp_path):
    write(tmp_path, "good.md", GOOD)
    write(tmp_path, "login.html", "<html><head><title>Log in</title></head><body><form><input></form></body></html>")
    assert "no article text" in skip_reason(tmp_path, "login.html")


# ------------------------------------------------------------------ exports: JSON, JSONL, CSV
RECORDS = [
    {"id": "budget-2019", "headline": "Budget approved", "body": "The council approved its budget.\n\nIt was late.",
     "publishedAt": "2019-03-05T09:00:00Z", "url": "https://gazette.example/budget", "source": {"name": "Gazette"},
     "byline": "Ann Lee"},
    {"title": "Parks get staff", "content": "<p>Parks get <b>new</b> staff.</p><p>Four gardeners start in May.</p>",
     "pubDate": "Tue, 05 Mar 2019 10:00:00 +0000", "link": "https://gazette.example/parks", "publisher": "Gazette"},
]


def test_jsonl_export_one_article_per_record_with_usual_field_names(tmp_path):
    arts, notices = one(tmp_path, "export.jsonl", "\n".join(json.dumps(r) for r in RECORDS) + "\n")
    a, b = arts
    assert (a.id, a.title, a.date, a.source, a.author, a.url) == (
        "budget-2019", "Budget approved", "2019-03-05", "Gazette", "Ann Lee", "https://gazette.example/budget")
    assert a.text == "The council approved its budget.\n\nIt was late."
    assert (a.file_type, a.record, a.path) == ("jsonl", 1, "export.jsonl")
    assert b.id == "export-2"  # no id field: the file's id and the record's number
    assert b.text == "Parks get new staff.\n\nFour gardeners start in May."  # HTML body through the HTML reader
    assert b.date == "2019-03-05" and b.source == "Gazette"
    assert a.sha256 != b.sha256 and not notices


def test_json_export_list_or_wrapped_and_jsonl_under_a_json_name(tmp_path):
    (a, b), _ = one(tmp_path, "list.json", json.dumps(RECORDS))
    assert a.id == "budget-2019" and b.id == "list-2"
    arts, _ = one(tmp_path, "wrapped.json", json.dumps({"status": "ok", "articles": RECORDS}))
    assert len(arts) == 2
    arts, _ = one(tmp_path, "guardian.json", json.dumps({"response": {"results": [
        {"id": "uk/2019/budget", "webTitle": "Budget", "webPublicationDate": "2019-03-05T09:00:00Z",
         "webUrl": "https://g.example/budget", "fields": {"bodyText": "Nested body text."}}]}}))
    assert (arts[0].id, arts[0].title, arts[0].text, arts[0].date) == (
        "uk-2019-budget", "Budget", "Nested body text.", "2019-03-05")
    arts, _ = one(tmp_path, "lines.json", "\n".join(json.dumps(r) for r in RECORDS))
    assert len(arts) == 2


def test_csv_export_with_a_mapped_column_and_human_dates(tmp_path):
    csv_text = ('slug,headline,story,published,link\r\n'
                'budget,Budget approved,"The council approved it.\r\n\r\nIt was late.",March 2019,https://g.example/b\r\n'
                'parks,Parks get staff,"Four gardeners, and a tractor.",5 March 2019,\r\n')
    options = CollectionOptions(fields=(("text", ("story",)),))
    (a, b), _ = one(tmp_path, "export.csv", csv_text, options)
    assert (a.id, a.title, a.date, a.date_approximate) == ("budget", "Budget approved", "2019-03", True)
    assert a.text == "The council approved it.\r\n\r\nIt was late."
    assert (b.date, b.date_approximate, b.url, b.record) == ("2019-03-05", False, None, 2)
    with pytest.raises(FileError, match="has no text column"):  # without the mapping
        one(tmp_path, "export2.csv", csv_text)


def test_semicolon_csv_and_tsv(tmp_path):
    (a, _), _ = one(tmp_path, "semi.csv", 'title;text;date\nBudget;"The council approved it; late.";2019\n'
                                        "Parks;Four gardeners start, in May.;2020\n")
    assert a.text.startswith("The council approved it") and a.date == "2019"
    (b,), _ = one(tmp_path, "tabs.tsv", "title\ttext\nBudget\tTab separated body.\n")
    assert b.text == "Tab separated body."


def test_a_bad_record_is_skipped_the_others_are_read(tmp_path):
    lines = [json.dumps(RECORDS[0]), '{"title": "cut off', json.dumps({"title": "No body"}),
             json.dumps({"text": "x", "date": "someday"}), json.dumps({"text": "Fine text.", "title": ["a", "b"]}),
             json.dumps({"id": "ok", "text": "Another fine text."})]
    write(tmp_path, "export.jsonl", "\n".join(lines) + "\n")
    read = read_corpus(tmp_path)
    assert [a.id for a in read.articles] == ["budget-2019", "ok"]
    reasons = {s.rel: s.reason for s in read.skipped}
    assert set(reasons) == {"export.jsonl record 2", "export.jsonl record 3", "export.jsonl record 4",
                            "export.jsonl record 5"}
    assert "not valid JSON" in reasons["export.jsonl record 2"]
    assert "has no text" in reasons["export.jsonl record 3"] and "fields: {text:" in reasons["export.jsonl record 3"]
    assert "'someday' is not a date" in reasons["export.jsonl record 4"]
    assert "title is a list" in reasons["export.jsonl record 5"]


def test_questions_files_are_not_exports(tmp_path):
    write(tmp_path, "good.md", GOOD)
    question = {"id": "q1", "question": "Who won?", "expected": ["x"], "articles": ["a"]}
    write(tmp_path, "questions.jsonl", json.dumps(question) + "\n")  # by name: left alone
    write(tmp_path, "more-questions.jsonl", json.dumps(question) + "\n")  # by content: skipped, said why
    read = read_corpus(tmp_path)
    assert [a.id for a in read.articles] == ["good"]
    assert [s.rel for s in read.skipped] == ["more-questions.jsonl"]
    assert "test questions" in read.skipped[0].reason


def test_exports_that_are_not_exports(tmp_path):
    write(tmp_path, "good.md", GOOD)
    write(tmp_path, "deep.json", "[" * 100_000 + "]" * 100_000)
    write(tmp_path, "page.json", "<!DOCTYPE html><html><body>Not found</body></html>")
    write(tmp_path, "broken.json", '{"articles": [}')
    write(tmp_path, "scalar.json", "42")
    write(tmp_path, "binary.jsonl", bytes(range(256)) * 2)
    write(tmp_path, "notext.jsonl", "\n".join(json.dumps({"title": f"t{i}"}) for i in range(3)))
    read = read_corpus(tmp_path)
    reasons = {s.rel: s.reason for s in read.skipped}
    assert "nested too deeply" in reasons["deep.json"]
    assert "is an HTML page" in reasons["page.json"]
    assert "not valid JSON (line 1" in reasons["broken.json"]
    assert "no list of records" in reasons["scalar.json"]
    assert "binary" in reasons["binary.jsonl"]
    assert "no record has a text field" in reasons["notext.jsonl"]  # one line for the file, not one per record


# ------------------------------------------------------------------ duplicates and ids
def test_the_same_text_twice_is_one_article_noted(tmp_path):
    write(tmp_path, "a.md", GOOD)
    write(tmp_path, "b.md", GOOD.replace("A title", "Another title"))
    read = read_corpus(tmp_path)
    assert [a.id for a in read.articles] == ["a"]
    assert any("b.md: the same article as a.md" in n for n in read.notices)


def test_the_same_article_as_page_jsonl_and_csv_is_indexed_once(tmp_path):
    text = ("The council approved its budget for the coming year on Tuesday evening after a long debate. "
            "Councillors voted by a large majority for the plan, which raises spending on libraries and parks.")
    write(tmp_path, "budget.html", "<html><head><title>Budget</title>"
                                   '<link rel="canonical" href="https://gazette.example/news/budget/"></head>'
                                   f"<body><nav><a href='/'>Home</a></nav><article><p>{text}</p></article></body></html>")
    write(tmp_path, "export.jsonl", json.dumps({"id": "budget", "title": "Budget", "text": text + " Updated.",
                                                "url": "http://www.gazette.example/news/budget?utm_source=x"}) + "\n")
    write(tmp_path, "export.csv", f'id,title,text\nbudget-copy,Budget,"{text}"\n')
    read = read_corpus(tmp_path)
    assert len(read.articles) == 1
    (a,) = read.articles
    assert a.file_type in ("jsonl", "csv")  # an export's own text before a page's extraction
    assert len(read.notices) == 1 and "indexed once" in read.notices[0]


def test_a_shared_home_page_canonical_does_not_merge_different_stories(tmp_path):
    for name, words in (("a.html", "budget libraries parks councillors debate"),
                        ("b.html", "football match stadium goals supporters")):
        write(tmp_path, name, '<html><head><link rel="canonical" href="https://gazette.example/"></head><body>'
                              f"<article><p>{(' '.join([words] * 8))}.</p></article></body></html>")
    assert len(read_corpus(tmp_path).articles) == 2


def test_two_different_articles_with_one_id(tmp_path):
    write(tmp_path, "a.md", GOOD)
    write(tmp_path, "b.md", "---\nid: a\ntitle: Other\n---\nCompletely different words in this body here.\n")
    read = read_corpus(tmp_path)
    assert [a.path for a in read.articles] == ["a.md"]
    (s,) = read.skipped
    assert s.rel == "b.md" and "id 'a' is already used by a.md" in s.reason and "rename" in s.reason


# ------------------------------------------------------------------ big articles
def test_max_chars_cuts_at_a_boundary_with_a_notice(tmp_path):
    body = "".join(f"Paragraph {i} has a few words in it.\n\n" for i in range(400))
    (a,), notices = one(tmp_path, "big.txt", "Headline\n\n" + body, CollectionOptions(max_chars=5_000))
    assert len(a.text) <= 5_000 and a.text.endswith("in it.")
    assert ("Headline\n\n" + body).startswith(a.text)  # a prefix: offsets stay exact
    assert any("big.txt: cut to its first" in n and "max_chars" in n for n in notices)
    (b,), _ = one(tmp_path, "big2.txt", "Headline\n\n" + body, CollectionOptions(max_chars=6_000))
    assert a.sha256 != b.sha256  # the cut depends on max_chars, so the index must see it change


def test_a_huge_text_file_is_read_in_bounded_memory(tmp_path):
    path = tmp_path / "huge.txt"
    with path.open("w") as f:
        f.write("Headline\n\n")
        for _ in range(20_000):
            f.write("A line of an enormous article that goes on and on. " * 10 + "\n")
    (a,), notices = one(tmp_path, "huge.txt", path.read_bytes(), CollectionOptions(max_chars=10_000))
    assert len(a.text) <= 10_000 and "characters (the file is 10.2 MB)" in notices[0]


def test_a_file_over_max_file_mb_is_skipped(tmp_path):
    write(tmp_path, "good.md", GOOD)
    write(tmp_path, "big.html", "<html><body><p>" + "x " * 700_000 + "</p></body></html>")
    write(tmp_path, "collection.yaml", "max_file_mb: 1\n")
    assert "over the 1 MB limit" in skip_reason(tmp_path, "big.html")


# ------------------------------------------------------------------ collection.yaml
def test_collection_yaml_settings_are_validated(tmp_path):
    write(tmp_path, "collection.yaml", "title: My news\nexamples:\n  - Who won?\nmax_chars: lots\n"
                                       "fields: {text: story, body_html: x}\ncolour: blue\n")
    c = read_collection(tmp_path)
    assert c.title == "My news" and c.examples == ("Who won?",)
    assert c.options.max_chars == 500_000 and c.options.keys("text") == ("story",)
    messages = " ".join(m for _, m in c.problems)
    assert "max_chars 'lots' is not a whole number" in messages
    assert "fields.body_html is not an article field" in messages and "unknown setting colour" in messages
    write(tmp_path, "good.md", GOOD)
    assert any(s.rel == "collection.yaml" for s in read_corpus(tmp_path).skipped)


def test_examples_as_one_string_are_refused_for_the_chat(tmp_path):
    write(tmp_path, "collection.yaml", 'title: My news\nexamples: "Who won the election?"\n')
    with pytest.raises(Exception, match="examples must be a list of questions") as exc:
        chat_settings(tmp_path)
    assert "collection.yaml" in str(exc.value)
    from qa.cli import collection_info

    write(tmp_path, "collection.yaml", "title: My news\nexamples:\n  - Who won?\n  - When?\n")
    assert collection_info(tmp_path) == {"title": "My news", "examples": ["Who won?", "When?"]}
    write(tmp_path, "collection.yaml", "title: [a\n")
    with pytest.raises(Exception, match="not valid YAML"):
        collection_info(tmp_path)


def test_the_real_corpus_reads_as_before(articles):
    """Today's five ids, bodies and hashes: existing indexes stay valid."""
    import hashlib

    root = Path(__file__).resolve().parents[1] / "corpus"
    assert len(articles) == 5
    for a in articles.values():
        raw = (root / f"{a.id}.md").read_bytes()
        assert a.sha256 == hashlib.sha256(raw).hexdigest() and a.path == f"{a.id}.md"
        assert a.text in raw.decode("utf-8") and a.date_approximate and a.date_origin == "front matter"
    assert not read_corpus(root).skipped  # questions.jsonl and collection.yaml are not articles


def test_skipped_prints_as_one_line():
    assert str(Skipped("a.md", "is empty: add text")) == "a.md: is empty: add text"


def test_drop_removes_a_sites_furniture_box(tmp_path):
    box = '<div class="press-contact"><h2>Media enquiries</h2><p>Call the press office on 01000 000000.</p></div>'
    page = PAGE.format(ld="").replace("</article>", box + "</article>")
    (a,), _ = one(tmp_path, "a.html", page)
    assert "press office" in a.text  # kept by the extractor: it sits inside <article>
    options = read_collection(tmp_path).options
    write(tmp_path, "collection.yaml", "drop:\n  - '//div[contains(@class, \"press-contact\")]'\n")
    options = read_collection(tmp_path).options
    assert options.drop == ('//div[contains(@class, "press-contact")]',)
    (b,), _ = one(tmp_path, "b.html", page, options)
    assert "press office" not in b.text and "The council approved its budget" in b.text
    assert a.sha256 != b.sha256  # the index sees the change
    write(tmp_path, "collection.yaml", "drop: ['//div[']\n")
    assert "is not an XPath expression" in read_collection(tmp_path).problems[0][1]


def test_yaml_aliases_nesting_exponentially_give_a_short_message(tmp_path):
    bomb = "---\na: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)) + "title: *i\n---\nBody.\n"
    with pytest.raises(FileError) as exc:
        one(tmp_path, "bomb.md", bomb)
    assert "front matter uses a YAML alias" in str(exc.value) and len(str(exc.value)) < 300  # refused before expansion


def test_exports_saved_by_spreadsheets_and_windows_tools(tmp_path):
    rows = "id,title,text\r\nbudget,Budget,Caf\u00e9 owners welcomed the budget.\r\n"
    (a,), _ = one(tmp_path, "excel.csv", codecs.BOM_UTF8 + rows.encode())  # "CSV UTF-8" starts with a mark
    assert (a.id, a.text) == ("budget", "Café owners welcomed the budget.")
    (b,), _ = one(tmp_path, "unicode.csv", codecs.BOM_UTF16_LE + rows.replace("budget,", "b2,", 1).encode("utf-16-le"))
    assert b.id == "b2" and b.text == a.text
    line = json.dumps({"id": "j", "text": "Caf\u00e9 text."}, ensure_ascii=False) + "\r\n"
    (c, d), _ = one(tmp_path, "win.jsonl", codecs.BOM_UTF16_LE + (line * 2).replace('"j"', '"k"', 1).encode("utf-16-le"))
    assert (c.id, d.id, c.text) == ("k", "j", "Café text.")


def test_the_duplicate_check_does_not_hold_a_second_copy_of_the_corpus():
    """Folding copies keeps a hash per article, not its normalised text and words (which took ~10x the
    text at 10,000 articles): the check's peak allocation stays well under the corpus text's size."""
    import random
    import tracemalloc

    from qa.readers.dedupe import resolve
    from qa.types import Article

    rng = random.Random(0)
    vocab = [f"word{i}" for i in range(5000)]
    articles = [Article(id=f"a{i}", title=f"T{i}", date=None, source=None, url=f"https://example.org/{i}",
                        text=" ".join(rng.choice(vocab) for _ in range(300)) + ".", sha256=str(i), path=f"a{i}.md")
                for i in range(2000)]
    text_bytes = sum(len(a.text) for a in articles)
    tracemalloc.start()
    try:
        kept, notices, skipped = resolve(articles)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(kept) == 2000 and not notices and not skipped
    assert peak < 0.5 * text_bytes, (peak, text_bytes)
