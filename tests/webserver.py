"""`python -m qa serve` in a subprocess, and raw HTTP against it: what an attacker or a script sees.

Used by tests/test_security.py, tests/test_http_fuzz.py and tests/test_api.py (not a test module).
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT_S = 300  # a first start may build the index with the model


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body)


@dataclass
class Server:
    """A running `qa serve`: its port, its combined stdout/stderr, and its private temp folder."""

    port: int
    proc: subprocess.Popen
    log_path: Path
    tmp: Path  # $TMPDIR and $GRADIO_TEMP_DIR of the server: where any upload could land
    stdout_lines: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text("utf-8", "replace")

    def request(self, method: str, path: str, *, body: bytes | str | None = None,
                headers: dict[str, str] | None = None, timeout: float = 60,
                host: str | None = None) -> Reply:
        """Send exactly this request line: no normalising of the path, the Host header as given."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            conn.putheader("Host", host if host is not None else f"127.0.0.1:{self.port}")
            data = body.encode("utf-8") if isinstance(body, str) else body
            for name, value in (headers or {}).items():
                conn.putheader(name, value)
            if data is not None and not any(k.lower() in ("content-length", "transfer-encoding")
                                            for k in (headers or {})):
                conn.putheader("Content-Length", str(len(data)))
            conn.endheaders(data)
            resp = conn.getresponse()
            return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
        finally:
            conn.close()

    def get(self, path: str, **kw) -> Reply:
        return self.request("GET", path, **kw)

    def post_json(self, path: str, payload, **kw) -> Reply:
        headers = {"Content-Type": "application/json", **kw.pop("headers", {})}
        return self.request("POST", path, body=json.dumps(payload), headers=headers, **kw)

    def config(self) -> dict:
        return self.get("/config").json()

    def fn_index(self, name: str) -> int:
        """The Gradio fn_index of the event whose backend function is called ``name``."""
        for dep in self.config()["dependencies"]:
            if dep.get("api_name") == name:
                return dep["id"]
        raise AssertionError(f"no event {name!r} in /config")

    def queue_call(self, fn_index: int, data: list, *, timeout: float = 300,
                   headers: dict[str, str] | None = None, on_message=None,
                   session: str | None = None) -> list[dict] | Reply:
        """What the page does: join the queue, then read this session's event stream to the end.

        Returns the stream's messages, or the refusal when joining was not accepted.
        """
        session = session or uuid.uuid4().hex[:12]
        joined = self.post_json("/gradio_api/queue/join", {
            "data": data, "fn_index": fn_index, "session_hash": session, "event_data": None, "trigger_id": None,
        }, headers=headers or {})
        if joined.status != 200:
            return joined
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.putrequest("GET", f"/gradio_api/queue/data?session_hash={session}", skip_host=True)
            conn.putheader("Host", f"127.0.0.1:{self.port}")
            conn.endheaders()
            resp = conn.getresponse()
            messages = []
            while True:
                line = resp.fp.readline()
                if not line:
                    break
                line = line.decode("utf-8").strip()
                if line.startswith("data:"):
                    message = json.loads(line[5:])
                    messages.append(message)
                    if on_message is not None:
                        on_message(message)
                    if message.get("msg") in ("process_completed", "close_stream", "unexpected_error"):
                        break
            return messages
        finally:
            conn.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@contextmanager
def qa_server(corpus: Path, index: Path, tmp: Path, args: Sequence[str] = (), *,
              host: str = "127.0.0.1", env: dict[str, str] | None = None) -> Iterator[Server]:
    """Start `python -m qa serve` and wait until /config answers; stop it afterwards."""
    port = free_port()
    tmp.mkdir(parents=True, exist_ok=True)
    log_path = tmp.parent / f"{tmp.name}-serve.log"
    environ = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False",
                   PYTHONUNBUFFERED="1", TMPDIR=str(tmp), GRADIO_TEMP_DIR=str(tmp / "gradio"), **(env or {}))
    cmd = [sys.executable, "-m", "qa", "serve", "--host", host, "--port", str(port),
           "--corpus", str(corpus), "--index", str(index), *args]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=environ, stdout=log, stderr=subprocess.STDOUT)
    server = Server(port, proc, log_path, tmp)
    deadline = time.monotonic() + START_TIMEOUT_S
    try:
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"qa serve exited with {proc.returncode}:\n{server.log()[-3000:]}")
            try:
                if server.get("/config", timeout=5).status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"qa serve not ready after {START_TIMEOUT_S} s:\n{server.log()[-3000:]}")
            time.sleep(0.3)
        yield server
    finally:
        server.stop()


def files_under(folder: Path) -> list[Path]:
    """Every file below ``folder`` (none when it does not exist)."""
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def multipart(field_name: str, filename: str, content: bytes, boundary: str = "qaboundary7f3a") -> tuple[bytes, str]:
    """A multipart/form-data body with one file, and its Content-Type."""
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field_name}\"; filename=\"{filename}\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode() + content + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"
