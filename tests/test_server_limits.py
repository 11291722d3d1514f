"""Issue 23, the server items, tried as an attacker would: raw sockets and HTTP against a running
`python -m qa serve` (tests/webserver.py). Each test failed on the code before the fix.

Figures (memory, other clients' latency) are measured by benchmarks/server_limits.py, not here.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time

import psutil
import pytest

from webserver import ROOT

pytestmark = pytest.mark.model

QUESTION = "How did Ofsted rate Havering's child protection services in 2012?"


def rss_mb(server) -> float:
    return psutil.Process(server.proc.pid).memory_info().rss / 2**20


def raw(server, data: bytes, *, timeout: float = 30) -> bytes:
    """Send ``data`` on a fresh connection and read until the server closes it (or ``timeout``)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as s:
        try:
            s.sendall(data)
        except OSError:  # the server refused and closed while we were still sending
            pass
        reply = b""
        try:
            while chunk := s.recv(65536):
                reply += chunk
        except OSError:
            pass
    return reply


def status_of(reply: bytes) -> int:
    return int(reply.split(b" ", 2)[1]) if reply.startswith(b"HTTP/1.1 ") else 0


def head(server, extra: bytes = b"", path: str = "/api/health") -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nConnection: close\r\n".encode() + extra


# ------------------------------------------------------------------ 1. request heads


def test_a_request_head_over_64_kib_is_refused_without_being_buffered(web_server):
    from qa.web.limits import MAX_HEAD_BYTES

    before = rss_mb(web_server)
    reply = raw(web_server, head(web_server, b"X-A: b\r\n" * (20 << 20 >> 3) + b"\r\n"))  # 20 MB of headers
    assert status_of(reply) == 431, reply[:200]
    assert b"KiB" in reply and rss_mb(web_server) - before < 50
    # A head under the limit is answered; a body well over it is a body, not a head.
    fits = raw(web_server, head(web_server, b"X-A: b\r\n" * ((MAX_HEAD_BYTES - 1024) >> 3) + b"\r\n"))
    assert status_of(fits) == 200, fits[:200]
    body = json.dumps({"question": QUESTION, "history": [{"role": "user", "content": "x" * 9000}] * 20}).encode()
    post = (f"POST /api/ask HTTP/1.1\r\nHost: 127.0.0.1:{web_server.port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body
    assert len(body) > 2 * MAX_HEAD_BYTES and status_of(raw(web_server, post, timeout=120)) == 200


def test_a_head_that_does_not_arrive_within_the_timeout_is_answered_408_and_closed(web_server):
    from qa.web.limits import HEAD_TIMEOUT_S

    socks = [socket.create_connection(("127.0.0.1", web_server.port), timeout=5) for _ in range(6)]
    for s in socks[:3]:
        s.sendall(head(web_server))  # a head that is never finished, one byte a second after
    start, closed = time.monotonic(), {}
    while len(closed) < len(socks) and time.monotonic() - start < HEAD_TIMEOUT_S + 10:
        for i, s in enumerate(socks):
            if i in closed:
                continue
            try:
                if i < 3:
                    s.sendall(b"X")
                s.settimeout(0.01)
                data = s.recv(4096)
                if data is not None:
                    closed[i] = (time.monotonic() - start, data)
            except socket.timeout:
                pass
            except OSError:
                closed[i] = (time.monotonic() - start, b"")
        time.sleep(1)
    for s in socks:
        s.close()
    assert len(closed) == len(socks), f"{len(socks) - len(closed)} slow connections were still open"
    assert all(seconds >= HEAD_TIMEOUT_S - 1 for seconds, _ in closed.values())
    assert any(data.startswith(b"HTTP/1.1 408") for _, data in closed.values())
    assert web_server.get("/api/health").status == 200


def test_connections_beyond_the_cap_are_refused_at_once(web_server):
    from qa.web.limits import MAX_CONNECTIONS

    socks = []
    try:
        for _ in range(MAX_CONNECTIONS):
            socks.append(socket.create_connection(("127.0.0.1", web_server.port), timeout=10))
        time.sleep(1)  # let the server accept them all
        reply = raw(web_server, head(web_server) + b"\r\n", timeout=10)
        assert status_of(reply) == 503 and b"connections open" in reply, reply[:200]
    finally:
        for s in socks:
            s.close()
    time.sleep(1)
    assert web_server.get("/api/health").status == 200


# ------------------------------------------------------------------ 2. one request's work


def test_a_batch_over_the_work_bound_is_refused_before_any_work(web_server):
    item = {"question": ("and " + "the council inspection report " * 130)[:4000],
            "history": [{"role": "user", "content": ("what did the inspectors find " * 70)[:2000]}]}
    start = time.monotonic()
    reply = web_server.post_json("/api/ask/batch", {"questions": [item] * 100})
    assert reply.status == 422 and "words" in reply.json()["error"], reply.text[:300]
    assert time.monotonic() - start < 5  # refused, not answered: the batch above takes ~40 s of work
    # 100 ordinary questions are within it.
    fine = web_server.post_json("/api/ask/batch", {"questions": [QUESTION, "Who led the inspection?"] * 50},
                                timeout=300)
    assert fine.status == 200 and len(fine.json()) == 100 and "error" not in fine.json()[0]


def test_other_clients_are_answered_between_the_items_of_running_batches(web_server):
    """Two batches used to hold both answer threads until done: a question waited for a whole batch."""
    batch = {"questions": [f"What did review {i} say about the council?" for i in range(100)]}
    finished: list[float] = []

    def run() -> None:
        reply = web_server.post_json("/api/ask/batch", batch, timeout=300)
        assert reply.status == 200
        finished.append(time.monotonic())

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    reply = web_server.post_json("/api/ask", {"question": QUESTION})
    answered = time.monotonic()
    for t in threads:
        t.join()
    assert reply.status == 200 and len(finished) == 2
    assert answered < min(finished), "the question waited for a whole batch"


# ------------------------------------------------------------------ 5. Host and Origin


@pytest.mark.parametrize("host", ["[::1]evil.example", "127.0.0.1:{port}@evil.example", "[::1]:{port}evil",
                                  "127.0.0.1 evil.example", "127.0.0.1:{port}:80", "127.0.0.1:99999",
                                  "[evil.example]:{port}", "localhost:{port}/evil", "127.0.0.1:{port}\tx"])
def test_host_headers_that_are_not_exactly_a_host_and_port_are_refused(web_server, host):
    reply = web_server.get("/config", host=host.format(port=web_server.port))
    assert reply.status in (400, 421), (host, reply.status)
    assert "dependencies" not in reply.text


@pytest.mark.parametrize("order", ["good first", "evil first"])
def test_a_request_with_two_host_headers_is_refused(web_server, order):
    hosts = [f"127.0.0.1:{web_server.port}", "evil.example"]
    if order == "evil first":
        hosts.reverse()
    data = (f"GET /config HTTP/1.1\r\nHost: {hosts[0]}\r\nHost: {hosts[1]}\r\nConnection: close\r\n\r\n").encode()
    reply = raw(web_server, data)
    assert status_of(reply) == 400 and b"Host" in reply and b"dependencies" not in reply, reply[:300]


@pytest.mark.parametrize("origin", ["https://127.0.0.1:{port}", "ws://127.0.0.1:{port}", "http://127.0.0.1:{port}/x",
                                    "http://[::1]evil.example", "http://127.0.0.1:{port}@evil.example"])
def test_an_origin_of_another_scheme_or_a_malformed_one_is_refused(web_server, origin):
    reply = web_server.post_json("/api/ask", {"question": QUESTION}, headers={"Origin": origin.format(port=web_server.port)})
    assert reply.status == 403, (origin, reply.status)
    same = web_server.post_json("/api/ask", {"question": QUESTION}, headers={"Origin": web_server.url})
    assert same.status == 200


# ------------------------------------------------------------------ 6. nesting


def test_json_nested_200000_deep_is_a_4xx_and_no_traceback_on_any_route(web_server):
    deep = "[" * 200_000 + "]" * 200_000
    before = web_server.log().count("Traceback")
    for path, body in [("/api/ask", '{"question": "Who?", "history": %s}' % deep),
                       ("/api/ask/batch", '{"questions": %s}' % deep),
                       ("/gradio_api/queue/join", '{"fn_index": 0, "data": %s, "session_hash": "abc"}' % deep)]:
        reply = web_server.request("POST", path, body=body, headers={"Content-Type": "application/json"})
        assert 400 <= reply.status < 500 or "nested too deeply" in reply.text, (path, reply.status, reply.text[:200])
        assert "error" in reply.text
    time.sleep(0.5)
    assert web_server.log().count("Traceback") == before, web_server.log()[-3000:]


# ------------------------------------------------------------------ 7. the port


@pytest.mark.parametrize("port", ["70000", "0", "-1", "http", "65536"])
def test_a_port_out_of_range_is_a_usage_error(port):
    done = subprocess.run([sys.executable, "-m", "qa", "serve", "--port", port, "--corpus", "nowhere"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "not a port" in done.stderr and "Traceback" not in done.stderr, done.stderr
