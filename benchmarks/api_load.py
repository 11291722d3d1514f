"""Load on `qa serve`'s JSON API (POST /api/ask) and, for comparison, on Gradio's /ask (issue 18).

Starts `python -m qa serve` on the five articles (a fresh index in a temp folder, or --index), then:

1. one client, keep-alive, warm: p50 / p95 of POST /api/ask;
2. 20 clients x 50 mixed requests (plain, follow-ups with history, unanswerable, bad input): errors
   other than the intended 4xx, answers that are not the one for the client's own request, p95,
   throughput; then 5,000 more requests and the server's RSS growth over them;
3. the same mixed run (fewer requests: it is slow) against Gradio's /ask over its queue
   (POST /gradio_api/call/ask, then the event stream), as README's curl does;
4. overload: 100 clients asking for a few seconds: every request gets an answer or a 503, the p99
   of the 503s, and no timeouts;
5. (--concurrency 1,2,4) run 2 once per QA_CONCURRENCY to pick the pool size.

Clients are asyncio + httpx in this process (one connection each), so they cost the machine little
next to threads; they share its two cores with the server all the same.

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
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchutil import REPO, bench_env, cpu_model, load_average, percentile  # noqa: E402

QUESTIONS = REPO / "corpus" / "questions.jsonl"
OUT = REPO / "benchmarks" / "api_load.md"
BAD = [{"question": ""}, {"question": "   "}, {"question": "Who?", "top_k": 0}, {"question": "Who?", "method": "x"},
       {"question": "Who?", "history": "not a list"}]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, corpus: Path, index: Path, concurrency: int, log: Path):
        self.port = free_port()
        env = bench_env(QA_CONCURRENCY=str(concurrency), QA_QUEUE=os.environ.get("QA_QUEUE", "32"))
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


async def api_client(base: str, jobs: list, run: Run, *, expect_refusals: bool = False) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=httpx.Limits(max_connections=1)) as client:
        for body, status, expected in jobs:
            t0 = time.perf_counter()
            try:
                reply = await client.post("/api/ask", json=body)
            except httpx.TimeoutException:
                run.timeouts += 1
                continue
            took = time.perf_counter() - t0
            run.by_status[reply.status_code] = run.by_status.get(reply.status_code, 0) + 1
            if reply.status_code == 503 and expect_refusals:
                run.refusal_latencies.append(took)
                continue
            run.latencies.append(took)
            if reply.status_code != status:
                run.unexpected.append(f"{reply.status_code} for {json.dumps(body)[:80]}: {reply.text[:120]}")
            elif expected is not None and fingerprint(reply.json()) != expected:
                run.wrong += 1


async def gradio_client(base: str, jobs: list, run: Run) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=httpx.Limits(max_connections=1)) as client:
        for body, status, expected in jobs:
            t0 = time.perf_counter()
            try:
                joined = await client.post("/gradio_api/call/ask", json={"data": [body.get("question"),
                                                                                  body.get("history", [])]})
                if joined.status_code != 200:
                    result, code = joined.json(), joined.status_code
                else:
                    stream = await client.get(f"/gradio_api/call/ask/{joined.json()['event_id']}")
                    last = [line for line in stream.text.splitlines() if line.startswith("data:")][-1]
                    result, code = json.loads(last[5:])[0], 200
            except (httpx.TimeoutException, IndexError, ValueError, KeyError) as exc:
                run.timeouts += 1
                run.unexpected.append(repr(exc)[:120])
                continue
            run.latencies.append(time.perf_counter() - t0)
            run.by_status[code] = run.by_status.get(code, 0) + 1
            if expected is not None and fingerprint(result) != expected:
                run.wrong += 1
            # Gradio's /ask answers a bad request with {"error": …} inside a 200 event, not a 4xx


async def many(client_fn, base: str, clients: int, per_client: int, work: list, seed: int, **kw) -> Run:
    rng = random.Random(seed)
    run = Run()
    jobs = [[rng.choice(work) for _ in range(per_client)] for _ in range(clients)]
    t0 = time.perf_counter()
    await asyncio.gather(*(client_fn(base, j, run, **kw) for j in jobs))
    run.seconds = time.perf_counter() - t0
    return run


async def for_seconds(base: str, clients: int, seconds: float, work: list, *, polite: bool) -> Run:
    """``clients`` asking back to back for ``seconds``; ``polite`` ones wait Retry-After after a 503."""
    run = Run()
    stop = time.perf_counter() + seconds
    rng = random.Random(7)

    async def one() -> None:
        async with httpx.AsyncClient(base_url=base, timeout=30, limits=httpx.Limits(max_connections=1)) as c:
            while time.perf_counter() < stop:
                body, status, _ = rng.choice(work)
                t0 = time.perf_counter()
                try:
                    reply = await c.post("/api/ask", json=body)
                except httpx.TimeoutException:
                    run.timeouts += 1
                    continue
                took = time.perf_counter() - t0
                run.by_status[reply.status_code] = run.by_status.get(reply.status_code, 0) + 1
                (run.refusal_latencies if reply.status_code == 503 else run.latencies).append(took)
                if reply.status_code not in (status, 503):
                    run.unexpected.append(f"{reply.status_code}: {reply.text[:100]}")
                if reply.status_code == 503 and polite:
                    await asyncio.sleep(float(reply.headers.get("retry-after", "1")))

    t0 = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(clients)))
    run.seconds = time.perf_counter() - t0
    return run


def ms(values: list[float], q: float) -> str:
    return f"{percentile(values, q) * 1000:.1f}" if values else "–"


def row(name: str, run: Run) -> str:
    errors = len(run.unexpected) + run.timeouts
    return (f"| {name} | {sum(run.by_status.values())} | {errors} | {run.wrong} | {ms(run.latencies, 50)} | "
            f"{ms(run.latencies, 95)} | {ms(run.latencies, 99)} | {run.answered / run.seconds:.0f} |")


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
             "Server and clients share the machine; clients are asyncio + httpx in one process, one "
             "keep-alive connection each. `python benchmarks/api_load.py"
             + (f" --concurrency {args.concurrency}" if args.concurrency else "") + "`.", ""]
    try:
        server = Server(corpus, index, int(os.environ.get("QA_CONCURRENCY", "2")), tmp / "serve.log")
        try:
            work = workload(server.url)
            good = [w for w in work if w[1] == 200]
            # 1. one client, warm, keep-alive
            with httpx.Client(base_url=server.url, timeout=30) as client:
                for body, _, _ in good[:30]:
                    client.post("/api/ask", json=body)
                single, gradio_single = [], []
                for i in range(300):
                    body = good[i % len(good)][0]
                    t0 = time.perf_counter()
                    client.post("/api/ask", json=body)
                    single.append(time.perf_counter() - t0)
                for i in range(60):
                    body = good[i % len(good)][0]
                    t0 = time.perf_counter()
                    joined = client.post("/gradio_api/call/ask", json={"data": [body["question"], body["history"]]})
                    client.get(f"/gradio_api/call/ask/{joined.json()['event_id']}")
                    gradio_single.append(time.perf_counter() - t0)
            lines += ["## One client, keep-alive, warm", "",
                      "| endpoint | requests | p50 ms | p95 ms |", "|---|---:|---:|---:|",
                      f"| POST /api/ask | {len(single)} | {ms(single, 50)} | {ms(single, 95)} |",
                      f"| Gradio /ask (call + event stream) | {len(gradio_single)} | {ms(gradio_single, 50)} | "
                      f"{ms(gradio_single, 95)} |", ""]
            # 2. 20 clients x 50 mixed
            mixed = asyncio.run(many(api_client, server.url, 20, 50, work, 1))
            rss_before = server.rss_mb()
            soak = asyncio.run(many(api_client, server.url, 20, args.rss_requests // 20, work, 2))
            rss_after = server.rss_mb()
            # 3. Gradio's /ask, same mix, fewer requests
            gradio = asyncio.run(many(gradio_client, server.url, 20, 10, work, 3))
            lines += ["## 20 clients at once, mixed requests", "",
                      f"Mix: the {len(good)} questions of corpus/questions.jsonl (follow-ups sent with the history "
                      f"the chat would send, unanswerable ones included) and {len(BAD)} bad requests (intended 422). "
                      "*Errors* are statuses other than the intended ones and timeouts; *wrong answers* are "
                      "answers whose question, query, quotes or citations differ from the one computed for "
                      "that request alone before the run.", "",
                      "| run | requests | errors | wrong answers | p50 ms | p95 ms | p99 ms | answers/s |",
                      "|---|---:|---:|---:|---:|---:|---:|---:|",
                      row("POST /api/ask, 20 x 50", mixed), row(f"POST /api/ask, 20 x {args.rss_requests // 20}", soak),
                      row("Gradio /ask, 20 x 10", gradio), "",
                      f"Server RSS over the {args.rss_requests} requests: {rss_before:.0f} MB → {rss_after:.0f} MB "
                      f"({rss_after - rss_before:+.1f} MB).", ""]
            for problem in (mixed.unexpected + soak.unexpected + gradio.unexpected)[:10]:
                lines.append(f"- {problem}")
            # 4. overload
            lines += [f"## Overload: 100 clients asking back to back for {args.overload_seconds:.0f} s", "",
                      "*Polite* clients wait the Retry-After a 503 names before asking again; *impatient* "
                      "ones ask again at once.", "",
                      "| clients | requests | answered (200/422) | 503 | timeouts | p50 / p99 of the 503s ms | "
                      "p50 / p95 of the answers ms |", "|---|---:|---:|---:|---:|---:|---:|"]
            for polite in (True, False):
                over = asyncio.run(for_seconds(server.url, 100, args.overload_seconds, work, polite=polite))
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
                    asyncio.run(many(api_client, s.url, 20, 10, w, 9))  # warm
                    lines.append(row(str(c), asyncio.run(many(api_client, s.url, 20, 50, w, 1))).replace(
                        f"| {c} |", f"| {c} |", 1))
                finally:
                    s.stop()
            lines.append("")
        lines.append(f"Load average after: {load_average()}.")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    text = "\n".join(lines) + "\n"
    args.out.write_text(text, "utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
