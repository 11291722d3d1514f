"""Load on `qa serve`'s JSON API (POST /api/ask) (issue 18; Gradio's /ask, compared here before, is gone).

Starts `python -m qa serve` on the five articles (a fresh index in a temp folder, or --index), then:

1. one client, keep-alive, warm: p50 / p95 of POST /api/ask;
2. 20 clients x 50 mixed requests (plain, follow-ups with history, unanswerable, bad input): errors
   other than the intended 4xx, answers that are not the one for the client's own request, p95,
   throughput; then 5,000 more requests and the server's RSS growth over them;
3. overload: 100 clients asking for a few seconds: every request gets an answer or a 503, the p99
   of the 503s, and no timeouts;
4. (--concurrency 1,2,4) run 2 once per QA_CONCURRENCY to pick the pool size.

Clients are asyncio streams in this process speaking plain HTTP/1.1 (one keep-alive connection
each; a few lines, far cheaper per request than httpx), so that most of the two cores they share
with the server go to the server. The single-client figures use httpx, as a script would. The
engine alone is timed on the same mix, in this process, for reference.

    python benchmarks/api_load.py                       # writes benchmarks/api_load.md
    python benchmarks/api_load.py --concurrency 1,2,4   # also compares pool sizes
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchutil import REPO, bench_env, cpu_model, free_port, load_average, percentile, write_results  # noqa: E402
from qa.config import setting  # noqa: E402

QUESTIONS = REPO / "corpus" / "questions.jsonl"
OUT = REPO / "benchmarks" / "api_load.md"
BAD = [{"question": ""}, {"question": "   "}, {"question": "Who?", "top_k": 0}, {"question": "Who?", "method": "x"},
       {"question": "Who?", "history": "not a list"}]


class Server:
    def __init__(self, corpus: Path, index: Path, concurrency: int, log: Path):
        self.port = free_port()
        env = bench_env(QA_CONCURRENCY=str(concurrency), QA_QUEUE=str(setting("QA_QUEUE")))
        cmd = [sys.executable, "-m", "qa", "serve", "--port", str(self.port), "--corpus", str(corpus),
               "--index", str(index)]
        self.log = log
        self.proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 600
        while True:
            if self.proc.poll() is not None:
                raise SystemExit(f"qa serve exited:\n{log.read_text()[-2000:]}")
            try:
                if httpx.get(self.url + "/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("qa serve did not start")
            time.sleep(0.3)

    def rss_mb(self) -> float:
        return psutil.Process(self.proc.pid).memory_info().rss / 2**20

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def fingerprint(answer: dict) -> tuple:
    """What must be the same in every answer to one request (scores may differ in the last digit)."""
    if "error" in answer:
        return ("error",)
    return (answer["question"], answer["query"], answer["answer"], answer["abstained"],
            tuple((c["article_id"], c["start"], c["end"]) for c in answer["citations"]))


def workload(base: str) -> list[tuple[dict, int, tuple | None]]:
    """(request body, expected status, expected fingerprint): plain, follow-up, unanswerable, bad."""
    rows = [json.loads(line) for line in QUESTIONS.read_text("utf-8").splitlines() if line.strip()]
    out = []
    with httpx.Client(base_url=base, timeout=60) as client:
        for row in rows:
            history: list[dict] = []
            for earlier in row["history"]:
                prior = client.post("/api/ask", json={"question": earlier, "history": history}).json()
                history += [{"role": "user", "content": earlier},
                            {"role": "assistant", "content": prior["answer"] or prior["message"]}]
            body = {"question": row["question"], "history": history}
            reply = client.post("/api/ask", json=body)
            out.append((body, 200, fingerprint(reply.json())))
        for body in BAD:
            out.append((body, 422, None))
    return out


class RawClient:
    """A minimal HTTP/1.1 keep-alive client on asyncio streams: a load generator that costs the
    machine far less CPU per request than httpx, so more of the two cores go to the server."""

    def __init__(self, port: int):
        self.port = port
        self.reader = self.writer = None

    async def _connect(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)

    async def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, dict, bytes]:
        if self.writer is None:
            await self._connect()
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        self.writer.write(head.encode() + b"\r\n" + (body or b""))
        status_line = await self.reader.readline()
        if not status_line:  # the server closed the connection: once more on a new one
            await self.close()
            await self._connect()
            return await self.request(method, path, body)
        status = int(status_line.split()[1])
        headers = {}
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            data = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding") == "chunked":
            parts = []
            while (size := int((await self.reader.readline()).strip() or b"0", 16)):
                parts.append(await self.reader.readexactly(size))
                await self.reader.readline()
            await self.reader.readline()
            data = b"".join(parts)
        else:
            data = await self.reader.read()
        if headers.get("connection") == "close":
            await self.close()
        return status, headers, data

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = self.reader = None


@dataclass
class Run:
    latencies: list[float] = field(default_factory=list)
    by_status: dict[int, int] = field(default_factory=dict)
    wrong: int = 0
    unexpected: list[str] = field(default_factory=list)
    timeouts: int = 0
    refusal_latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def answered(self) -> int:
        return self.by_status.get(200, 0)


async def api_client(port: int, jobs: list, run: Run) -> None:
    client = RawClient(port)
    try:
        for body, status, expected in jobs:
            t0 = time.perf_counter()
            try:
                code, _, data = await asyncio.wait_for(client.request("POST", "/api/ask", json.dumps(body).encode()), 30)
            except asyncio.TimeoutError:
                run.timeouts += 1
                await client.close()
                continue
            run.latencies.append(time.perf_counter() - t0)
            run.by_status[code] = run.by_status.get(code, 0) + 1
            if code != status:
                run.unexpected.append(f"{code} for {json.dumps(body)[:80]}: {data[:120]!r}")
            elif expected is not None and fingerprint(json.loads(data)) != expected:
                run.wrong += 1
    finally:
        await client.close()


async def many(client_fn, port: int, clients: int, per_client: int, work: list, seed: int) -> Run:
    rng = random.Random(seed)
    run = Run()
    jobs = [[rng.choice(work) for _ in range(per_client)] for _ in range(clients)]
    t0 = time.perf_counter()
    await asyncio.gather(*(client_fn(port, j, run) for j in jobs))
    run.seconds = time.perf_counter() - t0
    return run


async def for_seconds(port: int, clients: int, seconds: float, work: list, *, polite: bool) -> Run:
    """``clients`` asking back to back for ``seconds``; ``polite`` ones wait Retry-After after a 503."""
    run = Run()
    stop = time.perf_counter() + seconds
    rng = random.Random(7)

    async def one() -> None:
        c = RawClient(port)
        try:
            while time.perf_counter() < stop:
                body, status, _ = rng.choice(work)
                t0 = time.perf_counter()
                try:
                    code, headers, data = await asyncio.wait_for(
                        c.request("POST", "/api/ask", json.dumps(body).encode()), 30)
                except asyncio.TimeoutError:
                    run.timeouts += 1
                    await c.close()
                    continue
                took = time.perf_counter() - t0
                run.by_status[code] = run.by_status.get(code, 0) + 1
                (run.refusal_latencies if code == 503 else run.latencies).append(took)
                if code not in (status, 503):
                    run.unexpected.append(f"{code}: {data[:100]!r}")
                if code == 503 and polite:
                    await asyncio.sleep(float(headers.get("retry-after", "1")))
        finally:
            await c.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(clients)))
    run.seconds = time.perf_counter() - t0
    return run


def engine_alone(index: Path, corpus: Path, good: list, n: int = 300) -> tuple[list[float], float, float]:
    """The same mix asked of an engine in this process: latencies (one thread), and answers/s with
    one thread and with two."""
    from concurrent.futures import ThreadPoolExecutor

    from qa.config import Settings
    from qa.pipeline import Engine

    engine = Engine.load(index, Settings(corpus_dir=corpus, index_dir=index))
    bodies = [good[i % len(good)][0] for i in range(n)]
    for body in bodies[:30]:
        engine.ask(body["question"], body["history"])
    seconds = []
    t0 = time.perf_counter()
    for body in bodies:
        t1 = time.perf_counter()
        engine.ask(body["question"], body["history"])
        seconds.append(time.perf_counter() - t1)
    one = n / (time.perf_counter() - t0)
    with ThreadPoolExecutor(2) as pool:
        t0 = time.perf_counter()
        list(pool.map(lambda b: engine.ask(b["question"], b["history"]), bodies))
        two = n / (time.perf_counter() - t0)
    return seconds, one, two


def ms(values: list[float], q: float) -> str:
    return f"{percentile(values, q) * 1000:.1f}" if values else "–"


def row(name: str, run: Run) -> str:
    errors = len(run.unexpected) + run.timeouts
    return (f"| {name} | {sum(run.by_status.values())} | {errors} | {run.wrong} | {ms(run.latencies, 50)} | "
            f"{ms(run.latencies, 95)} | {ms(run.latencies, 99)} | {run.answered / run.seconds:.0f} |")



def server_stack() -> str:
    """Which event loop and HTTP parser uvicorn picks here ("auto" takes uvloop and httptools when installed)."""
    from importlib.metadata import PackageNotFoundError, version

    def have(name: str) -> str:
        try:
            return f"{name} {version(name)}"
        except PackageNotFoundError:
            return f"no {name}"
    return f"Server: uvicorn {version('uvicorn')} with {have('uvloop')} and {have('httptools')}."


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, help="an index of corpus/ to use (default: build one in a temp folder)")
    parser.add_argument("--concurrency", default="", help="also run the mixed load for these QA_CONCURRENCY values")
    parser.add_argument("--rss-requests", type=int, default=5000)
    parser.add_argument("--overload-seconds", type=float, default=8.0)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="qa-api-load-"))
    corpus = tmp / "corpus"
    corpus.mkdir()
    for p in (REPO / "corpus").glob("*.md"):
        shutil.copy2(p, corpus / p.name)
    index = args.index or tmp / "index"
    lines = ["# HTTP API under load (benchmarks/api_load.py)", "",
             f"Machine: {cpu_model()}, {os.cpu_count()} cores; load average before: {load_average()}. "
             "Server and clients share the machine; load clients are plain HTTP/1.1 on asyncio streams in one "
             "process, one keep-alive connection each. `python benchmarks/api_load.py"
             + (f" --concurrency {args.concurrency}" if args.concurrency else "") + "`. "
             + server_stack(), ""]
    try:
        server = Server(corpus, index, setting("QA_CONCURRENCY"), tmp / "serve.log")
        try:
            work = workload(server.url)
            good = [w for w in work if w[1] == 200]
            # 1. one client, warm, keep-alive
            with httpx.Client(base_url=server.url, timeout=30) as client:
                for body, _, _ in good[:30]:
                    client.post("/api/ask", json=body)
                single = []
                for i in range(300):
                    body = good[i % len(good)][0]
                    t0 = time.perf_counter()
                    client.post("/api/ask", json=body)
                    single.append(time.perf_counter() - t0)
            alone, one_thread, two_threads = engine_alone(index, corpus, good)
            lines += ["## One client, keep-alive, warm", "",
                      "| endpoint | requests | p50 ms | p95 ms |", "|---|---:|---:|---:|",
                      f"| the engine alone (`engine.ask`, in process) | {len(alone)} | {ms(alone, 50)} | "
                      f"{ms(alone, 95)} |",
                      f"| POST /api/ask | {len(single)} | {ms(single, 50)} | {ms(single, 95)} |",
                      "",
                      f"The engine alone on this mix: {one_thread:.0f} answers/s on one thread, {two_threads:.0f} "
                      "on two (the ceiling for QA_CONCURRENCY=2 on this machine now).", ""]
            # 2. 20 clients x 50 mixed
            mixed = asyncio.run(many(api_client, server.port, 20, 50, work, 1))
            rss_before = server.rss_mb()
            soak = asyncio.run(many(api_client, server.port, 20, args.rss_requests // 20, work, 2))
            rss_after = server.rss_mb()
            lines += ["## 20 clients at once, mixed requests", "",
                      f"Mix: the {len(good)} questions of corpus/questions.jsonl (follow-ups sent with the history "
                      f"the chat would send, unanswerable ones included) and {len(BAD)} bad requests (intended 422). "
                      "*Errors* are statuses other than the intended ones and timeouts; *wrong answers* are "
                      "answers whose question, query, quotes or citations differ from the one computed for "
                      "that request alone before the run.", "",
                      "| run | requests | errors | wrong answers | p50 ms | p95 ms | p99 ms | answers/s |",
                      "|---|---:|---:|---:|---:|---:|---:|---:|",
                      row("POST /api/ask, 20 x 50", mixed), row(f"POST /api/ask, 20 x {args.rss_requests // 20}", soak),
                      "",
                      f"Server RSS over the {args.rss_requests} requests: {rss_before:.0f} MB → {rss_after:.0f} MB "
                      f"({rss_after - rss_before:+.1f} MB).", ""]
            for problem in (mixed.unexpected + soak.unexpected)[:10]:
                lines.append(f"- {problem}")
            # 4. overload
            lines += [f"## Overload: 100 clients asking back to back for {args.overload_seconds:.0f} s", "",
                      "*Polite* clients wait the Retry-After a 503 names before asking again; *impatient* "
                      "ones ask again at once.", "",
                      "| clients | requests | answered (200/422) | 503 | timeouts | p50 / p99 of the 503s ms | "
                      "p50 / p95 of the answers ms |", "|---|---:|---:|---:|---:|---:|---:|"]
            for polite in (True, False):
                over = asyncio.run(for_seconds(server.port, 100, args.overload_seconds, work, polite=polite))
                lines.append(
                    f"| {'polite' if polite else 'impatient'} | {sum(over.by_status.values())} | "
                    f"{over.by_status.get(200, 0) + over.by_status.get(422, 0)} | {over.by_status.get(503, 0)} | "
                    f"{over.timeouts} | {ms(over.refusal_latencies, 50)} / {ms(over.refusal_latencies, 99)} | "
                    f"{ms(over.latencies, 50)} / {ms(over.latencies, 95)} |")
            lines.append("")
        finally:
            server.stop()
        # 5. pool sizes
        if args.concurrency:
            lines += ["## Pool size (QA_CONCURRENCY), 20 clients x 50 mixed", "",
                      "| QA_CONCURRENCY | requests | errors | wrong answers | p50 ms | p95 ms | p99 ms | answers/s |",
                      "|---|---:|---:|---:|---:|---:|---:|---:|"]
            for c in [int(x) for x in args.concurrency.split(",") if x]:
                s = Server(corpus, index, c, tmp / f"serve-{c}.log")
                try:
                    w = workload(s.url)
                    asyncio.run(many(api_client, s.port, 20, 10, w, 9))  # warm
                    lines.append(row(str(c), asyncio.run(many(api_client, s.port, 20, 50, w, 1))))
                finally:
                    s.stop()
            lines.append("")
        lines.append(f"Load average after: {load_average()}.")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    text = "\n".join(lines) + "\n"
    write_results(args.out, text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
