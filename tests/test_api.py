"""The JSON API under /api/ (issue 18) against the real engine on the five articles: the answer object
equals `qa ask --json`, follow-ups, every bad request with its status and message, 404s, the schema,
batches, articles, health and reload, engine faults and the full-queue 503."""

from __future__ import annotations

import io
import json
import shutil
import socket
import threading
import time
from contextlib import contextmanager, redirect_stdout
from pathlib import Path

import httpx
import pytest

from qa.cli import main

pytestmark = pytest.mark.model

QUESTION = "How did Ofsted rate Havering's child protection services in 2012?"
FOLLOW_UP = "What needed to change?"
ANSWER_KEYS = {"question", "answer", "abstained", "message", "confidence", "dated", "query", "notices", "filter",
               "citations", "passages"}
CITATION_KEYS = {"number", "article_id", "title", "date", "date_approximate", "source", "url", "start", "end",
                 "quote", "chunk_id", "score", "short_answer"}
PASSAGE_KEYS = {"rank", "article_id", "chunk_id", "title", "date", "score", "scores", "start", "end", "text"}


@pytest.fixture(scope="module")
def app(engine):
    from qa.web.server import build_app

    return build_app(engine, examples=[])


@pytest.fixture(scope="module")
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app, base_url="http://127.0.0.1") as c:
        yield c


def cli_json(settings, *args: str) -> list[dict]:
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["ask", "--json", "--corpus", str(settings.corpus_dir), "--index", str(settings.index_dir),
                     *args]) == 0
    return [json.loads(line) for line in out.getvalue().splitlines() if line]


# ------------------------------------------------------------------ answers


@pytest.mark.parametrize("question,extra,cli", [
    (QUESTION, {}, []),
    ("What is the capital of France?", {}, []),
    (QUESTION, {"method": "bm25"}, ["--method", "bm25"]),
    (QUESTION, {"method": "dense", "top_k": 3}, ["--method", "dense", "-k", "3"]),
    ("Who led the inspection?   ", {"top_k": 8}, ["-k", "8"]),
])
def test_the_answer_is_exactly_what_qa_ask_json_prints(client, settings, question, extra, cli):
    reply = client.post("/api/ask", json={"question": question, **extra})
    assert reply.status_code == 200 and reply.headers["content-type"] == "application/json"
    (printed,) = cli_json(settings, question, *cli)
    assert reply.json() == printed
    assert list(reply.json()) == list(printed)  # the same keys in the same order


def test_a_follow_up_is_answered_as_in_the_chat(client, app, engine):
    first = client.post("/api/ask", json={"question": QUESTION}).json()
    history = [{"role": "user", "content": QUESTION}, {"role": "assistant", "content": first["answer"]}]
    follow = client.post("/api/ask", json={"question": FOLLOW_UP, "history": history}).json()
    assert QUESTION in follow["query"]  # searched with its context
    assert follow == app.state.qa.gate.ask(FOLLOW_UP, history)  # what the chat's answer event gets
    assert follow == json.loads(json.dumps(engine.ask(FOLLOW_UP, history).to_dict()))
    alone = client.post("/api/ask", json={"question": FOLLOW_UP}).json()
    assert QUESTION not in alone["query"]


def test_the_schema_describes_every_field_of_the_answer(client, engine):
    from qa.web.api import AnswerOut

    schema = client.get("/api/openapi.json").json()
    assert {"/api/ask", "/api/ask/batch", "/api/articles", "/api/articles/{article_id}", "/api/health"} <= set(
        schema["paths"])
    models = schema["components"]["schemas"]
    assert set(models["AnswerOut"]["properties"]) == ANSWER_KEYS
    assert set(models["Citation"]["properties"]) == CITATION_KEYS
    assert set(models["Passage"]["properties"]) == PASSAGE_KEYS
    assert set(models["AskRequest"]["properties"]) == {"question", "history", "top_k", "method", "filter"}
    assert set(models["FilterIn"]["properties"]) == {"since", "until", "sources", "articles", "title", "undated"}
    assert models["AskRequest"]["properties"]["method"]["enum"] == ["hybrid", "bm25", "dense"]
    for question, flt in [(QUESTION, None), ("What is the capital of France?", None),
                          ("How much did the council spend?", {"since": "2018"}), ("What?", {"until": "2000"})]:
        d = json.loads(json.dumps(engine.ask(question, filter=flt).to_dict()))
        assert AnswerOut.model_validate(d).model_dump() == d  # extra="forbid": a new field fails here
    docs = client.get("/api/docs")
    assert docs.status_code == 200 and "/api/ask/batch" in docs.text
    assert "<script" not in docs.text and "cdn" not in docs.text and "<link" not in docs.text


# ------------------------------------------------------------------ bad requests


@pytest.mark.parametrize("body,headers,status,words", [
    ({"question": ""}, None, 422, "empty"),
    ({"question": "   \n "}, None, 422, "empty"),
    ({"question": "\x00\x01\u200b"}, None, 422, "empty"),
    ({}, None, 422, "question is missing"),
    ({"question": QUESTION, "method": "rerank"}, None, 422, "method must be one of 'hybrid', 'bm25' or 'dense'"),
    ({"question": QUESTION, "top_k": 0}, None, 422, "top_k must be at least 1"),
    ({"question": QUESTION, "top_k": 51}, None, 422, "top_k must be at most 50"),
    ({"question": QUESTION, "top_k": "five"}, None, 422, "top_k must be a whole number"),
    ({"question": QUESTION, "history": "earlier"}, None, 422, "history must be a JSON list"),
    ({"question": QUESTION, "history": [{"role": "system", "content": "x"}]}, None, 422, "history[0].role"),
    ({"question": QUESTION, "history": [{"role": "user"}]}, None, 422, "history[0].content is missing"),
    ({"question": QUESTION, "history": [["user", "x"]]}, None, 422, "history[0] must be a JSON object"),
    ({"question": QUESTION, "filter": {"year": 2019}}, None, 422, "filter.year is not a field"),
    ({"question": QUESTION, "filter": {"since": "soon"}}, None, 422, "YYYY, YYYY-MM or YYYY-MM-DD"),
    ({"question": QUESTION, "filter": {"sources": ["No Such Paper"]}}, None, 422, "the publishers are"),
    ({"question": 42}, None, 422, "question must be text"),
    ([QUESTION], None, 422, "must be a JSON object"),
    (b'{"question": "\\ud800 hello"}', {"content-type": "application/json"}, 422, "unpaired surrogate"),
    (b'{"question": "x",', {"content-type": "application/json"}, 400, "not valid JSON"),
    (b"\xff\xfe", {"content-type": "application/json"}, 400, "not valid JSON"),
    (b"", {"content-type": "application/json"}, 422, "body is missing"),
    (b"question=x", {"content-type": "application/x-www-form-urlencoded"}, 415, "Content-Type: application/json"),
    (b'{"question": "x"}', {"content-type": "text/plain"}, 415, "Content-Type: application/json"),
    (b"x" * (1024 * 1024 + 1), {"content-type": "application/json"}, 413, "over 1048576 bytes"),
])
def test_bad_requests_get_a_4xx_naming_the_problem(client, body, headers, status, words):
    if isinstance(body, bytes):
        reply = client.post("/api/ask", content=body, headers=headers)
    else:
        reply = client.post("/api/ask", json=body)
    assert reply.status_code == status, reply.text
    assert set(reply.json()) == {"error"} and words in reply.json()["error"], reply.json()


@pytest.mark.parametrize("method,path,status", [
    ("GET", "/api/ask", 405), ("PUT", "/api/ask", 405), ("GET", "/api/nothing", 404), ("POST", "/api/articles", 405),
    ("GET", "/api/articles/no-such-article", 404), ("GET", "/api/articles/..%2F..%2Fetc%2Fpasswd", 404),
    ("GET", "/api/articles?limit=0", 422), ("GET", "/api/articles?limit=201", 422),
    ("GET", "/api/articles?offset=-1", 422), ("GET", "/api/articles?offset=x", 422),
])
def test_unknown_routes_methods_and_ids(client, method, path, status):
    reply = client.request(method, path)
    assert reply.status_code == status, reply.text
    assert isinstance(reply.json()["error"], str) and "root:" not in reply.text


# ------------------------------------------------------------------ batches


def test_a_batch_is_answered_in_order_with_bad_items_in_place(client, engine):
    history = [{"role": "user", "content": QUESTION}, {"role": "assistant", "content": "rated as adequate"}]
    items = [QUESTION, "", {"question": FOLLOW_UP, "history": history}, 7, {"question": QUESTION, "top_k": 99},
             {"question": "What is the capital of France?", "method": "bm25"}]
    reply = client.post("/api/ask/batch", json={"questions": items})
    assert reply.status_code == 200
    out = reply.json()
    assert len(out) == len(items)
    assert out[0] == client.post("/api/ask", json={"question": QUESTION}).json()
    assert set(out[1]) == {"error"} and "empty" in out[1]["error"]
    assert out[2] == json.loads(json.dumps(engine.ask(FOLLOW_UP, history).to_dict()))
    assert set(out[3]) == {"error"} and "string or an /api/ask object" in out[3]["error"]
    assert set(out[4]) == {"error"} and "top_k must be at most 50" in out[4]["error"]
    assert out[5]["abstained"] is True


def test_a_batch_over_the_maximum_is_refused_saying_the_maximum(client):
    from qa.web.api import MAX_BATCH

    reply = client.post("/api/ask/batch", json={"questions": ["Who?"] * (MAX_BATCH + 1)})
    assert reply.status_code == 422 and f"at most {MAX_BATCH}" in reply.json()["error"]
    assert client.post("/api/ask/batch", json={"questions": []}).status_code == 422


# ------------------------------------------------------------------ articles and health


def test_articles_are_listed_a_page_at_a_time_and_read_as_qa_show_json(client, settings, capsys):
    everything = client.get("/api/articles").json()
    assert everything["total"] == 5 and len(everything["articles"]) == 5
    dates = [a["date"] for a in everything["articles"]]
    assert dates == sorted(dates, reverse=True)
    page = client.get("/api/articles", params={"offset": 1, "limit": 2}).json()
    assert page["articles"] == everything["articles"][1:3] and page["total"] == 5
    found = client.get("/api/articles", params={"q": "INADEQUATE"}).json()
    assert found["total"] == 1 and "inadequate" in found["articles"][0]["title"]
    first = everything["articles"][0]["id"]
    capsys.readouterr()
    assert main(["show", first, "--json", "--corpus", str(settings.corpus_dir), "--index",
                 str(settings.index_dir)]) == 0
    assert client.get(f"/api/articles/{first}").json() == json.loads(capsys.readouterr().out)


def test_health_names_the_index_in_use(client, engine):
    health = client.get("/api/health").json()
    manifest = engine.index.manifest
    assert health["ready"] is True and health["generation"] == engine.index.path.name
    assert health["counts"] == {k: manifest["counts"][k] for k in ("articles", "chunks", "sentences")}
    assert health["model"] == {"name": manifest["model"]["name"], "dim": manifest["model"]["dim"]}
    assert health["newer_index_on_disk"] is False and health["answering"] == 0


def test_a_newer_index_is_reported_then_answered_from_never_mixed(settings, tmp_path):
    from fastapi.testclient import TestClient

    from qa.config import Settings
    from qa.pipeline import Engine
    from qa.web.server import build_app

    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(settings.corpus_dir, corpus)
    shutil.copytree(settings.index_dir, index)
    s = Settings(corpus_dir=corpus, index_dir=index)
    app = build_app(Engine.load(index, s), examples=[])
    client = TestClient(app, base_url="http://127.0.0.1")  # no lifespan: the watcher is driven by hand
    before = client.get("/api/health").json()
    assert client.post("/api/ask", json={"question": QUESTION}).status_code == 200  # as `qa serve`: encoder loaded
    new_sentence = "The council opened a new family hub in Hornchurch in March."
    target = corpus / "havering-improvement-update.md"
    target.write_text(target.read_text("utf-8").rstrip("\n") + "\n\n" + new_sentence + "\n", "utf-8")
    assert main(["index", "--corpus", str(corpus), "--index", str(index)]) == 0
    assert client.get("/api/health").json()["newer_index_on_disk"] is True
    assert client.get("/api/health").json()["generation"] == before["generation"]
    stop = threading.Event()
    seen: list[dict] = []

    def keep_asking():
        while not stop.is_set():
            seen.append(client.post("/api/ask", json={"question": "Where did the council open a family hub?"}).json())

    asker = threading.Thread(target=keep_asking)
    asker.start()
    try:
        time.sleep(0.2)
        assert app.state.qa.watcher.check() == ["1 article changed"]
        time.sleep(0.2)
    finally:
        stop.set()
        asker.join(30)
    after = client.get("/api/health").json()
    assert after["newer_index_on_disk"] is False and after["generation"] != before["generation"]
    assert seen and all(set(a) == ANSWER_KEYS for a in seen)
    articles = app.state.qa.engine.articles
    for answer in seen:  # each answer quotes one index: every offset is exact in the text it names
        for c in answer["citations"]:
            text = articles[c["article_id"]].text
            old_text = text.replace("\n\n" + new_sentence, "")
            assert text[c["start"]:c["end"]] == c["quote"] or old_text[c["start"]:c["end"]] == c["quote"]
    last = client.post("/api/ask", json={"question": "Where did the council open a family hub?"}).json()
    assert any(c["quote"] == new_sentence for c in last["citations"]), last


# ------------------------------------------------------------------ faults and overload


class Wrapped:
    """The engine, with ``ask`` replaced."""

    def __init__(self, engine, ask):
        self._engine, self.ask = engine, ask

    def __getattr__(self, name):
        return getattr(self._engine, name)


def test_an_engine_fault_is_a_503_and_the_server_keeps_serving(engine):
    from fastapi.testclient import TestClient

    from qa.errors import IndexCorruptError
    from qa.web.server import build_app

    faults = iter([RuntimeError("boom"), IndexCorruptError("index/gen-x/chunks.jsonl is truncated")])

    def ask(question, history=(), **kw):
        fault = next(faults, None)
        if fault is not None:
            raise fault
        return engine.ask(question, history, **kw)

    client = TestClient(build_app(Wrapped(engine, ask), examples=[]), base_url="http://127.0.0.1")
    first = client.post("/api/ask", json={"question": QUESTION})
    assert first.status_code == 503 and "boom" not in first.text and "log" in first.json()["error"]
    second = client.post("/api/ask", json={"question": QUESTION})
    assert second.status_code == 503 and "truncated" in second.json()["error"]
    assert client.post("/api/ask", json={"question": QUESTION}).json()["citations"]


@contextmanager
def served(app):
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)


def test_a_full_wait_queue_is_a_503_with_retry_after_at_once(engine, monkeypatch):
    from qa.web.server import build_app

    monkeypatch.setenv("QA_CONCURRENCY", "1")
    monkeypatch.setenv("QA_QUEUE", "1")
    release, entered = threading.Event(), threading.Event()

    def blocked(question, history=(), **kw):
        entered.set()
        release.wait(30)
        return engine.ask(question, history, **kw)

    app = build_app(Wrapped(engine, blocked), examples=[])
    with served(app) as base, httpx.Client(base_url=base, timeout=60) as http:
        results: list[httpx.Response] = []
        threads = [threading.Thread(target=lambda: results.append(http.post("/api/ask", json={"question": QUESTION})))
                   for _ in range(2)]  # one answering (blocked), one waiting
        threads[0].start()
        assert entered.wait(10)
        threads[1].start()
        deadline = time.monotonic() + 10
        while app.state.qa.gate.admitted < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        t0 = time.monotonic()
        refused = http.post("/api/ask", json={"question": QUESTION})
        assert time.monotonic() - t0 < 1.0
        assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
        assert "try again" in refused.json()["error"]
        batch = http.post("/api/ask/batch", json={"questions": [QUESTION]})
        assert batch.status_code == 503
        release.set()
        for t in threads:
            t.join(30)
        assert [r.status_code for r in results] == [200, 200]
        assert http.post("/api/ask", json={"question": QUESTION}).status_code == 200


# ------------------------------------------------------------------ over HTTP, through the Guard


def test_the_api_over_http_is_guarded_like_every_route(web_server):
    assert web_server.get("/api/health", host="evil.example").status == 421
    cross = web_server.post_json("/api/ask", {"question": QUESTION}, headers={"Origin": "http://evil.example"})
    assert cross.status == 403
    ok = web_server.post_json("/api/ask", {"question": QUESTION})
    assert ok.status == 200 and ok.headers["x-frame-options"] == "SAMEORIGIN"
    assert ok.json()["citations"]


def test_a_filter_in_the_body_limits_the_answer_and_is_echoed(client):
    body = {"question": "How did Ofsted rate Havering's children's services?", "filter": {"since": "2018",
                                                                                          "until": "2018"}}
    r = client.post("/api/ask", json=body)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["filter"]["matching_articles"] == 1 and answer["filter"]["summary"].endswith("2018")
    assert {c["date"] for c in answer["citations"]} <= {"2018"} and {p["date"] for p in answer["passages"]} == {"2018"}
    follow = client.post("/api/ask", json={"question": "Who said that?", "filter": body["filter"], "history": [
        {"role": "user", "content": body["question"]}, {"role": "assistant", "content": answer["answer"]}]})
    assert follow.status_code == 200 and follow.json()["filter"] == answer["filter"]
    none = client.post("/api/ask", json={"question": "What happened?", "filter": {"until": "1999"}}).json()
    assert none["abstained"] and none["message"].startswith("No article matches this filter")
