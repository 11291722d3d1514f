"""The web chat end to end: `qa serve` in a subprocess, its JSON API, the article route, and
Chromium through Playwright. Screenshots go to artifacts/.

Needs Debian's Chromium (`sudo apt-get install chromium`); without it the browser tests skip,
unless QA_REQUIRE_BROWSER=1 (CI), where they fail.
"""

from __future__ import annotations

import html
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = [pytest.mark.model, pytest.mark.browser]

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
START_TIMEOUT_S = 300  # the first start builds the index with the model
ANSWER_TIMEOUT_MS = 60_000

QUESTION = "How did Ofsted rate Havering's child protection services in 2012?"
FOLLOW_UP = "What needed to change?"
XSS = "<img src=x onerror=alert(1)>"
ABSTAIN = "I couldn't find this in the articles."

ANSWER_KEYS = {"question", "answer", "abstained", "message", "confidence", "dated", "query", "notices", "filter",
               "citations", "passages"}
CITATION_KEYS = {"number", "article_id", "title", "date", "date_approximate", "source", "url", "start", "end",
                 "quote", "chunk_id", "score", "short_answer"}
PASSAGE_KEYS = {"rank", "article_id", "chunk_id", "title", "date", "score", "scores", "start", "end", "text"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def server(corpus_copy, tmp_path_factory):
    """`python -m qa serve` on a free port with a fresh index; yields its base URL."""
    port = free_port()
    index_dir = tmp_path_factory.mktemp("web-index")
    log_path = tmp_path_factory.mktemp("web-log") / "serve.log"
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False",
               PYTHONUNBUFFERED="1")
    cmd = [sys.executable, "-m", "qa", "serve", "--host", "127.0.0.1", "--port", str(port),
           "--corpus", str(corpus_copy), "--index", str(index_dir)]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT_S
    try:
        while True:
            if proc.poll() is not None:
                pytest.fail(f"qa serve exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(url + "/config", timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"qa serve not ready after {START_TIMEOUT_S} s:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class ApiClient:
    """POST /api/ask over plain HTTP, as a script would: the answer, or {"error": …} for a 4xx."""

    def __init__(self, server: str):
        self.host = server.split("//", 1)[1].rstrip("/")

    def predict(self, question, history, api_name: str = "/api/ask") -> dict:
        conn = http.client.HTTPConnection(self.host, timeout=120)
        try:
            conn.request("POST", api_name, body=json.dumps({"question": question, "history": history}),
                         headers={"Content-Type": "application/json"})
            response = conn.getresponse()
            body = json.loads(response.read())
        finally:
            conn.close()
        assert response.status == 200 or 400 <= response.status < 500, (response.status, body)
        return body


@pytest.fixture(scope="session")
def client(server):
    return ApiClient(server)


def get(server: str, raw_path: str) -> tuple[int, dict[str, str], str]:
    """GET exactly this path: no client-side normalising of "..", no decoding of %2e."""
    host, port = server.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.request("GET", raw_path)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read().decode("utf-8", "replace")
    finally:
        conn.close()


def marked_text(page: str, mark_id: str = "cite") -> str:
    match = re.search(rf'<mark id="{mark_id}">(.*?)</mark>', page, re.S)
    assert match, f"no <mark id={mark_id}> in the page"
    return html.unescape(match.group(1).replace("<br>", "\n"))


# ------------------------------------------------------------------ JSON API


def test_api_answer_has_the_documented_shape_and_exact_quotes(client, server, articles):
    result = client.predict(QUESTION, [])
    assert set(result) == ANSWER_KEYS
    assert result["question"] == QUESTION
    assert result["abstained"] is False and result["message"] == ""
    assert "adequate" in result["answer"]
    assert result["citations"] and result["passages"]
    for c in result["citations"]:
        assert set(c) == CITATION_KEYS
        assert articles[c["article_id"]].text[c["start"]:c["end"]] == c["quote"]
        assert c["short_answer"] is None or set(c["short_answer"]) == {"kind", "start", "end", "text"}
        status, headers, page = get(server, f"/articles/{c['article_id']}?start={c['start']}&end={c['end']}")
        assert status == 200
        assert marked_text(page) == c["quote"]
    for p in result["passages"]:
        assert set(p) == PASSAGE_KEYS and set(p["scores"]) == {"dense", "sentence", "lexical", "date"}
        assert articles[p["article_id"]].text[p["start"]:p["end"]] == p["text"]
    assert [c["number"] for c in result["citations"]] == list(range(1, len(result["citations"]) + 1))
    json.dumps(result)  # plain JSON all the way down


def test_api_takes_history_for_a_follow_up(client):
    first = client.predict(QUESTION, [])
    history = [{"role": "user", "content": QUESTION}, {"role": "assistant", "content": first["answer"]}]
    follow = client.predict(FOLLOW_UP, history)
    assert set(follow) == ANSWER_KEYS
    assert QUESTION in follow["query"]  # the follow-up was searched with its context


def test_programs_use_the_json_api_and_gradio_offers_no_api_of_its_own(server, client):
    """One ask API: Gradio's /ask endpoint (the curl two-step, gradio_client) is gone; the page links
    /api/docs."""
    host = server.split("//", 1)[1].rstrip("/")
    conn = http.client.HTTPConnection(host, timeout=60)
    for path in ["/gradio_api/call/ask", "/gradio_api/call/v2/ask", "/gradio_api/run/ask", "/gradio_api/call/answer"]:
        conn.request("POST", path, body=json.dumps({"data": [QUESTION, []]}), headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        assert response.status == 404 and "/api/" in json.loads(response.read())["error"], path
    conn.request("GET", "/gradio_api/info")
    info = json.loads(conn.getresponse().read())
    conn.close()
    assert not info.get("named_endpoints") and not info.get("unnamed_endpoints")
    assert client.predict(QUESTION, [])["citations"]


def test_api_empty_question_is_an_error_not_a_search(client):
    for question in ["", "   \n\t "]:
        result = client.predict(question, [])
        assert set(result) == {"error"}
        assert result["error"]


def test_api_bad_history_is_an_error(client):
    result = client.predict(QUESTION, "not json")
    assert set(result) == {"error"} and "history" in result["error"]


def test_api_abstains_clearly(client):
    result = client.predict("What is the capital of France?", [])
    assert result["abstained"] is True
    assert result["message"] == ABSTAIN
    assert result["citations"] == [] and result["answer"] == ""


# ------------------------------------------------------------------ article route


def test_article_route_serves_known_articles_with_a_strict_csp(server, articles):
    article_id = sorted(articles)[0]
    status, headers, page = get(server, f"/articles/{article_id}")
    assert status == 200
    assert "default-src 'none'" in headers["content-security-policy"]
    assert html.escape(articles[article_id].title) in page
    assert "<mark" not in page


@pytest.mark.parametrize("path", [
    "/articles/no-such-article",
    "/articles/../../etc/passwd",
    "/articles/..%2F..%2Fetc%2Fpasswd",
    "/articles/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/articles/%2e%2e/%2e%2e/etc/passwd",
    "/articles/..%5c..%5cetc%5cpasswd",
    "/articles/",
    "/articles/%00",
    "/articles/" + "x" * 5000,
])
def test_article_route_404s_for_anything_not_in_the_collection(server, path):
    status, _, page = get(server, path)
    assert status == 404
    assert "root:" not in page


def test_article_route_escapes_the_unknown_id(server):
    status, _, page = get(server, "/articles/%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E")
    assert status == 404
    assert "<img" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page


def test_article_route_survives_malformed_spans(server, articles):
    article_id = sorted(articles)[0]
    for query in ["start=-5&end=3", "start=9&end=2", "start=abc&end=def", "start=0&end=999999999999999999999",
                  "spans=1-2-3,a-b,-1-5", "start=%00&end=5", "start=1&start=2&end=3"]:
        status, _, page = get(server, f"/articles/{article_id}?{query}")
        assert status == 200, query


# ------------------------------------------------------------------ browser



class Watch:
    """Records dialogs (an alert means injected script ran) and requests leaving the server."""

    def __init__(self, page, server: str):
        self.dialogs: list[str] = []
        self.outside: list[str] = []
        page.on("dialog", self._dialog)
        page.on("request", lambda r: self._request(r.url, server))

    def _dialog(self, dialog):
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _request(self, url: str, server: str):
        if not url.startswith((server, "data:", "blob:", "about:")):
            self.outside.append(url)


def ask(page, question: str, answers_before: int) -> None:
    page.fill("#qa-question textarea", question)
    page.keyboard.press("Enter")
    page.locator("#qa-chat .qa-answer").nth(answers_before).wait_for(timeout=ANSWER_TIMEOUT_MS)


def save(page, name: str, full_page: bool = False) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=full_page)


def test_chat_flow_in_the_browser(browser, server, client, articles):
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    watch = Watch(page, server)
    page.goto(server + "/", wait_until="load")
    page.locator("#qa-question textarea").wait_for()
    header = page.locator("#qa-header").inner_text()
    assert f"{len(articles)} articles" in header
    save(page, "chat-empty-desktop.png")

    # an empty question is not sent
    page.fill("#qa-question textarea", "   ")
    page.keyboard.press("Enter")
    page.wait_for_timeout(1000)
    assert page.locator("#qa-chat .message-row").count() == 0

    # a question whose answer is in the corpus: quote, marker, source card
    ask(page, QUESTION, 0)
    answer = page.locator("#qa-chat .qa-answer").nth(0)
    expected = client.predict(QUESTION, [])
    first = expected["citations"][0]
    quote = answer.locator(".qa-quote").first
    assert first["quote"] in quote.inner_text()
    assert "[1]" in quote.inner_text()
    card = answer.locator(".qa-card").first
    assert articles[first["article_id"]].title in card.inner_text()
    assert "dense" in card.inner_text() and "lexical" in card.inner_text()
    assert first["quote"] in card.locator(".qa-passage mark").inner_text()
    page.wait_for_timeout(600)  # the smooth scroll to the answer
    save(page, "chat-desktop.png")

    # open in article: a new tab with the quote highlighted and scrolled into view
    with context.expect_page() as new_tab:
        card.get_by_text("Open in article").click()
    article_page = new_tab.value
    Watch(article_page, server)
    article_page.wait_for_load_state("load")
    assert article_page.url.endswith("#cite")
    mark = article_page.locator("mark#cite")
    mark.wait_for()
    assert mark.inner_text().replace("\n", " ").strip() == " ".join(first["quote"].split())
    assert mark.is_visible() and mark.evaluate(
        "m => { const r = m.getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight; }")
    save(article_page, "article-desktop.png")
    article_page.close()

    # a follow-up in the same session is asked with the conversation so far
    ask(page, FOLLOW_UP, 1)
    history = [{"role": "user", "content": QUESTION}, {"role": "assistant", "content": expected["answer"]}]
    with_history = client.predict(FOLLOW_UP, history)
    follow = page.locator("#qa-chat .qa-answer").nth(1)
    if with_history["abstained"]:
        assert ABSTAIN in follow.inner_text()
    else:
        assert with_history["citations"][0]["quote"] in follow.locator(".qa-quote").first.inner_text()

    # markup in a question is shown as text and runs nothing
    ask(page, XSS, 2)
    page.get_by_text(XSS, exact=True).wait_for()
    assert page.locator("#qa-chat img[src='x']").count() == 0
    page.wait_for_timeout(500)
    assert watch.dialogs == []
    save(page, "chat-xss-desktop.png")

    # clear chat empties the conversation
    page.locator("#qa-clear").click()
    page.locator("#qa-chat .qa-answer").first.wait_for(state="detached")
    assert watch.outside == [], "the page fetched something from another host"
    context.close()


def test_a_long_chat_keeps_every_request_small(browser, server):
    """The chat used to send its whole log with each question (~6 KB more per answer, until the
    1 MiB limit turned the chat into a blank 'Error'); now each request carries the question only."""
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    sizes: list[int] = []
    page.on("request", lambda r: sizes.append(len(r.post_data or ""))
            if r.method == "POST" and "/gradio_api/" in r.url else None)
    page.goto(server + "/", wait_until="load")
    page.locator("#qa-question textarea").wait_for()
    for n, q in enumerate([QUESTION, FOLLOW_UP, QUESTION, FOLLOW_UP, QUESTION]):
        ask(page, q, n)
    assert page.locator("#qa-chat .qa-answer").count() == 5
    assert sizes and max(sizes) < 2_000, sizes
    context.close()


def test_history_is_per_session(browser, server, client):
    """Two visitors at once: the second one's question is not read as a follow-up of the first's."""
    first = browser.new_context(viewport=DESKTOP)
    second = browser.new_context(viewport=DESKTOP)
    try:
        a, b = first.new_page(), second.new_page()
        for page in (a, b):
            page.goto(server + "/", wait_until="load")
            page.locator("#qa-question textarea").wait_for()
        ask(a, QUESTION, 0)
        ask(b, FOLLOW_UP, 0)
        fresh = client.predict(FOLLOW_UP, [])
        shown = b.locator("#qa-chat .qa-answer").first.inner_text()
        if fresh["abstained"]:
            assert ABSTAIN in shown
        else:
            assert fresh["citations"][0]["quote"] in shown
    finally:
        first.close()
        second.close()


def test_example_question_and_phone_layout(browser, server):
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    page = context.new_page()
    watch = Watch(page, server)
    page.goto(server + "/", wait_until="load")
    examples = page.locator("#qa-chat .examples .example")
    examples.first.wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    save(page, "chat-empty-phone.png")
    examples.first.click()
    page.locator("#qa-chat .qa-answer").first.wait_for(timeout=ANSWER_TIMEOUT_MS)
    page.wait_for_timeout(600)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    save(page, "chat-phone.png")
    assert watch.dialogs == [] and watch.outside == []
    context.close()


def test_article_page_on_a_phone(browser, server, articles):
    article = max(articles.values(), key=lambda a: len(a.text))
    start = article.text.rindex(".", 0, len(article.text) - 2) + 1
    start = article.text.rindex(".", 0, start - 1) + 2
    end = article.text.index(".", start) + 1
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True)
    page = context.new_page()
    page.goto(f"{server}/articles/{article.id}?start={start}&end={end}#cite", wait_until="load")
    mark = page.locator("mark#cite")
    mark.wait_for()
    assert mark.evaluate("m => { const r = m.getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight; }")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    save(page, "article-phone.png")
    context.close()


def test_no_web_fonts_or_cdn(server):
    for path in ["/", "/theme.css"]:
        status, _, body = get(server, path)
        assert status == 200, path
        assert "fonts.googleapis.com" not in body and "cdn.jsdelivr" not in body, path


def test_a_date_range_set_in_the_chat_limits_the_citations_and_stays_for_follow_ups(browser, server, articles):
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    watch = Watch(page, server)
    page.goto(server + "/", wait_until="load")
    page.locator("#qa-question textarea").wait_for()
    page.locator("#qa-filter").get_by_text("Filter").first.click()  # the accordion opens
    page.fill("#qa-since input, #qa-since textarea", "2018")
    page.fill("#qa-until input, #qa-until textarea", "2018")
    ask(page, "How did Ofsted rate Havering's children's services?", 0)
    answer = page.locator("#qa-chat .qa-answer").nth(0)
    scope = answer.locator(".qa-scope").inner_text()
    assert "answered from 1 of 5 articles, 2018" in scope.lower()
    dates = answer.locator(".qa-card .qa-meta").all_text_contents()  # the folded "other passages" too
    assert dates and all("2018" in d for d in dates), dates
    ask(page, "What did the report say next?", 1)  # a follow-up keeps the filter
    follow = page.locator("#qa-chat .qa-answer").nth(1)
    assert "2018" in follow.locator(".qa-scope").inner_text()
    assert all("2018" in d for d in follow.locator(".qa-card .qa-meta").all_text_contents())
    save(page, "chat-filter-desktop.png")
    assert watch.dialogs == [] and watch.outside == []
    context.close()
