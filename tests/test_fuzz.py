"""Property tests on untrusted input: questions to the engine, lines to `qa ask --json`, and
requests to the article route (the ASGI app in-process, no server). Bounded: 40 examples each."""

from __future__ import annotations

import asyncio
import html
import io
import json
import re
import sys
from urllib.parse import quote, unquote, urlencode

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from qa.cli import main
from qa.errors import UsageError
from qa.pipeline import MAX_QUESTION_CHARS
from qa.text import clean_question

pytestmark = pytest.mark.model

FUZZ = hsettings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])

ANSWER_KEYS = {"question", "answer", "abstained", "message", "confidence", "dated", "query", "notices", "filter",
               "citations", "passages"}
CITATION_KEYS = {"number", "article_id", "title", "date", "date_approximate", "source", "url", "start", "end",
                 "quote", "chunk_id", "score", "short_answer"}
PASSAGE_KEYS = {"rank", "article_id", "chunk_id", "title", "date", "score", "scores", "start", "end", "text"}

# ------------------------------------------------------------------ strategies

NO_SURROGATES = st.characters(exclude_categories=("Cs",))
REAL = st.sampled_from([
    "How did Ofsted rate Havering's child protection services in 2012?",
    "What is the current Ofsted rating?",
    "Who inspected the contact, referral and assessment arrangements?",
    "What is the capital of France?",
])
RTL = st.sampled_from([
    "ما هو تقييم أوفستد لخدمات الأطفال في هافرينغ؟",
    "מה הדירוג של אופסטד?",
    "\u202eevil\u202c Ofsted",
    "\u200fOfsted\u200f rating\u061c?",
    "\u2067Havering\u2069 \u2066rated\u2069",
])
EMOJI = st.lists(st.sampled_from(["😀", "👍🏽", "🇬🇧", "👨\u200d👩\u200d👧", "❤️", "\ufe0f", "🧒"]),
                 min_size=1, max_size=40).map("".join)
COMBINING = st.builds(lambda base, marks: "".join(c + marks for c in base),
                      st.text(alphabet="Ofsted Havering", min_size=1, max_size=20),
                      st.text(alphabet=st.characters(categories=("Mn", "Me")), min_size=1, max_size=30))
MARKUP = st.sampled_from([
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "**bold** [link](javascript:alert(1))",
    "{{7*7}}", "${jndi:ldap://example.com/a}", "'; DROP TABLE articles; --", "</textarea><svg onload=alert(1)>",
    "&lt;b&gt; &amp;", "<!-- -->", "```\ncode\n```", "| a | b |\n|---|---|", "\\u0000", "%00%0d%0a",
])
CONTROL = st.text(alphabet=st.characters(categories=("Cc", "Cf", "Zl", "Zp", "Zs")), max_size=60)
ANY = st.text(alphabet=NO_SURROGATES, max_size=400)
LONG = st.builds(lambda piece, n: (piece * (n // len(piece) + 1))[:n],
                 st.text(alphabet=NO_SURROGATES, min_size=1, max_size=30), st.integers(1_000, 100_000))
PIECE = st.one_of(REAL, RTL, EMOJI, COMBINING, MARKUP, CONTROL, ANY)
QUESTION = st.one_of(
    st.just(""), CONTROL, ANY, LONG, RTL, EMOJI, COMBINING, MARKUP,
    st.lists(PIECE, min_size=1, max_size=5).map(" ".join),
)
HISTORY = st.lists(
    st.fixed_dictionaries({"role": st.sampled_from(["user", "assistant"]), "content": st.one_of(REAL, ANY, MARKUP)}),
    max_size=4,
)


# ------------------------------------------------------------------ checks


def check_answer(answer, articles) -> dict:
    """The documented JSON shape, plain JSON, and every quote and passage an exact slice."""
    d = json.loads(json.dumps(answer.to_dict(), ensure_ascii=False))
    assert set(d) == ANSWER_KEYS
    assert isinstance(d["question"], str) and d["question"] and len(d["question"]) <= MAX_QUESTION_CHARS
    for c in d["citations"]:
        assert set(c) == CITATION_KEYS
        assert articles[c["article_id"]].text[c["start"]:c["end"]] == c["quote"]
        assert c["quote"] in d["answer"]
        short = c["short_answer"]
        if short is not None:
            assert c["start"] <= short["start"] < short["end"] <= c["end"]
            assert articles[c["article_id"]].text[short["start"]:short["end"]] == short["text"]
    for p in d["passages"]:
        assert set(p) == PASSAGE_KEYS
        assert articles[p["article_id"]].text[p["start"]:p["end"]] == p["text"]
    if d["abstained"]:
        assert d["citations"] == [] and d["answer"] == "" and d["message"]
    else:
        assert d["citations"] and d["answer"]
    return d


# ------------------------------------------------------------------ engine.ask


@FUZZ
@given(question=QUESTION, history=HISTORY)
def test_ask_answers_any_text_or_says_it_is_empty(engine, question, history):
    try:
        answer = engine.ask(question, history)
    except UsageError:
        # only for a question with nothing in it once control characters and spaces are gone
        assert clean_question(question) == ""
        return
    assert clean_question(question) != ""
    d = check_answer(answer, engine.articles)
    assert clean_question(question).startswith(d["question"])


@pytest.mark.parametrize("question", ["", " ", "   \n\t ", "\u3000", "\x00\x01\u200b\ufeff", "\u2028\u2029"])
def test_empty_or_blank_questions_are_usage_errors(engine, question):
    with pytest.raises(UsageError, match="empty"):
        engine.ask(question)


def test_the_longest_question_is_cut_with_a_notice(engine):
    question = "How did Ofsted rate Havering in 2012? " * 2700  # ~100,000 characters
    d = check_answer(engine.ask(question), engine.articles)
    assert len(d["question"]) < 2_000 and any("cut" in n for n in d["notices"])


# ------------------------------------------------------------------ qa ask --json (batch)


def stdin_of(text: str) -> io.TextIOWrapper:
    """What a real standard input is: bytes read with universal newlines."""
    return io.TextIOWrapper(io.BytesIO(text.encode("utf-8")), encoding="utf-8")


@hsettings(FUZZ, max_examples=12)
@given(lines=st.lists(st.one_of(st.just(""), st.just("   "), QUESTION.filter(lambda q: len(q) < 5_000)),
                      min_size=1, max_size=4))
def test_cli_batch_prints_one_json_line_per_question(settings, monkeypatch, capsys, lines):
    data = "\n".join(lines) + "\n"
    expected = [line.rstrip("\n") for line in stdin_of(data) if line.strip()]
    askable = [q for q in expected if clean_question(q)]
    capsys.readouterr()
    with monkeypatch.context() as m:
        m.setattr(sys, "stdin", stdin_of(data))
        code = main(["ask", "--json", "--corpus", str(settings.corpus_dir), "--index", str(settings.index_dir)])
    out, err = capsys.readouterr()
    assert code == 0
    assert "Traceback" not in err
    rows = [json.loads(line) for line in out.split("\n") if line]  # JSON lines end at "\n" only
    assert len(rows) == len(expected)  # one output line per non-blank input line
    for row, q in zip(rows, expected):
        if clean_question(q):
            assert set(row) == ANSWER_KEYS
            assert clean_question(q).startswith(row["question"])
        else:  # only control characters: reported, in its place, not answered
            assert set(row) == {"question", "error"} and row["question"] == q
    assert err.count("qa: error:") == len(expected) - len(askable)


# ------------------------------------------------------------------ article route


@pytest.fixture(scope="module")
def app(engine):
    from qa.web.server import build_app

    return build_app(engine, examples=[])


def request(app, raw_path: bytes, query: bytes = b"") -> tuple[int, str]:
    """GET through the ASGI app with the scope uvicorn builds: raw_path as sent, path %-decoded."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": unquote(raw_path.decode("ascii")), "raw_path": raw_path,
        "query_string": query, "root_path": "", "headers": [(b"host", b"127.0.0.1")],
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 7860),
    }
    sent: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, body.decode("utf-8", "replace")


def check_page(app, articles, raw_path: bytes, query: bytes = b"") -> int:
    status, page = request(app, raw_path, query)
    article_id = unquote(raw_path.decode("ascii"))[len("/articles/"):]
    assert status != 500 and "Traceback" not in page
    if article_id in articles:
        assert status == 200
        assert html.escape(articles[article_id].title) in page
        for marked in re.findall(r"<mark[^>]*>(.*?)</mark>", page, re.S):
            assert html.unescape(marked.replace("<br>", "\n")) in articles[article_id].text
    else:
        assert status == 404
        # Our 404 page, or the Guard's JSON 404 when the path cannot even match the route (a line break in it).
        assert ("Article not found" in page or json.loads(page)["error"].startswith("there is nothing at")) \
            and "root:" not in page
    return status


TRAVERSAL = st.lists(st.sampled_from(["..", ".", "/", "%2e", "%2E", "%2f", "%2F", "%5c", "%00", "%", "etc",
                                      "passwd", "%252e", "~", "corpus", "index", "CURRENT", "manifest.json"]),
                     max_size=12).map("".join)


@FUZZ
@given(article_id=st.one_of(st.text(alphabet=NO_SURROGATES, max_size=60), st.sampled_from(["\x00", "\x00x", "a/b"]),
                            st.text(min_size=3_000, max_size=6_000, alphabet="x/.")))
def test_article_route_serves_only_collection_ids(app, engine, article_id):
    check_page(app, engine.articles, ("/articles/" + quote(article_id, safe="")).encode("ascii"))


@FUZZ
@given(raw=TRAVERSAL)
def test_article_route_traversal_attempts_get_404(app, engine, raw):
    assert check_page(app, engine.articles, ("/articles/" + raw).encode("ascii")) == 404


OFFSET = st.one_of(
    st.integers(-10**30, 10**30).map(str), st.integers(0, 6_000).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str), st.text(alphabet=NO_SURROGATES, max_size=12),
    st.sampled_from(["", "0x10", "1e3", "+5", " 7", "٣", "00000000000000000000001"]),
)


@FUZZ
@given(pairs=st.lists(st.tuples(st.sampled_from(["start", "end", "spans", "start[]", "x"]), OFFSET), max_size=12),
       which=st.integers(0, 100))
def test_article_route_takes_any_offsets(app, engine, pairs, which):
    ids = sorted(engine.articles)
    article_id = ids[which % len(ids)]
    query = urlencode(pairs).encode("ascii")
    assert check_page(app, engine.articles, f"/articles/{article_id}".encode(), query) == 200


def test_article_route_known_id_with_every_citation_marked(app, engine):
    answer = engine.ask("How did Ofsted rate Havering's child protection services in 2012?")
    for c in answer.citations:
        status, page = request(app, f"/articles/{c.article_id}".encode(), f"start={c.start}&end={c.end}".encode())
        assert status == 200
        marked = re.search(r'<mark id="cite">(.*?)</mark>', page, re.S)
        assert marked and html.unescape(marked.group(1).replace("<br>", "\n")) == c.quote


# ------------------------------------------------------------------ request size


def test_request_bodies_over_the_limit_get_413(app):
    from fastapi.testclient import TestClient

    from qa.web.limits import MAX_REQUEST_BYTES

    client = TestClient(app, base_url="http://127.0.0.1")  # a Host the app serves
    big = b"x" * (MAX_REQUEST_BYTES + 1)
    r = client.post("/api/ask", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413

    def chunks():  # no Content-Length: counted as it arrives
        for _ in range(MAX_REQUEST_BYTES // 65536 + 2):
            yield b"x" * 65536

    r = client.post("/gradio_api/queue/join", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    r = client.post("/gradio_api/upload", files={"files": ("q.jsonl", b"x" * MAX_REQUEST_BYTES)})
    assert r.status_code == 413  # uploads too: a multipart body is the file and then some
    r = client.post("/api/ask", json={"question": "x" * 9_000, "history": [{"role": "user", "content": "y" * 9_000}]})
    assert r.status_code == 200  # a long question is within the limit


@pytest.mark.parametrize("value", ["0", "-1", "abc", "1.5", "17", "²"])
def test_bad_concurrency_setting_is_a_usage_error(engine, monkeypatch, value):
    from qa.web.server import build_app

    monkeypatch.setenv("QA_CONCURRENCY", value)
    with pytest.raises(UsageError, match="QA_CONCURRENCY"):
        build_app(engine, examples=[])


@pytest.mark.parametrize("value", ["0", "9", "abc", "1e3", "100001"])
def test_bad_sessions_setting_is_a_usage_error(engine, monkeypatch, value):
    from qa.web.server import build_app

    monkeypatch.setenv("QA_SESSIONS", value)
    with pytest.raises(UsageError, match="QA_SESSIONS"):
        build_app(engine, examples=[])


def test_sessions_setting_caps_what_gradio_keeps(engine, monkeypatch):
    from qa.web.server import build_app

    monkeypatch.setenv("QA_SESSIONS", "25")
    app = build_app(engine, examples=[])
    gradio_app = next(r.app for r in app.routes if hasattr(getattr(r, "app", None), "state_holder"))
    assert gradio_app.state_holder.capacity == 25  # what evicts the least recently used session
