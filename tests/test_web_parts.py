"""The web layer's parts without a server or the model: the upload store, control characters, host
names, the article listing, the chat log, the answer pool and the Guard middleware."""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from qa.errors import UsageError
from qa.types import Article


def make_article(**over) -> Article:
    fields = dict(id="a", title="T", date="2024-01", source=None, url=None, text="x", sha256="0")
    fields.update(over)
    return Article(**fields)


# ------------------------------------------------------------------ uploads


def test_upload_store_gives_back_only_its_own_files_once(tmp_path):
    from qa.web.uploads import UploadStore

    store = UploadStore(max_bytes=100, max_pending=2)
    try:
        assert oct(store.root.stat().st_mode & 0o777) == "0o700"
        ref = store.save("../../etc/My Questions.jsonl", b"{}\n")
        token, name = ref.split("/")
        assert len(token) == 32 and name == "My Questions.jsonl" and not ref.startswith("/")
        path = store.claim(ref)
        assert path.read_bytes() == b"{}\n" and path.parent.parent == store.root
        with pytest.raises(UsageError, match="upload the file again"):
            store.claim(ref)  # once
        outside = tmp_path / "q.jsonl"
        outside.write_text("{}\n")
        for bad in [str(outside), "/etc/passwd", f"{token}/../../etc/passwd", f"{'0' * 32}/x.jsonl", None, 5,
                    f"{token}/{name}\x00", "http://192.0.2.1/q.jsonl"]:
            with pytest.raises(UsageError):
                store.claim(bad)
        link_ref = store.save("link.jsonl", b"x")
        link = store.root / link_ref.split("/")[0] / "link.jsonl"
        link.unlink()
        link.symlink_to("/etc/passwd")  # planted inside the store: still not an upload
        with pytest.raises(UsageError):
            store.claim(link_ref)
        with pytest.raises(UsageError, match="KiB"):
            store.save("big.jsonl", b"x" * 101)
        store.discard(path)
        assert not path.exists() and not path.parent.exists()
    finally:
        store.close()
    assert not store.root.exists()


def test_upload_store_keeps_the_newest_waiting_uploads_and_expires_old_ones():
    from qa.web.uploads import UploadStore

    store = UploadStore(max_pending=2, ttl_s=0.2)
    try:
        refs = [store.save(f"q{i}.jsonl", b"x") for i in range(4)]
        assert store.count() == 2 and len(list(store.root.iterdir())) == 2
        with pytest.raises(UsageError):
            store.claim(refs[0])
        kept = store.claim(refs[3])  # a claimed upload is no longer waiting: never evicted or expired
        time.sleep(0.3)
        store.save("q9.jsonl", b"x")
        with pytest.raises(UsageError):
            store.claim(refs[2])  # expired
        assert kept.exists()
    finally:
        store.close()


# ------------------------------------------------------------------ control characters


def test_control_characters_become_one_visible_character_each():
    from qa.web.escape import escape_text, visible_controls

    text = "a\x1b[31mred\x07\x00\x7f\x85\tb\nc\r"
    shown = visible_controls(text)
    assert len(shown) == len(text)
    assert shown == "a␛[31mred␇␀␡\ufffd\tb\nc\r"
    assert escape_text("<\x1b>") == "&lt;␛&gt;"


def test_chat_html_shows_control_characters_as_stand_ins():
    from qa.web.render import answer_html, user_message_html

    quote = "Bell\x07 and \x1b[31mred\x1b[0m."
    answer = {"abstained": False, "citations": [{"number": 1, "article_id": "a\x00", "title": "T\x1b", "quote": quote,
                                                 "start": 0, "end": len(quote), "chunk_id": "a#0", "score": 1}],
              "passages": [{"rank": 1, "article_id": "a", "chunk_id": "a#0", "start": 0, "end": len(quote),
                            "text": quote, "scores": {}}], "notices": ["n\x07"]}
    out = answer_html(answer) + user_message_html("why\x1b?")
    assert not any(c in out for c in "\x00\x07\x1b")
    assert "Bell␇ and ␛[31mred␛[0m." in out and "<mark>Bell␇ and ␛[31mred␛[0m.</mark>" in out


# ------------------------------------------------------------------ host names


def test_allowed_host_names(monkeypatch):
    import qa.web.hosts as hosts

    monkeypatch.setattr(hosts, "interface_addresses", lambda ipv6=False: ["192.168.1.5"])
    monkeypatch.setattr(hosts.socket, "gethostname", lambda: "Newsroom-PC")
    assert hosts.allowed_host_names("127.0.0.1") == {"127.0.0.1", "localhost", "::1"}
    assert hosts.allowed_host_names("10.0.0.2", ["QA.example "]) == {"127.0.0.1", "localhost", "::1", "10.0.0.2",
                                                                    "qa.example"}
    assert hosts.allowed_host_names("0.0.0.0") == {"127.0.0.1", "localhost", "::1", "192.168.1.5", "newsroom-pc"}
    assert hosts.reachable_urls("0.0.0.0", 80) == ["http://127.0.0.1:80/", "http://192.168.1.5:80/"]
    assert hosts.reachable_urls("::1", 7860) == ["http://[::1]:7860/"]
    assert [hosts.parse_host(h) for h in ["[::1]:7860", "Example.ORG:80", "localhost", "::1", "[::1]evil.example",
                                          "a:1@b", "a:0", "a:65536"]] == [
        ("::1", 7860), ("example.org", 80), ("localhost", None), None, None, None, None, None]
    assert hosts.is_loopback("127.0.0.2") and hosts.is_loopback("[::1]") and not hosts.is_loopback("0.0.0.0")


# ------------------------------------------------------------------ the article listing


def test_catalog_pages_newest_first_and_searches():
    from qa.web.catalog import Catalog

    arts = {f"a{i}": make_article(id=f"a{i}", title=f"Title {i}", date=f"20{10 + i}",
                                  source="Recorder" if i % 2 else None) for i in range(7)}
    def index(path, articles):  # what the web layer reads of an index (qa.web.gate.WebIndex)
        return SimpleNamespace(path=Path(path), manifest={}, entries=lambda: tuple(articles.values()))

    engine = SimpleNamespace(articles=arts, index=index("gen-1", arts))
    catalog = Catalog(engine)
    page = catalog.page(offset=0, limit=3)
    assert page.total == 7 and [a.id for a in page.articles] == ["a6", "a5", "a4"]
    assert [a.id for a in catalog.page(offset=6, limit=3).articles] == ["a0"]
    assert catalog.page(offset=50, limit=3).articles == ()
    found = catalog.page(query="  RECORDER ", limit=2)
    assert found.total == 3 and [a.id for a in found.articles] == ["a5", "a3"] and found.query == "recorder"
    assert catalog.summary() == "7 articles · 2010 – 2016"
    # a reload is a new generation: the listing follows it
    engine.articles = {"b": make_article(id="b", title="Only")}
    engine.index = index("gen-2", engine.articles)
    assert catalog.summary() == "1 article · January 2024" and catalog.count() == 1


# ------------------------------------------------------------------ the chat log


def test_a_long_chat_log_keeps_its_newest_messages_and_says_so():
    from qa.web.limits import MAX_CHAT_LOG_MESSAGES
    from qa.web.ui import TRIMMED_NOTE, appended

    log: list = []
    for i in range(MAX_CHAT_LOG_MESSAGES):
        log = appended(log, {"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": f"a{i}"})
    assert log[0] == {"role": "assistant", "content": TRIMMED_NOTE}
    assert len(log) <= MAX_CHAT_LOG_MESSAGES + 1 and log[1]["role"] == "user"
    assert log[-1]["content"] == f"a{MAX_CHAT_LOG_MESSAGES - 1}"
    assert sum(m["content"] == TRIMMED_NOTE for m in log) == 1
    assert appended([], {"role": "user", "content": "x"}) == [{"role": "user", "content": "x"}]


# ------------------------------------------------------------------ the answer pool


def test_the_pool_answers_concurrency_at_once_and_refuses_beyond_its_wait_queue():
    from qa.web.gate import Busy, EngineGate

    release = threading.Event()
    running = []

    class Slow:
        def ask(self, question, history=()):
            running.append(question)
            release.wait(10)
            return SimpleNamespace(to_dict=lambda: {"question": question})

    gate = EngineGate(Slow(), concurrency=1, max_waiting=2)
    try:
        futures = [gate.submit(gate._answer, f"q{i}", [], "hybrid", None) for i in range(3)]
        started = time.monotonic()
        with pytest.raises(Busy, match="try again"):
            gate.submit(gate._answer, "q3", [], "hybrid", None)
        assert time.monotonic() - started < 0.1 and gate.admitted == 3
        release.set()
        assert [f.result(5)["question"] for f in futures] == ["q0", "q1", "q2"]
        deadline = time.monotonic() + 5
        while gate.admitted and time.monotonic() < deadline:
            time.sleep(0.01)
        assert gate.admitted == 0 and gate.ask("q4", []) == {"question": "q4"}
    finally:
        release.set()
        gate.close()


# ------------------------------------------------------------------ the Guard


def _guarded(app=None, **policy):
    from qa.web.middleware import Guard, Policy, Route

    async def echo(scope, receive, send):
        body = b""
        while True:
            m = await receive()
            body += m.get("body", b"")
            if not m.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"access-control-allow-origin", b"*"), (b"content-security-policy", b"default-src 'none'")]})
        await send({"type": "http.response.body", "body": str(len(body)).encode()})

    defaults = dict(allowed_hosts=frozenset({"127.0.0.1"}), routes=(Route.of("GET POST", r"/x"),), max_body_bytes=10)
    return Guard(app or echo, Policy(**{**defaults, **policy}))


def _call(app, method="GET", path="/x", headers=(("host", "127.0.0.1"),), chunks=(b"",)):
    scope = {"type": "http", "method": method, "path": path, "query_string": b"",
             "headers": [(k.encode(), v.encode()) for k, v in headers]}
    queue = list(chunks)
    sent = []

    async def receive():
        body = queue.pop(0) if queue else b""
        return {"type": "http.request", "body": body, "more_body": bool(queue)}

    async def send(m):
        sent.append(m)

    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], dict(start["headers"]), body


def test_guard_merges_its_headers_and_drops_cors_grants():
    status, headers, _ = _call(_guarded())
    assert status == 200 and b"access-control-allow-origin" not in headers
    assert headers[b"content-security-policy"] == b"default-src 'none'; frame-ancestors 'self'"
    assert headers[b"x-frame-options"] == b"SAMEORIGIN"


def test_guard_refuses_a_chunked_body_over_the_limit_and_the_route_never_answers():
    status, _, body = _call(_guarded(), "POST", chunks=(b"12345", b"67890", b"1"))
    assert status == 413 and "over 10 bytes" in json.loads(body)["error"]
    assert _call(_guarded(), "POST", chunks=(b"12345", b"67890"))[0] == 200


def test_guard_turns_a_crash_before_the_response_into_json_not_a_traceback_page():
    async def crash(scope, receive, send):
        raise RuntimeError("boom")

    status, _, body = _call(_guarded(crash))
    assert status == 500 and "boom" not in body.decode() and "log" in json.loads(body)["error"]


@pytest.mark.parametrize("method,path,status", [("GET", "/y", 404), ("PUT", "/x", 405), ("HEAD", "/x", 200)])
def test_guard_serves_only_its_routes(method, path, status):
    assert _call(_guarded(), method, path)[0] == status
