"""Property test of the whole HTTP surface of a running `qa serve` (tests/webserver.py): any route,
method, headers and body get an answer that is not a 500, and the server logs no traceback."""

from __future__ import annotations

import http.client
import json
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

pytestmark = pytest.mark.model

FUZZ = hsettings(max_examples=250, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])

SEGMENT = st.one_of(
    st.text(max_size=40).map(lambda t: quote(t.encode("utf-8", "surrogatepass"), safe="")),
    st.sampled_from(["..", "%2e%2e", "%2F", "%00", "etc%2Fpasswd", "scanned-minutes", "x" * 300, "", "~", "%"]),
)
TEMPLATES = [
    "/", "/config", "/theme.css", "/favicon.ico", "/assets/{}", "/static/{}", "/svelte/{}", "/articles/{}",
    "/articles/scanned-minutes?start={}&end=20", "/api/ask", "/api/ask/batch", "/api/articles",
    "/api/articles?offset={}&limit=5", "/api/articles?q={}", "/api/articles/{}", "/api/health",
    "/api/openapi.json", "/api/docs", "/api/{}", "/gradio_api/info", "/gradio_api/queue/join",
    "/gradio_api/queue/data?session_hash={}", "/gradio_api/queue/status", "/gradio_api/call/ask",
    "/gradio_api/call/v2/ask", "/gradio_api/call/ask/{}", "/gradio_api/call/v2/ask/{}", "/gradio_api/call/{}",
    "/gradio_api/run/ask", "/gradio_api/run/predict", "/gradio_api/run/{}", "/gradio_api/upload",
    "/gradio_api/upload_progress?upload_id={}", "/gradio_api/file={}", "/gradio_api/file/{}",
    "/gradio_api/proxy={}", "/gradio_api/cancel", "/gradio_api/reset", "/gradio_api/heartbeat/{}",
    "/gradio_api/startup-events", "/gradio_api/{}", "/monitoring", "/login", "/{}", "//gradio_api/upload",
    "/gradio_api//queue/join",
]
METHODS = st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"])
JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-2**63, 2**63), st.floats(allow_nan=False),
              st.text(max_size=60)),
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=12), inner, max_size=5)),
    max_leaves=20,
)
QUESTIONS = st.sampled_from(["How did Ofsted rate Havering's child protection services in 2012?", "", "  ",
                             "\x00\x1b[31m", "<img src=x onerror=alert(1)>", "\ud800"])


def bodies(fn_indices: list[int]):
    history = st.one_of(st.just([]), st.lists(st.fixed_dictionaries(
        {"role": st.sampled_from(["user", "assistant", "system", 3]), "content": st.one_of(QUESTIONS, JSON)}),
        max_size=3), JSON)
    shaped = st.one_of(
        st.fixed_dictionaries({"data": st.lists(st.one_of(QUESTIONS, history, JSON), max_size=4)}),
        st.fixed_dictionaries({"question": st.one_of(QUESTIONS, JSON), "history": history}),
        st.fixed_dictionaries({"questions": st.lists(st.one_of(QUESTIONS, JSON, st.fixed_dictionaries(
            {"question": QUESTIONS})), max_size=4)}),
        st.fixed_dictionaries({
            "data": st.lists(st.one_of(QUESTIONS, JSON, st.just({"path": "/etc/passwd",
                                                                 "meta": {"_type": "gradio.FileData"}})), max_size=4),
            "fn_index": st.one_of(st.sampled_from(fn_indices), JSON),
            "session_hash": st.one_of(st.text(min_size=1, max_size=20), JSON),
            "event_data": st.one_of(st.none(), JSON)}),
        st.fixed_dictionaries({"question": QUESTIONS, "top_k": JSON, "method": JSON}),
    )
    as_json = st.one_of(shaped, JSON).map(lambda v: json.dumps(v).encode())
    return st.one_of(st.none(), st.binary(max_size=300), as_json,
                     st.just(b'--b\r\nContent-Disposition: form-data; name="files"; filename="q.jsonl"\r\n\r\n{}\r\n--b--\r\n'))


CONTENT_TYPES = st.sampled_from([None, "application/json", "text/plain", "multipart/form-data; boundary=b",
                                 "multipart/form-data", "application/x-www-form-urlencoded", "application/json; charset=latin-1",
                                 "\x7f/garbage"])


def send(port: int, method: str, path: str, headers: dict[str, str], body: bytes | None) -> int:
    """One request; the status only (event streams are not read: they may never end)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for name, value in headers.items():
            conn.putheader(name, value)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        resp = conn.getresponse()
        if "event-stream" not in (resp.getheader("content-type") or "") and method != "HEAD":
            resp.read(1 << 20)
        return resp.status
    finally:
        conn.close()


@pytest.fixture(scope="module")
def safe_fn_indices(web_server):
    """Every event but the two evaluation runs, which take seconds each (refused when one runs)."""
    deps = web_server.config()["dependencies"]
    return [d["id"] for d in deps if d.get("api_name") not in ("run_default", "run_upload")] + [999]


def test_no_request_gets_a_500_or_leaves_a_traceback(web_server, safe_fn_indices):
    log_start = len(web_server.log())
    port = web_server.port
    seen: list[tuple[str, str, int]] = []

    @FUZZ
    @given(template=st.sampled_from(TEMPLATES), segment=SEGMENT, method=METHODS, body=bodies(safe_fn_indices),
           content_type=CONTENT_TYPES, host=st.sampled_from([f"127.0.0.1:{port}"] * 6 + ["evil.example", "[::1]"]),
           origin=st.sampled_from([None] * 6 + [f"http://127.0.0.1:{port}", "http://evil.example", "null"]))
    def one(template, segment, method, body, content_type, host, origin):
        path = template.replace("{}", segment) if "{}" in template else template
        headers = {"Host": host}
        if content_type:
            headers["Content-Type"] = content_type
        if origin:
            headers["Origin"] = origin
        status = send(port, method, path, headers, body)
        seen.append((method, path, status))
        assert status < 500 or status == 503, (method, path, headers, body, status)

    one()
    log = web_server.log()[log_start:]
    assert "Traceback" not in log and "Exception in ASGI application" not in log, log[-4000:]
    assert len({s for _, _, s in seen}) > 3  # the properties met many kinds of answer, not one refusal
