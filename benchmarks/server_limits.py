"""What one client can do to `qa serve` over a raw socket (issue 23, items 1-2), measured once.

Starts `python -m qa serve` on a copy of corpus/ and measures, each case on its own:

* heads: one request with 60 MB of header lines (status, peak server RSS), a 40 MB head left
  unfinished (RSS while the socket stays open, whether the server closes it), another client's
  /api/health latency while a 50 MB head streams in, and 200 connections sending a header byte
  every 5 s (how many the server has closed after 25 s);
* batches: what 2 issue-sized batches get (100 items, each a 4,000-character follow-up with a
  2,000-character history turn), and another client's /api/ask latency alone, then while 2 and 4
  batches run (the issue's before the bound; the largest allowed after it).

Usage:
    python benchmarks/server_limits.py [--skip-batches]      # prints a Markdown table; ~2 minutes
Results: docs/SAFETY.md ("Measured").
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Peak(threading.Thread):
    """Samples a process's RSS every 20 ms until stopped; ``peak`` in MB."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.proc = psutil.Process(pid)
        self.peak = 0.0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.peak = max(self.peak, self.proc.memory_info().rss / 2**20)
            time.sleep(0.02)

    def stop(self) -> float:
        self.done.set()
        self.join()
        return self.peak


def rss(pid: int) -> float:
    return psutil.Process(pid).memory_info().rss / 2**20


def http(port: int, method: str, path: str, body: bytes = b"", timeout: float = 120) -> tuple[int, float, bytes]:
    """(status, seconds, body) of one request on a fresh connection; status 0 when it failed."""
    t = time.perf_counter()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            head = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
            s.sendall(head + body)
            data = b""
            while chunk := s.recv(65536):
                data += chunk
    except OSError:
        return 0, time.perf_counter() - t, b""
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0
    return status, time.perf_counter() - t, data.split(b"\r\n\r\n", 1)[-1]


def send_head(port: int, megabytes: int, finish: bool) -> tuple[socket.socket, int, str]:
    """Send a GET with ``megabytes`` MB of "X-A: b" lines; (socket, status or 0, what happened)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    s.sendall(f"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n".encode())
    line = b"X-A: b\r\n" * (1 << 14)  # 128 KiB
    sent, what = 0, "sent whole"
    try:
        while sent < megabytes << 20:
            s.sendall(line)
            sent += len(line)
        if finish:
            s.sendall(b"\r\n")
    except OSError as exc:
        what = f"server closed after {sent >> 10} KiB ({type(exc).__name__})"
    if not finish:
        return s, 0, what
    try:
        reply = s.recv(65536)
        status = int(reply.split(b" ", 2)[1]) if reply.startswith(b"HTTP/") else 0
    except OSError:
        status = 0
    return s, status, what


def heads(port: int, pid: int) -> list[tuple[str, str]]:
    rows = [("server RSS at rest", f"{rss(pid):.0f} MB")]
    peak = Peak(pid)
    peak.start()
    t = time.perf_counter()
    s, status, what = send_head(port, 60, finish=True)
    s.close()
    rows.append(("60 MB of header lines", f"status {status or 'none'}, {what}, {time.perf_counter() - t:.1f} s, "
                                          f"peak RSS {peak.stop():.0f} MB"))
    time.sleep(1)
    s, _, what = send_head(port, 40, finish=False)
    time.sleep(2)
    s.settimeout(5)
    try:
        closed = s.recv(1) == b"" or "closed"
    except socket.timeout:
        closed = False
    except OSError:
        closed = True
    rows.append(("40 MB head left unfinished", f"{what}; RSS 2 s later {rss(pid):.0f} MB; "
                                               f"connection {'closed by the server' if closed else 'still open'}"))
    s.close()
    time.sleep(1)
    done = threading.Event()

    def big() -> None:
        c, _, _ = send_head(port, 50, finish=True)
        c.close()
        done.set()

    threading.Thread(target=big, daemon=True).start()
    worst = 0.0
    while not done.is_set():
        status, seconds, _ = http(port, "GET", "/api/health", timeout=30)
        worst = max(worst, seconds)
        time.sleep(0.05)
    rows.append(("/api/health while a 50 MB head streams in", f"worst {worst * 1000:.0f} ms"))
    rows.append(("200 connections sending a header byte every 5 s", slow_heads(port)))
    return rows


def slow_heads(port: int, count: int = 200, window: float = 25.0) -> str:
    socks = []
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        socks.append(s)
    start = time.monotonic()
    closed: dict[int, float] = {}
    while time.monotonic() - start < window and len(closed) < count:
        for i, s in enumerate(socks):
            if i in closed:
                continue
            try:
                s.sendall(b"X")
            except OSError:
                closed[i] = time.monotonic() - start
        time.sleep(5)
    for s in socks:
        s.close()
    if not closed:
        return f"none of {count} closed in {window:.0f} s"
    return f"{len(closed)} of {count} closed by {max(closed.values()):.0f} s"


def issue_batch() -> bytes:
    """The issue's batch: 100 follow-ups of 4,000 characters, each with a 2,000-character turn."""
    item = {"question": ("and " + "the council inspection report " * 130)[:4000],
            "history": [{"role": "user", "content": ("what did the inspectors find " * 70)[:2000]}]}
    return json.dumps({"questions": [item] * 100}).encode()


def allowed_batch() -> bytes:
    """A batch just under the work bound: 100 different questions of about seven words."""
    subjects = ["inspection", "council", "children's services", "report", "improvement", "referrals",
                "social workers", "Ofsted", "assessment", "the mayor"]
    return json.dumps({"questions": [f"What did review {i} say about {subjects[i % 10]}?"
                                     for i in range(100)]}).encode()


def other_client(port: int, count: int, body: bytes) -> tuple[list[tuple[int, float, bytes]], list[float]]:
    """Run ``count`` batches at once; meanwhile ask /api/ask one question after another."""
    ask = json.dumps({"question": "Who carried out the inspection?"}).encode()
    results: list[tuple[int, float, bytes]] = []
    threads = [threading.Thread(target=lambda: results.append(http(port, "POST", "/api/ask/batch", body)))
               for _ in range(count)]
    for t in threads:
        t.start()
    time.sleep(0.3)
    during = []
    while any(t.is_alive() for t in threads) and len(during) < 200:
        during.append(http(port, "POST", "/api/ask", ask)[1])
    for t in threads:
        t.join()
    return results, during


def batches(port: int) -> list[tuple[str, str]]:
    ask = json.dumps({"question": "Who carried out the inspection?"}).encode()
    alone = sorted(http(port, "POST", "/api/ask", ask)[1] for _ in range(9))
    rows = [("/api/ask alone (9 questions)", f"median {alone[4] * 1000:.0f} ms, worst {alone[-1] * 1000:.0f} ms "
                                             f"(load average {os.getloadavg()[0]:.2f})")]
    results, during = other_client(port, 2, issue_batch())
    statuses = ", ".join(f"{status} in {seconds:.1f} s" for status, seconds, _ in results)
    rows.append(("2 issue batches (100 x 4,000-character follow-ups)",
                 f"{statuses}: {results[0][2][:90].decode('utf-8', 'replace')}…"))
    for count in (2, 4):
        results, during = other_client(port, count, allowed_batch())
        during = sorted(during) or [0.0]
        statuses = ", ".join(f"{status} in {seconds:.1f} s" for status, seconds, _ in results)
        rows.append((f"/api/ask while {count} batches just under the bound run ({statuses})",
                     f"median {during[len(during) // 2] * 1000:.0f} ms, worst {during[-1] * 1000:.0f} ms over "
                     f"{len(during)} questions (load average {os.getloadavg()[0]:.2f})"))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--skip-batches", action="store_true")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="qa-limits-"))
    corpus = tmp / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    log = open(tmp / "serve.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "qa", "serve", "--port", str(port), "--corpus", str(corpus),
                             "--index", str(tmp / "index")], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 300
        while http(port, "GET", "/api/health", timeout=5)[0] != 200:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"qa serve did not start:\n{(tmp / 'serve.log').read_text()[-2000:]}")
            time.sleep(0.5)
        rows = heads(port, proc.pid)
        if not args.skip_batches:
            rows += batches(port)
        print("| case | result |\n|---|---|")
        for case, result in rows:
            print(f"| {case} | {result} |")
        tracebacks = (tmp / "serve.log").read_text("utf-8", "replace").count("Traceback")
        print(f"\nserver log: {tracebacks} traceback(s); load average {os.getloadavg()[0]:.2f}")
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
