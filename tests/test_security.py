"""Issue 14, the web items, tried as an attacker would: raw HTTP against a running `python -m qa serve`
(tests/webserver.py), never the app in-process. Each test failed on the code before the fix."""

from __future__ import annotations

import html
import json
import re
import socket
import threading
import time
import uuid
from pathlib import Path

import pytest

from webserver import files_under, multipart, qa_server

pytestmark = pytest.mark.model

MARKER = "SECRET-MARKER-6d1f"
QUESTION = "How did Ofsted rate Havering's child protection services in 2012?"


def file_data(path: str, name: str = "questions.jsonl") -> dict:
    return {"path": path, "orig_name": name, "meta": {"_type": "gradio.FileData"}}


def question_line(qid: str, question: str, history: list[str] | None = None) -> str:
    return json.dumps({"id": qid, "question": question, "type": "fact", "expected": ["adequate"],
                       "articles": ["havering-child-protection-adequate"], "history": history or [],
                       "answerable": True})


def outcome(messages) -> str:
    """The part of an event stream a client learns from: the final message without ids or timings."""
    if not isinstance(messages, list):
        return f"HTTP {messages.status} {messages.text}"
    final = dict(messages[-1]) if messages else {}
    for key in ("event_id", "duration", "average_duration", "avg_time", "cache_duration", "used_cache"):
        final.pop(key, None)
        if isinstance(final.get("output"), dict):
            final["output"] = {k: v for k, v in final["output"].items() if k not in ("duration", "average_duration")}
    return json.dumps(final, sort_keys=True)


def upload(server, name: str, content: bytes, headers: dict | None = None):
    body, ctype = multipart("files", name, content)
    return server.request("POST", "/gradio_api/upload", body=body, headers={"Content-Type": ctype, **(headers or {})})


def status_text(messages) -> str:
    """The Evaluation tab's status line from a finished run_* event."""
    assert isinstance(messages, list) and messages, messages
    final = messages[-1]
    assert final.get("msg") == "process_completed", final
    data = final["output"].get("data")
    assert data, final
    return str(data[0])


# ------------------------------------------------------------------ 1. reading server files


def test_upload_event_reads_no_file_the_server_did_not_receive(web_server, tmp_path):
    """Posting a server path to the upload handler (where the page posts an upload's reference, a plain
    string) must read nothing: not /etc/passwd, not a question-shaped file elsewhere, and not say whether
    a path exists; nor when the path comes as Gradio's file object, as it did when the tab had a
    Gradio upload button."""
    secret = tmp_path / "secret.jsonl"
    secret.write_text(question_line("s1", f"{MARKER} what is here?") + "\n", "utf-8")
    fn = web_server.fn_index("run_upload")
    outcomes = {}
    for path in ["/etc/passwd", str(secret), str(tmp_path / "missing.jsonl"), "../../../../etc/passwd",
                 f"{secret.parent}/./{secret.name}", "http://192.0.2.1/q.jsonl"]:
        messages = web_server.queue_call(fn, [path])
        text = outcome(messages)
        assert MARKER not in text and "root:" not in text and str(tmp_path) not in text, (path, text)
        outcomes[path] = text
        as_file = web_server.queue_call(fn, [file_data(path)])  # Gradio's file object: refused before Gradio
        assert not isinstance(as_file, list) and as_file.status == 422 and "no files" in as_file.json()["error"]
    assert len(set(outcomes.values())) == 1, outcomes  # the same refusal whether the file exists or not
    assert not [p for p in files_under(web_server.tmp) if p.name in ("passwd", "secret.jsonl")]
    assert "upload" in next(iter(outcomes.values())).lower()
    assert "Traceback" not in web_server.log()


def test_the_upload_button_stays_guarded_after_an_event_updates_it(web_server):
    """Gradio rebuilds a component from its constructor arguments when an event updates it (the tab's
    'start' turns the button off): the rebuilt button of that session must be as strict."""
    session = "rebuilt" + uuid.uuid4().hex[:8]
    start = web_server.post_json("/gradio_api/run/predict", {"data": [], "fn_index": web_server.fn_index("start_1"),
                                                             "session_hash": session})
    assert start.status == 200 and start.json()["data"][1]["interactive"] is False
    messages = web_server.queue_call(web_server.fn_index("run_upload"), ["/etc/passwd"], session=session)
    text = outcome(messages)
    assert "root:" not in text and "upload" in text.lower()
    assert not [p for p in files_under(web_server.tmp) if p.name == "passwd"]  # not copied into Gradio's cache


def test_chat_events_read_no_server_file(web_server):
    """The chat's answer event used to take the whole chat log as input: a 'file' message naming any
    server path got the file copied into Gradio's cache and linked back for download."""
    fn = web_server.fn_index("answer")
    message = {"role": "user", "content": [{"type": "file", "file": file_data("/etc/hostname", "hostname")}]}
    messages = web_server.queue_call(fn, ["", [message], [], "", "", [], False])  # the filter controls too
    text = json.dumps(messages) if isinstance(messages, list) else messages.text
    assert "/etc/hostname" not in text and "gradio_api/file=" not in text and "hostname" not in text
    for path in ["/gradio_api/file=/etc/hostname", "/gradio_api/file/etc/hostname"]:
        reply = web_server.get(path)
        assert reply.status == 404 and Path("/etc/hostname").read_text() not in reply.text


# ------------------------------------------------------------------ 3. Host check and CORS


@pytest.mark.parametrize("path", ["/", "/config", "/gradio_api/info", "/articles/scanned-minutes"])
@pytest.mark.parametrize("host", ["evil.example", "evil.example:{port}", "127.0.0.1.evil.example",
                                  "localhost.evil.example:{port}", "0.0.0.0:{port}"])
def test_requests_for_other_host_names_are_refused(web_server, path, host):
    """DNS rebinding: a page served from evil.example that resolves to 127.0.0.1 sends 'Host: evil.example'."""
    reply = web_server.get(path, host=host.format(port=web_server.port))
    assert reply.status == 421, (host, reply.status)
    error = reply.json()["error"]
    assert "--allowed-host" in error and "Scanned minutes" not in reply.text


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "[::1]:{port}", "LocalHost:{port}",
                                  "127.0.0.1", "localhost"])
def test_the_host_names_the_server_was_started_for_are_served(web_server, host):
    assert web_server.get("/config", host=host.format(port=web_server.port)).status == 200


def test_a_request_without_host_is_refused(web_server):
    conn = socket.create_connection(("127.0.0.1", web_server.port), timeout=10)
    try:
        conn.sendall(b"GET /config HTTP/1.0\r\n\r\n")
        head = conn.recv(200).decode("latin-1")
    finally:
        conn.close()
    assert head.split(" ")[1] in ("400", "421"), head


@pytest.mark.parametrize("origin", ["http://localhost:9999", "http://127.0.0.1:1", "http://evil.example", "null",
                                    "http://127.0.0.1.evil.example:{port}"])
def test_cross_origin_requests_are_refused_and_never_allowed_by_cors(web_server, origin):
    origin = origin.format(port=web_server.port)
    reads = web_server.get("/config", headers={"Origin": origin})
    preflight = web_server.request("OPTIONS", "/gradio_api/queue/join", headers={
        "Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"})
    join = web_server.post_json("/gradio_api/queue/join", {"data": [QUESTION, []], "fn_index": 0,
                                                           "session_hash": "x1"}, headers={"Origin": origin})
    for reply in (reads, preflight, join):
        assert reply.status == 403, (origin, reply.status)
        assert not any(h.startswith("access-control-") for h in reply.headers), reply.headers
        assert "cross-origin" in reply.json()["error"]


def test_same_origin_requests_get_no_cors_grant_either(web_server):
    reply = web_server.get("/config", headers={"Origin": web_server.url})
    assert reply.status == 200
    assert not any(h.startswith("access-control-") for h in reply.headers)


# ------------------------------------------------------------------ 4. evaluation runs


def test_one_evaluation_at_a_time_and_the_chat_keeps_answering(web_server, hostile_corpus):
    """A run from another page meanwhile is refused at once (it used to queue, and runs added up);
    the chat is answered between the run's questions."""
    lines = (hostile_corpus / "questions.jsonl").read_text("utf-8").splitlines()
    many = [json.dumps({**json.loads(line), "id": f"{i}-{json.loads(line)['id']}"})
            for i in range(5) for line in lines if not json.loads(line)["history"]]
    reply = upload(web_server, "many.jsonl", ("\n".join(many) + "\n").encode())
    assert reply.status == 200, reply.text
    first: dict = {}
    asking = threading.Event()

    def run_first():
        first["messages"] = web_server.queue_call(
            web_server.fn_index("run_upload"), [reply.json()[0]],
            on_message=lambda m: asking.set() if m.get("msg") == "progress" else None)

    thread = threading.Thread(target=run_first)
    thread.start()
    try:
        assert asking.wait(60), "the first evaluation did not start"
        second = web_server.queue_call(web_server.fn_index("run_default"), [])
        assert "already running" in status_text(second)
        chat_seconds = []
        for _ in range(5):
            t0 = time.monotonic()
            answer = web_server.post_json("/api/ask", {"question": QUESTION})
            chat_seconds.append(time.monotonic() - t0)
            assert answer.status == 200 and answer.json()["citations"]
        assert max(chat_seconds) < 3, chat_seconds  # answered between the evaluation's questions
        assert thread.is_alive(), "the evaluation ended before the chat was tried; the test proves nothing"
    finally:
        thread.join(timeout=600)
    assert status_text(first["messages"]).startswith("Finished in")


def test_an_evaluation_bounded_by_its_total_work_is_refused_at_once(web_server):
    history = [f"Earlier question {i}?" for i in range(2_000)]
    content = (question_line("h1", QUESTION, history) + "\n").encode()
    reply = upload(web_server, "long-history.jsonl", content)
    assert reply.status == 200, reply.text
    t0 = time.monotonic()
    messages = web_server.queue_call(web_server.fn_index("run_upload"),
                                     [reply.json()[0]], timeout=30)
    assert time.monotonic() - t0 < 10
    text = status_text(messages)
    assert "long-history.jsonl" in text and "at most" in text and "qa eval" in text


# ------------------------------------------------------------------ 5. uploads


def test_upload_replies_name_no_server_path_and_the_file_is_deleted_once_evaluated(web_server):
    content = (question_line("u1", QUESTION) + "\n").encode()
    reply = upload(web_server, "mine.jsonl", content)
    assert reply.status == 200
    (token,) = reply.json()
    assert not token.startswith("/") and str(web_server.tmp) not in reply.text and "/tmp" not in reply.text
    assert any(p.read_bytes() == content for p in files_under(web_server.tmp))
    messages = web_server.queue_call(web_server.fn_index("run_upload"), [token])
    assert status_text(messages).startswith("Finished in")
    assert "mine.jsonl" in json.dumps(messages) and str(web_server.tmp) not in json.dumps(messages)
    assert not any(p.read_bytes() == content for p in files_under(web_server.tmp))
    again = web_server.queue_call(web_server.fn_index("run_upload"), [token])
    assert "upload" in outcome(again).lower() and "Finished" not in outcome(again)


def test_uploads_are_limited_in_size_count_and_origin(web_server):
    from qa.web.limits import MAX_PENDING_UPLOADS, MAX_UPLOAD_BYTES

    before = files_under(web_server.tmp)
    too_big = upload(web_server, "big.jsonl", b"x" * (MAX_UPLOAD_BYTES + 1))
    assert too_big.status == 413 and "error" in too_big.json()
    cross = upload(web_server, "q.jsonl", b"{}\n", headers={"Origin": "http://evil.example"})
    assert cross.status == 403
    body = (b"--b1\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.jsonl\"\r\n\r\n{}\r\n"
            b"--b1\r\nContent-Disposition: form-data; name=\"files\"; filename=\"b.jsonl\"\r\n\r\n{}\r\n--b1--\r\n")
    two = web_server.request("POST", "/gradio_api/upload", body=body,
                             headers={"Content-Type": "multipart/form-data; boundary=b1"})
    assert two.status == 400 and "one file" in two.json()["error"]
    assert files_under(web_server.tmp) == before
    tokens = []
    for i in range(MAX_PENDING_UPLOADS + 4):
        reply = upload(web_server, f"q{i}.jsonl", f"{i}\n".encode())
        assert reply.status == 200
        tokens.append(reply.json()[0])
    kept = [p for p in files_under(web_server.tmp) if p not in before]
    assert len(kept) == MAX_PENDING_UPLOADS  # the oldest waiting uploads make room
    stale = web_server.queue_call(web_server.fn_index("run_upload"), [tokens[0]])
    assert "upload" in outcome(stale).lower()


def test_an_over_limit_chunked_upload_leaves_no_partial_file(web_server):
    before = files_under(web_server.tmp)
    body, ctype = multipart("files", "huge.jsonl", b"y" * (3 * 1024 * 1024))

    def chunked(data: bytes, size: int = 64 * 1024) -> bytes:
        out = b"".join(b"%x\r\n%s\r\n" % (len(data[i:i + size]), data[i:i + size]) for i in range(0, len(data), size))
        return out + b"0\r\n\r\n"

    try:
        reply = web_server.request("POST", "/gradio_api/upload", body=chunked(body),
                                   headers={"Content-Type": ctype, "Transfer-Encoding": "chunked"})
        assert reply.status == 413
    except (ConnectionError, OSError):
        pass  # the server may close the connection once it has refused the body
    time.sleep(0.5)
    assert files_under(web_server.tmp) == before


# ------------------------------------------------------------------ 6. framing


@pytest.mark.parametrize("path", ["/", "/config", "/theme.css", "/gradio_api/info", "/articles/scanned-minutes",
                                  "/articles/no-such-article", "/no-such-route"])
def test_every_page_refuses_to_be_framed_by_another_site(web_server, path):
    reply = web_server.get(path)
    assert reply.headers.get("x-frame-options") in ("DENY", "SAMEORIGIN"), (path, reply.headers)
    assert re.search(r"frame-ancestors '(self|none)'", reply.headers.get("content-security-policy", "")), path
    assert reply.headers.get("x-content-type-options") == "nosniff"


# ------------------------------------------------------------------ 7. control characters


def test_article_pages_show_control_characters_without_emitting_them(web_server, hostile_corpus):
    from qa.corpus import load_articles

    article = {a.id: a for a in load_articles(hostile_corpus)}["scanned-minutes"]
    start = article.text.index("The clerk")
    end = article.text.index("line.") + len("line.")
    reply = web_server.get(f"/articles/scanned-minutes?start={start}&end={end}")
    assert reply.status == 200
    for raw in ("\x1b", "\x07", "\x00"):
        assert raw not in reply.text
    marked = re.search(r'<mark id="cite">(.*?)</mark>', reply.text, re.S).group(1)
    shown = html.unescape(marked.replace("<br>", "\n"))
    assert len(shown) == end - start  # one shown character per stored character: offsets stay exact
    assert [c for c, o in zip(shown, article.text[start:end]) if c != o] == ["␛", "␛", "␇", "␀"]


# ------------------------------------------------------------------ 14. Gradio routes


def test_gradio_event_mistakes_get_a_4xx_with_an_error_message(web_server):
    """The page's own events (queue and run/predict) refuse what Gradio would answer with a 500, a
    traceback or a silent {"error": null}; Gradio's API endpoints are gone (404)."""
    port_log_start = len(web_server.log())
    answer = web_server.fn_index("answer")
    cases = [
        ("/gradio_api/queue/join", {"data": [QUESTION], "fn_index": answer, "session_hash": "s1"}, "input value"),
        ("/gradio_api/queue/join", {"data": [], "fn_index": 9999, "session_hash": "s1"}, "fn_index"),
        ("/gradio_api/queue/join", {"data": [], "fn_index": "0", "session_hash": "s1"}, "fn_index"),
        ("/gradio_api/queue/join", {"data": [QUESTION] * 7, "fn_index": answer, "session_hash": "a b"}, "session_hash"),
        ("/gradio_api/queue/join", [1, 2], "object"),
        ("/gradio_api/run/predict", {"data": None, "fn_index": answer}, "input value"),
        ("/gradio_api/run/predict", {"data": [QUESTION] * 7, "fn_index": answer, "event_data": 3}, "event_data"),
        ("/gradio_api/cancel", "x", "object"),
        ("/gradio_api/call/ask", {"data": [QUESTION, []]}, "/api/"),
        ("/gradio_api/call/v2/ask", {"question": QUESTION, "history": []}, "/api/"),
        ("/gradio_api/run/ask", {"data": [QUESTION, []]}, "/api/"),
    ]
    for path, payload, word in cases:
        reply = web_server.request("POST", path, body=json.dumps(payload), headers={"Content-Type": "application/json"})
        assert 400 <= reply.status < 500, (path, payload, reply.status, reply.text[:300])
        error = reply.json().get("error")
        assert isinstance(error, str) and word in error, (path, payload, error)
    for path in [f"/gradio_api/call/ask/{uuid.uuid4().hex}", f"/gradio_api/queue/data?session_hash={uuid.uuid4().hex}"]:
        unknown = web_server.get(path)
        assert unknown.status == 404 and isinstance(unknown.json()["error"], str)
    log = web_server.log()[port_log_start:]
    assert "Traceback" not in log and "Exception in ASGI application" not in log, log[-3000:]


# ------------------------------------------------------------------ 8. and the rest, on another interface


def interface_addresses() -> list[str]:
    import psutil

    return [a.address for addrs in psutil.net_if_addrs().values() for a in addrs
            if a.family == socket.AF_INET and not a.address.startswith("127.")]


def test_serving_on_all_interfaces_warns_and_prints_a_reachable_address(hostile_corpus, hostile_index, tmp_path):
    with qa_server(hostile_corpus, hostile_index, tmp_path / "tmp", ["--allowed-host", "qa.example"],
                   host="0.0.0.0") as server:
        deadline = time.monotonic() + 30
        while "Serving" not in server.log() and time.monotonic() < deadline:
            time.sleep(0.1)
        out = server.log()
        assert "0.0.0.0" not in out.split("Serving", 1)[1].splitlines()[0]
        assert re.search(r"anyone who can reach (this machine on )?port \d+", out), out
        assert f"http://127.0.0.1:{server.port}/" in out
        for address in interface_addresses():
            assert f"http://{address}:{server.port}/" in out
            assert server.get("/config", host=f"{address}:{server.port}").status == 200
        assert server.get("/config", host="qa.example").status == 200
        assert server.get("/config", host="evil.example").status == 421
        tabs = [c["props"].get("label") for c in server.config()["components"] if c.get("type") == "tabitem"]
        assert "Evaluation" not in tabs and "Chat" in tabs  # off by default beyond this machine
        assert upload(server, "q.jsonl", b"{}\n").status == 404


def test_uploads_are_deleted_at_shutdown(hostile_corpus, hostile_index, tmp_path):
    content = b"kept only until shutdown\n"
    with qa_server(hostile_corpus, hostile_index, tmp_path / "tmp") as server:
        assert upload(server, "q.jsonl", content).status == 200
        assert any(p.read_bytes() == content for p in files_under(server.tmp))
    assert not any(p.read_bytes() == content for p in files_under(tmp_path / "tmp"))


# ------------------------------------------------------------------ every input a client can send


def test_no_event_input_can_make_gradio_copy_a_server_file(web_server):
    """Gradio copies the file named by any FileData-shaped object in *any* input (a textbox's too) into
    its cache before a handler runs, and skips its upload-folder check for a mounted app: every event
    of the page, every input position, is refused such an object before Gradio sees it."""
    deps = web_server.config()["dependencies"]
    tried = 0
    for dep in deps:
        if dep.get("backend_fn") is False or not dep.get("inputs"):
            continue
        for i in range(len(dep["inputs"])):
            data = [None] * len(dep["inputs"])
            data[i] = file_data("/etc/hostname", "hostname")
            for route in ("/gradio_api/queue/join", "/gradio_api/run/predict"):
                reply = web_server.post_json(route, {"data": data, "fn_index": dep["id"], "session_hash": "f1le"})
                assert reply.status == 422 and "no files" in reply.json()["error"], (dep.get("api_name"), i, route)
                tried += 1
    assert tried >= 10
    assert not [p for p in files_under(web_server.tmp) if p.name == "hostname"]


def test_no_event_takes_a_component_that_accepts_a_server_path(engine):
    """Gradio copies any path named in a file-carrying input into its cache before a handler runs.
    No event takes a file component at all: the Evaluation tab's upload reaches its handler as a
    reference string, and the chat log is server-side state."""
    import gradio as gr

    from qa.web.server import build_app

    app = build_app(engine, examples=[])
    blocks = next(r.app for r in app.routes if hasattr(getattr(r, "app", None), "get_blocks")).get_blocks()
    textual = (gr.State, gr.Textbox, gr.Dropdown, gr.Checkbox)  # no files: the upload's reference is text
    for fn in blocks.fns.values():
        for block in fn.inputs:
            assert isinstance(block, textual), (fn.name, type(block).__name__)


# ------------------------------------------------------------------ issue 17 item 5, issue 16 item 6


def test_the_page_lists_articles_a_page_at_a_time_not_inline(web_server):
    config = web_server.get("/config").text
    oldest = "Ofsted rates Havering Council's child protection services adequate"  # not an example question
    assert html.escape(oldest).replace("&#x27;", "'") not in config and oldest not in config
    fn = web_server.fn_index("show_collection")
    reply = web_server.post_json("/gradio_api/run/predict", {"data": [], "fn_index": fn, "session_hash": "p1"})
    header, listing, _, newer, older, publishers = reply.json()["data"]  # the offset is server-side state
    assert "6 articles" in header and newer["interactive"] is False and older["interactive"] is False
    assert [c[0] if isinstance(c, list) else c for c in publishers["choices"]] == ["Children First (WillisPalmer)",
                                                                                  "Romford Recorder"]
    assert "1–6 of 6 articles" in listing and "Scanned minutes" in listing
    search = next(d["id"] for d in web_server.config()["dependencies"]
                  if d["targets"] and d["targets"][0][1] == "change")
    found = web_server.post_json("/gradio_api/run/predict", {"data": ["scanned"], "fn_index": search,
                                                            "session_hash": "p1"}).json()["data"][0]
    assert "1–1 of 1 article matching" in found and "Scanned minutes" in found and "Ofsted" not in found


def test_after_a_reload_the_header_and_articles_tab_show_the_new_index(hostile_corpus, hostile_index, tmp_path):
    import shutil

    from qa.cli import main

    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(hostile_corpus, corpus)
    shutil.copytree(hostile_index, index)
    with qa_server(corpus, index, tmp_path / "tmp") as server:
        fn = server.fn_index("show_collection")

        def collection() -> tuple[str, str]:
            data = server.post_json("/gradio_api/run/predict", {"data": [], "fn_index": fn,
                                                                "session_hash": "r1"}).json()["data"]
            return data[0], data[1]

        assert "6 articles" in collection()[0]
        (corpus / "late-addition.md").write_text(
            '---\ntitle: "A late addition to the collection"\ndate: "2025-02"\n---\n'
            "The council published its spring budget in February.\n", "utf-8")
        assert main(["index", "--corpus", str(corpus), "--index", str(index)]) == 0
        deadline = time.monotonic() + 30
        while "7 articles" not in collection()[0] and time.monotonic() < deadline:
            time.sleep(0.2)
        header, listing = collection()
        assert "7 articles" in header and "A late addition to the collection" in listing
        page = server.get("/articles/late-addition")
        assert page.status == 200 and "spring budget" in page.text


def test_an_unpaired_surrogate_is_refused_with_one_line_not_a_failure(web_server):
    """JSON's "\\ud800" decodes to text the engine's tokenizer cannot read (issue 14 item 9, web half)."""
    chat = web_server.post_json("/gradio_api/run/predict", {"data": ["caf\ud800?", []], "session_hash": "sur1",
                                                            "fn_index": web_server.fn_index("add_question")})
    assert chat.status == 200 and "unpaired surrogate" in chat.text
    history = '{"question": "What needed to change?", "history": [{"role": "user", "content": "x\\udc80"}]}'
    reply = web_server.request("POST", "/api/ask", body=history, headers={"Content-Type": "application/json"})
    assert reply.status == 422 and "surrogate" in reply.json()["error"]
    api = web_server.request("POST", "/api/ask", body='{"question": "caf\\ud800?"}',
                             headers={"Content-Type": "application/json"})
    assert api.status == 422 and "surrogate" in api.json()["error"]
    assert "Traceback" not in web_server.log()
