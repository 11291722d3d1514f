"""Article page and chat rendering: pure functions, no model, no server, no gradio."""

from __future__ import annotations

import re
from types import SimpleNamespace
from html.parser import HTMLParser

import pytest

from qa.web.article_page import (
    CONTENT_SECURITY_POLICY,
    MAX_SPANS,
    format_date,
    merge_spans,
    parse_spans,
    render_article_page,
    render_not_found,
    render_text,
    safe_url,
)
from qa.types import Article

TEXT = "First paragraph, one sentence.\n\nSecond paragraph <b>bold</b> & more.\nSame paragraph, next line.\n\n\nThird."
XSS = "<img src=x onerror=alert(1)>"


def make_article(**over) -> Article:
    fields = dict(id="a-1", title="A title", date="2024-01", source="The Paper", url=None, text=TEXT,
                  sha256="0" * 64, date_approximate=False, date_note=None)
    fields.update(over)
    return Article(**fields)


class Marks(HTMLParser):
    """Collects the text inside each <mark>, by the id of the mark that opens a span."""

    def __init__(self):
        super().__init__()
        self.depth = 0
        self.current = []
        self.marks: list[tuple[str | None, str]] = []
        self.tags: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "mark":
            self.depth += 1
            self.current = [dict(attrs).get("id"), ""]
        if tag == "script":
            self._in_script = True

    def handle_endtag(self, tag):
        if tag == "mark":
            self.depth -= 1
            self.marks.append(tuple(self.current))
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self.depth:
            self.current[1] += data
        if self._in_script:
            self.scripts.append(data)


def parse(page: str) -> Marks:
    p = Marks()
    p.feed(page)
    return p


# ------------------------------------------------------------------ parse_spans


def test_parse_spans_start_end_pairs_in_order():
    assert parse_spans({"start": ["0", "40"], "end": ["10", "50"]}, 100) == [(0, 10), (40, 50)]


def test_parse_spans_single_values_and_spans_param():
    assert parse_spans({"start": "5", "end": "9", "spans": "20-30,40-45"}, 100) == [(5, 9), (20, 30), (40, 45)]


def test_parse_spans_pairs_from_a_list_of_tuples():
    pairs = [("start", "1"), ("end", "3"), ("spans", "10-12"), ("spans", "14-16")]
    assert parse_spans(pairs, 100) == [(1, 3), (10, 12), (14, 16)]


def test_parse_spans_starlette_query_params():
    from starlette.datastructures import QueryParams

    qp = QueryParams("start=1&end=4&start=10&end=12&spans=20-22")
    assert parse_spans(qp, 50) == [(1, 4), (10, 12), (20, 22)]


@pytest.mark.parametrize("params", [
    {"start": "abc", "end": "10"},          # non-numeric
    {"start": "1.5", "end": "10"},          # not an integer
    {"start": "-1", "end": "10"},           # negative
    {"start": "10", "end": "5"},            # reversed
    {"start": "7", "end": "7"},             # empty
    {"start": "0", "end": "101"},           # past the end of the text
    {"start": "0", "end": "99999999999999999999999"},  # huge
    {"start": "0", "end": "1" * 5000},      # absurdly long number
    {"start": "1\x00", "end": "5"},         # NUL
    {"start": "\x00", "end": "\x00"},
    {"start": "١", "end": "٥"},             # non-ASCII digits
    {"start": "0x1", "end": "0x5"},
    {"start": "1e1", "end": "2e1"},
    {"start": "", "end": ""},
    {"start": "5"},                          # no end
    {"end": "5"},                            # no start
    {"spans": "10"},                         # no dash
    {"spans": "10-20-30"},
    {"spans": "-5-10"},                      # negative in spans=
    {"spans": "a-b,,-,"},
    {"spans": "30-20"},
    {"spans": "0-1000"},
])
def test_parse_spans_drops_bad_values_silently(params):
    assert parse_spans(params, 100) == []


@pytest.mark.parametrize("params", [None, 42, "start=1&end=2", object(), {"start": None, "end": None},
                                    {"start": [None], "end": [b"\xff"]}, [("start",)], {"spans": 7}])
def test_parse_spans_never_raises_on_strange_input(params):
    assert parse_spans(params, 100) == []


def test_parse_spans_keeps_the_good_among_bad():
    params = {"start": ["x", "2"], "end": ["5", "8"], "spans": "bad,10-12,-3-4,50-40"}
    # the pairs are matched by position: ("x", "5") is dropped, ("2", "8") kept
    assert parse_spans(params, 100) == [(2, 8), (10, 12)]


def test_parse_spans_merges_overlaps_but_not_neighbours():
    params = {"spans": "10-20,15-30,30-35,50-60,55-58"}
    assert parse_spans(params, 100) == [(10, 30), (30, 35), (50, 60)]


def test_parse_spans_without_length_only_checks_shape():
    assert parse_spans({"spans": "5-999999999"}) == [(5, 999999999)]


def test_parse_spans_caps_the_number_of_spans():
    many = ",".join(f"{i * 3}-{i * 3 + 1}" for i in range(500))
    assert len(parse_spans({"spans": many}, 10_000)) == MAX_SPANS


def test_merge_spans_ignores_non_integers():
    assert merge_spans([(1, 2), ("3", "4"), (5.0, 6.0), (True, 9), None, (7,)], 100) == [(1, 2)]


# ------------------------------------------------------------------ the page


def test_page_escapes_everything_from_the_article():
    article = make_article(title=f"T {XSS}", source=f"S {XSS}", text=f"Body {XSS} end.\n\nMore <script>x()</script>",
                           date_note=f"N {XSS}", date_approximate=True, url=f'https://e.x/?q="><script>alert(1)</script>')
    page = render_article_page(article, [(0, 4)])
    assert "<img" not in page
    assert "<script>x()" not in page and "<script>alert" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    parsed = parse(page)
    assert "img" not in parsed.tags
    # the only script is the page's own scroll-into-view one
    assert len([t for t in parsed.tags if t == "script"]) == 1
    assert "scrollIntoView" in "".join(parsed.scripts)


def test_page_marks_one_span_with_the_cite_id():
    article = make_article()
    start = TEXT.index("Second")
    end = TEXT.index(" paragraph <b>")
    parsed = parse(render_article_page(article, [(start, end)]))
    assert parsed.marks == [("cite", "Second")]


def test_page_marks_several_spans_with_numbered_ids():
    article = make_article()
    spans = [(0, 5), (TEXT.index("Third"), TEXT.index("Third") + 5), (TEXT.index("Same"), TEXT.index("Same") + 4)]
    page = render_article_page(article, spans)
    parsed = parse(page)
    assert parsed.marks == [("cite", "First"), ("cite-2", "Same"), ("cite-3", "Third")]
    assert 'href="#cite-2"' in page and "3 cited passages highlighted" in page


def test_marked_text_equals_the_article_text_at_the_offsets():
    article = make_article()
    start, end = TEXT.index("<b>"), TEXT.index(" & more") + len(" & more")
    parsed = parse(render_article_page(article, [(start, end)]))
    assert parsed.marks == [("cite", TEXT[start:end])]


def test_span_across_paragraphs_is_marked_in_each_with_one_id():
    article = make_article()
    start, end = TEXT.index("sentence"), TEXT.index("paragraph <b>")
    page = render_article_page(article, [(start, end)])
    parsed = parse(page)
    assert [m[0] for m in parsed.marks] == ["cite", None]
    assert parsed.marks[0][1] == "sentence."
    assert parsed.marks[1][1] == "Second "
    assert page.count('id="cite"') == 1


def test_paragraphs_and_line_breaks_are_preserved():
    html_text, _ = render_text(TEXT, [])
    assert html_text.count("<p>") == 3
    assert "bold&lt;/b&gt; &amp; more.<br>Same paragraph" in html_text


def test_invalid_spans_are_ignored_by_the_page():
    article = make_article()
    page = render_article_page(article, [(-1, 3), (5, 2), (0, len(TEXT) + 1), (3, 3)])
    assert "<mark" not in page
    assert "<script>" not in page  # nothing to scroll to
    assert "highlighted" not in page


def test_page_without_spans_shows_the_whole_text():
    page = render_article_page(make_article(), [])
    assert "First paragraph" in page and "Third." in page and "<mark" not in page


def test_page_header_date_source_and_link():
    page = render_article_page(make_article(url="https://example.org/story", date_approximate=True,
                                            date_note="Inferred from the text."), [])
    assert "approx. January 2024" in page
    assert "The Paper" in page
    assert 'href="https://example.org/story"' in page and 'rel="noopener noreferrer"' in page
    assert "Inferred from the text." in page


def test_page_has_no_link_for_unknown_or_unsafe_urls():
    assert "Original article" not in render_article_page(make_article(url=None), [])
    for url in ["javascript:alert(1)", "data:text/html,x", " JAVASCRIPT:alert(1)", "//evil.example", "ftp://x"]:
        page = render_article_page(make_article(url=url), [])
        assert "Original article" not in page, url
        assert "javascript:" not in page.lower()


def test_page_is_self_contained():
    page = render_article_page(make_article(url="https://example.org/a"), [(0, 5)])
    # the only absolute address is the article's own link: no fonts, scripts or styles fetched
    assert re.findall(r"https?://[^\"'\s)<]+", page) == ["https://example.org/a"]
    assert "<link" not in page and "@import" not in page and "src=" not in page
    assert '<meta name="viewport"' in page


def test_csp_allows_only_the_inline_scroll_script():
    assert "default-src 'none'" in CONTENT_SECURITY_POLICY
    assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY.split("script-src", 1)[1].split(";")[0]
    import base64
    import hashlib

    script = "".join(parse(render_article_page(make_article(), [(0, 5)])).scripts)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in CONTENT_SECURITY_POLICY


def test_not_found_escapes_the_id():
    page = render_not_found(f"../../etc/passwd{XSS}\x00")
    assert "<img" not in page
    assert "../../etc/passwd&lt;img" in page
    assert "Article not found" in page


def test_not_found_truncates_huge_ids():
    page = render_not_found("x" * 100_000)
    assert len(page) < 20_000


@pytest.mark.parametrize("date, approx, shown", [
    ("2024", False, "2024"), ("2024-01", False, "January 2024"), ("2024-01-05", True, "approx. 5 January 2024"),
    (None, False, "date unknown"), ("2024-13", False, "2024"), ("spring 2020", False, "spring 2020"),
])
def test_format_date(date, approx, shown):
    assert format_date(date, approx) == shown


def test_safe_url():
    assert safe_url("https://a.example/x?y=1") == "https://a.example/x?y=1"
    assert safe_url("http://a.example") == "http://a.example"
    assert safe_url("javascript:alert(1)") is None
    assert safe_url("https://a.example/\x00") is None
    assert safe_url(None) is None


# ------------------------------------------------------------------ chat rendering (qa.web.render, no gradio)


def answer_dict(**over):
    d = {
        "question": "q", "answer": "Quote one.", "abstained": False, "message": "", "confidence": 0.8,
        "dated": False, "query": "q", "notices": [],
        "citations": [{
            "number": 1, "article_id": "a-1", "title": "A title", "date": "2024-01", "date_approximate": True,
            "source": "The Paper", "url": None, "start": 10, "end": 20, "quote": "Quote one.",
            "chunk_id": "a-1#0", "score": 0.81234, "short_answer": {"kind": "rating", "start": 16, "end": 19, "text": "one"},
        }],
        "passages": [
            {"rank": 1, "article_id": "a-1", "chunk_id": "a-1#0", "title": "A title", "date": "2024-01",
             "score": 0.7, "scores": {"dense": 0.61, "lexical": 0.9, "date": 0.05},
             "start": 0, "end": 40, "text": "0123456789Quote one.0123456789012345678"},
            {"rank": 2, "article_id": "a-1", "chunk_id": "a-1#1", "title": "A title", "date": "2024-01",
             "score": 0.5, "scores": {"dense": 0.5, "lexical": 0.2, "date": 0.0},
             "start": 40, "end": 60, "text": "Another passage here"},
        ],
    }
    d.update(over)
    return d


def test_answer_html_shows_quote_marker_sources_scores_and_link():
    from qa.web.render import answer_html

    out = answer_html(answer_dict(), anchor="m3")
    assert "Quote <strong>one</strong>.<a class=\"qa-ref\"" in out
    assert 'href="#m3-1"' in out and 'id="m3-1"' in out and "[1]" in out
    assert "<mark>Quote one.</mark>" in out
    assert "approx. January 2024" in out and "The Paper" in out
    assert "score 0.812" in out and "dense 0.610" in out and "lexical 0.900" in out and "date 0.050" in out
    assert 'href="/articles/a-1?start=10&amp;end=20#cite"' in out and "Open in article" in out
    assert "Other passages searched (1)" in out
    assert "\n\n" not in out


def test_answer_html_says_newest_first_when_dated():
    from qa.web.render import answer_html

    assert "newest first" in answer_html(answer_dict(dated=True))
    assert "newest first" not in answer_html(answer_dict())


def test_answer_html_abstention_lists_closest_passages():
    from qa.web.render import answer_html

    out = answer_html(answer_dict(abstained=True, answer="", citations=[],
                                  message="I couldn't find this in the articles."))
    assert "I couldn&#x27;t find this in the articles." in out
    assert out.count("closest, not an answer") == 2
    assert "Open in article" in out and "?start=0&amp;end=40#cite" in out


def test_answer_html_shows_notices():
    from qa.web.render import answer_html

    assert "question was cut" in answer_html(answer_dict(notices=["The question was cut to 2000 characters."]))


def test_answer_html_escapes_article_and_engine_text():
    from qa.web.render import answer_html

    bad = answer_dict(notices=[XSS])
    bad["citations"][0].update(title=XSS, quote=XSS, source=XSS, article_id='x"><script>', short_answer=None)
    bad["passages"][0].update(text=f"0123456789{XSS}", title=XSS)
    bad["passages"][1].update(text=XSS, title=XSS)
    out = answer_html(bad)
    assert "<img" not in out and "<script" not in out
    assert "&lt;img src=x onerror=alert(1)&gt;" in out
    assert "/articles/x%22%3E%3Cscript%3E?" in out


def test_user_message_is_literal_text():
    from qa.web.render import user_message_html

    assert user_message_html(XSS) == "&lt;img src=x onerror=alert(1)&gt;"
    assert user_message_html("What's **this** [x](javascript:alert(1))?") == (
        "What's \\*\\*this\\*\\* \\[x\\](javascript:alert(1))?")
    assert user_message_html("1. first\n\n# second") == "1\\. first  \\# second"


def test_checked_text_refuses_unpaired_surrogates():
    from qa.errors import UsageError
    from qa.web.escape import checked_text

    assert checked_text("café ✓") == "café ✓"
    with pytest.raises(UsageError, match="unpaired surrogate"):
        checked_text("caf\ud800?")


def test_default_examples_and_summary_come_from_the_articles():
    from qa.web.catalog import Catalog, collection_summary
    from qa.web.render import default_examples

    arts = {a.id: a for a in [make_article(id="x", title="Old", date="2010", date_approximate=True),
                              make_article(id="y", title="New", date="2024-12")]}
    index = SimpleNamespace(path=None, manifest={}, entries=lambda: tuple(arts.values()))
    newest = Catalog(SimpleNamespace(articles=arts, index=index)).page(limit=3).articles
    assert default_examples(newest) == ["What does “New” report?", "What does “Old” report?"]
    assert collection_summary(list(arts.values())) == "2 articles · approx. 2010 – December 2024"
    assert collection_summary([]) == "0 articles"


def test_app_module_does_not_import_gradio():
    import subprocess
    import sys

    code = "import sys, qa.web.render, qa.web.article_page, qa.web.limits, qa.web.gate, qa.web.middleware, qa.web.catalog, qa.web.escape, qa.web.hosts, qa.web.uploads, qa.web.gradio_routes, qa.web.api; print('gradio' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
