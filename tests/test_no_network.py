"""Nothing leaves the machine: build an index, answer, and serve the web app (uvicorn on
127.0.0.1, plain HTTP) while every non-loopback connection raises."""

from __future__ import annotations

import ipaddress
import json
import shutil
import socket
import threading
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.model

ROOT = Path(__file__).resolve().parents[1]
QUESTION = "How did Ofsted rate Havering's child protection services in 2012?"
LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback", ""}


def _is_local(host: object) -> bool:
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    host = str(host).strip("[]").split("%")[0]
    if host.lower() in LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Blocked(OSError):
    pass


@pytest.fixture()
def no_network(monkeypatch):
    """Every connection to a non-loopback address raises; the attempts are returned as a list.

    AF_UNIX sockets (the event loop's self-pipe) are allowed, as are 127.0.0.0/8 and ::1. Name
    lookups of other hosts are refused and recorded too.
    """
    attempts: list[str] = []
    connect, connect_ex = socket.socket.connect, socket.socket.connect_ex
    create_connection, getaddrinfo = socket.create_connection, socket.getaddrinfo

    def allowed(sock, address) -> bool:
        if sock.family == getattr(socket, "AF_UNIX", None):
            return True
        host = address[0] if isinstance(address, tuple) else address
        if _is_local(host):
            return True
        attempts.append(f"{sock.family.name} {address!r}")
        return False

    def guarded_connect(self, address):
        if not allowed(self, address):
            raise Blocked(f"test_no_network: connection to {address!r} blocked")
        return connect(self, address)

    def guarded_connect_ex(self, address):
        if not allowed(self, address):
            raise Blocked(f"test_no_network: connection to {address!r} blocked")
        return connect_ex(self, address)

    def guarded_create_connection(address, *args, **kwargs):
        if not _is_local(address[0]):
            attempts.append(f"create_connection {address!r}")
            raise Blocked(f"test_no_network: connection to {address!r} blocked")
        return create_connection(address, *args, **kwargs)

    def guarded_getaddrinfo(host, *args, **kwargs):
        if host is not None and not _is_local(host):
            attempts.append(f"getaddrinfo {host!r}")
            raise socket.gaierror(socket.EAI_NONAME, f"test_no_network: lookup of {host!r} blocked")
        return getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", guarded_connect_ex)
    monkeypatch.setattr(socket, "create_connection", guarded_create_connection)
    monkeypatch.setattr(socket, "getaddrinfo", guarded_getaddrinfo)
    yield attempts


def test_the_guard_blocks_the_internet_and_allows_loopback(no_network):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s, pytest.raises(Blocked):
        s.connect(("93.184.215.14", 80))
    with pytest.raises(Blocked):
        socket.create_connection(("192.0.2.1", 443), timeout=1)
    with pytest.raises(socket.gaierror):
        socket.getaddrinfo("huggingface.co", 443)
    assert len(no_network) == 3
    no_network.clear()
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.create_connection(server.getsockname(), timeout=5):
            pass
    assert no_network == []


def test_index_answer_and_web_app_stay_on_this_machine(no_network, tmp_path):
    import uvicorn

    from qa.web.server import build_app
    from qa.config import Settings
    from qa.pipeline import Engine

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for p in sorted((ROOT / "corpus").glob("*.md")):
        shutil.copy2(p, corpus / p.name)
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index")
    engine = Engine.open(settings)  # a fresh build: embeds every article (the ONNX export may be cached)
    answer = engine.ask(QUESTION)
    assert not answer.abstained and answer.citations
    first = answer.citations[0]

    app = build_app(engine)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           access_log=False, timeout_graceful_shutdown=2))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.1)
        with urllib.request.urlopen(base + "/", timeout=30) as r:
            assert r.status == 200 and "<html" in r.read().decode("utf-8", "replace").lower()
        page_url = f"{base}/articles/{first.article_id}?start={first.start}&end={first.end}"
        with urllib.request.urlopen(page_url, timeout=30) as r:
            assert r.status == 200 and "<mark" in r.read().decode("utf-8")
        for path in ("/config", "/theme.css", "/gradio_api/info", "/api/health", "/api/docs", "/api/openapi.json",
                     "/api/articles"):
            with urllib.request.urlopen(base + path, timeout=30) as r:
                assert r.status == 200, path
        request = urllib.request.Request(base + "/api/ask", data=json.dumps({"question": QUESTION}).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as r:
            assert json.loads(r.read())["answer"] == answer.answer
    finally:
        server.should_exit = True
        thread.join(timeout=15)
    assert no_network == [], f"tried to reach other hosts: {no_network}"
