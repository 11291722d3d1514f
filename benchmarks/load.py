"""Load test of the web API: 20 concurrent users x 25 questions (POST /api/ask) against `qa serve`.

Each user asks a mix of questions (answerable, follow-ups with history, unanswerable, and bad input:
"", "   ", a 5,000-character string, markup, control characters, history that is not JSON), every
one carrying a marker word of its own that must come back in the answer's ``question``. Checked:
no request fails, bad input gets the documented ``{"error": ...}``, every answer has the documented
shape with each quote and passage an exact slice of its article, and no user ever gets another
user's answer. Reported: p50/p95/p99 latency and throughput for each QA_CONCURRENCY setting.

Only 127.0.0.1 is contacted: connections to any other address raise in this process.

    python benchmarks/load.py [--concurrency 1,2,4] [--users 20] [--questions 25] [--budget-s 240]
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(HERE))
from benchutil import free_port, percentile  # noqa: E402
from qa.text import clean_question  # noqa: E402

ANSWER_KEYS = {"question", "answer", "abstained", "message", "confidence", "dated", "query", "notices",
               "citations", "passages"}
CITATION_KEYS = {"number", "article_id", "title", "date", "date_approximate", "source", "url", "start", "end",
                 "quote", "chunk_id", "score", "short_answer"}
PASSAGE_KEYS = {"rank", "article_id", "chunk_id", "title", "date", "score", "scores", "start", "end", "text"}
MARKER_RE = re.compile(r"zq\d\dx\d\d")
START_TIMEOUT_S = 300


# ------------------------------------------------------------------ only 127.0.0.1


BLOCKED: list[str] = []


def guard_network() -> None:
    """Connections from this process to anything but loopback (or a Unix socket) raise."""
    connect, connect_ex = socket.socket.connect, socket.socket.connect_ex

    def local(sock, address) -> bool:
        if sock.family == getattr(socket, "AF_UNIX", None):
            return True
        try:
            return ipaddress.ip_address(str(address[0]).split("%")[0]).is_loopback
        except ValueError:
            return address[0] == "localhost"

    def guarded(original):
        def call(self, address):
            if not local(self, address):
                BLOCKED.append(repr(address))
                raise OSError(f"load.py: connection to {address!r} refused (127.0.0.1 only)")
            return original(self, address)
        return call

    socket.socket.connect = guarded(connect)
    socket.socket.connect_ex = guarded(connect_ex)


# ------------------------------------------------------------------ the questions


@dataclass
class Item:
    kind: str  # normal | followup | unanswerable | empty | blank | long | markup | control | bad-history
    question: str
    marker: str | None
    history: object = field(default_factory=list)  # list, or text for bad-history
    follows: bool = False  # history = this user's previous question and answer


def user_items(user: int, count: int, rows: list[dict], rng: random.Random) -> list[Item]:
    """``count`` requests for one user, each with a marker of its own (none for "" and "   ")."""
    answerable = [r["question"] for r in rows if r["answerable"] and not r["history"]]
    unanswerable = [r["question"] for r in rows if not r["answerable"] and not r["history"]]
    followups = [(r["history"][-1], r["question"]) for r in rows if len(r["history"]) == 1]
    n = 0

    def mk() -> str:
        nonlocal n
        n += 1
        return f"zq{user:02d}x{n:02d}"

    units: list[list[Item]] = []
    m = mk()
    filler = " ".join(rng.choice(answerable) for _ in range(60))
    units.append([Item("long", (f"{m} {rng.choice(answerable)} {filler}")[:5_000], m)])
    m = mk()
    units.append([Item("markup", f"<script>alert('{m}')</script> <img src=x onerror=alert(1)> **{m}** "
                       f"[x](javascript:alert(1)) {rng.choice(answerable)}", m)])
    m = mk()
    units.append([Item("control", f"{m}\x00\x07\u200b {rng.choice(answerable)}\x1b[31m\u202e\r\n\t", m)])
    units.append([Item("empty", "", None)])
    units.append([Item("blank", "   ", None)])
    m = mk()
    units.append([Item("bad-history", f"{rng.choice(answerable)} (ref {m})", m, history="not json")])
    for _ in range(2):
        first, follow = rng.choice(followups)
        m1, m2 = mk(), mk()
        units.append([Item("normal", f"{first} (ref {m1})", m1),
                      Item("followup", f"{follow} (ref {m2})", m2, follows=True)])
    for _ in range(3):
        m = mk()
        units.append([Item("unanswerable", f"{rng.choice(unanswerable)} (ref {m})", m)])
    while sum(len(u) for u in units) < count:
        m = mk()
        units.append([Item("normal", f"{rng.choice(answerable)} (ref {m})", m)])
    rng.shuffle(units)
    return [item for unit in units for item in unit][:count]


# ------------------------------------------------------------------ checks


def check(item: Item, result: object, articles: dict) -> str | None:
    """None when the reply is right for the request, else what is wrong."""
    if not isinstance(result, dict):
        return f"not a JSON object: {type(result).__name__}"
    json.dumps(result)
    if item.kind in ("empty", "blank", "bad-history"):
        if set(result) != {"error"} or not isinstance(result["error"], str) or not result["error"]:
            return f"expected {{'error': ...}}, got keys {sorted(result)}"
        return None
    if "error" in result:
        return f"error for a usable question: {result['error']}"
    if set(result) != ANSWER_KEYS:
        return f"keys differ: {sorted(set(result) ^ ANSWER_KEYS)}"
    q = result["question"]
    if item.marker not in q or set(MARKER_RE.findall(q)) != {item.marker}:
        return f"MIXUP: asked with {item.marker}, got question {q[:80]!r}"
    if not clean_question(item.question).startswith(q):
        return f"question is not the asked one: {q[:80]!r}"
    for c in result["citations"]:
        if set(c) != CITATION_KEYS:
            return "citation keys differ"
        if articles[c["article_id"]].text[c["start"]:c["end"]] != c["quote"]:
            return f"quote is not the article slice {c['article_id']}[{c['start']}:{c['end']}]"
    for p in result["passages"]:
        if set(p) != PASSAGE_KEYS:
            return "passage keys differ"
        if articles[p["article_id"]].text[p["start"]:p["end"]] != p["text"]:
            return f"passage is not the article slice {p['article_id']}[{p['start']}:{p['end']}]"
    if result["abstained"] != (not result["citations"]):
        return "abstained and citations disagree"
    return None


# ------------------------------------------------------------------ server


class Server:
    def __init__(self, corpus: Path, index: Path, concurrency: int, log_path: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False",
                   PYTHONUNBUFFERED="1", QA_CONCURRENCY=str(concurrency))
        cmd = [sys.executable, "-m", "qa", "serve", "--host", "127.0.0.1", "--port", str(self.port),
               "--corpus", str(corpus), "--index", str(index)]
        self.log_path = log_path
        with open(log_path, "wb") as log:
            self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.peak_rss = 0
        self._stop = threading.Event()

    def wait_ready(self) -> float:
        t0 = time.monotonic()
        while True:
            if self.proc.poll() is not None:
                raise SystemExit(f"qa serve exited with {self.proc.returncode}:\n{self.log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(self.url + "/config", timeout=5) as r:
                    if r.status == 200:
                        return time.monotonic() - t0
            except OSError:
                pass
            if time.monotonic() - t0 > START_TIMEOUT_S:
                raise SystemExit(f"qa serve not ready after {START_TIMEOUT_S} s")
            time.sleep(0.3)

    def watch_memory(self) -> None:
        import psutil

        proc = psutil.Process(self.proc.pid)

        def sample():
            while not self._stop.is_set():
                try:
                    self.peak_rss = max(self.peak_rss, proc.memory_info().rss)
                except psutil.Error:
                    return
                time.sleep(0.25)

        threading.Thread(target=sample, daemon=True).start()

    def stop(self) -> None:
        self._stop.set()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# ------------------------------------------------------------------ one run


@dataclass
class Result:
    concurrency: int
    users: int
    planned: int
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # exceptions: the request failed
    invalid: list[str] = field(default_factory=list)  # a reply of the wrong shape or content
    mixups: int = 0
    seconds: float = 0.0
    startup_s: float = 0.0
    peak_rss_mb: float = 0.0
    stopped_early: bool = False
    by_kind: dict[str, list[float]] = field(default_factory=dict)


def run(concurrency: int, corpus: Path, index: Path, workdir: Path, users: int, per_user: int,
        budget_s: float, rows: list[dict], articles: dict, seed: int) -> Result:
    import httpx

    class Client:
        """One user: POST /api/ask on a kept-alive connection; the answer, or {"error": …} for a 4xx."""

        def __init__(self, url: str):
            self.http = httpx.Client(base_url=url, timeout=120)

        def predict(self, question, history) -> dict:
            reply = self.http.post("/api/ask", json={"question": question, "history": history})
            if reply.status_code >= 500:
                raise RuntimeError(f"HTTP {reply.status_code}: {reply.text[:200]}")
            return reply.json()

    server = Server(corpus, index, concurrency, workdir / f"serve-c{concurrency}.log")
    result = Result(concurrency, users, users * per_user)
    try:
        result.startup_s = server.wait_ready()
        server.watch_memory()
        clients = [Client(server.url) for _ in range(users)]
        plans = [user_items(u, per_user, rows, random.Random(seed * 1000 + u)) for u in range(users)]
        lock = threading.Lock()
        start_gate = threading.Barrier(users)
        deadline = time.monotonic() + budget_s

        def user(u: int) -> None:
            client, items = clients[u], plans[u]
            previous: tuple[str, str] | None = None
            start_gate.wait()
            for item in items:
                if time.monotonic() > deadline:
                    with lock:
                        result.stopped_early = True
                    return
                history = item.history
                if item.follows and previous is not None:
                    history = [{"role": "user", "content": previous[0]}, {"role": "assistant", "content": previous[1]}]
                t0 = time.perf_counter()
                try:
                    reply = client.predict(item.question, history)
                except Exception as exc:  # noqa: BLE001 - every failure counts
                    with lock:
                        result.errors.append(f"user {u} {item.kind}: {type(exc).__name__}: {exc}"[:300])
                    continue
                elapsed = time.perf_counter() - t0
                problem = check(item, reply, articles)
                with lock:
                    result.latencies.append(elapsed)
                    result.by_kind.setdefault(item.kind, []).append(elapsed)
                    if problem:
                        result.invalid.append(f"user {u} {item.kind}: {problem}")
                        result.mixups += problem.startswith("MIXUP")
                if isinstance(reply, dict) and "answer" in reply:
                    previous = (item.question, reply["answer"] or reply["message"])

        threads = [threading.Thread(target=user, args=(u,)) for u in range(users)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        result.seconds = time.perf_counter() - t0
        result.peak_rss_mb = server.peak_rss / 2**20
        for c in clients:
            try:
                c.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                pass
    finally:
        server.stop()
    return result


# ------------------------------------------------------------------ report


def choose(results: list[Result]) -> Result:
    """The smallest setting within 5% of the best throughput, without errors, whose p95 is no
    more than 10% above the best p95: more parallel questions only when they pay."""
    ok = [r for r in results if not r.errors and not r.invalid and r.latencies]
    if not ok:
        return results[0]
    best_tp = max(len(r.latencies) / r.seconds for r in ok)
    best_p95 = min(percentile(r.latencies, 95) for r in ok)
    for r in sorted(ok, key=lambda r: r.concurrency):
        if len(r.latencies) / r.seconds >= 0.95 * best_tp and percentile(r.latencies, 95) <= 1.10 * best_p95:
            return r
    return max(ok, key=lambda r: len(r.latencies) / r.seconds)


def engine_latency(corpus: Path, index: Path, rows: list[dict], n: int = 50) -> list[float]:
    """Seconds per question of the engine alone, in this process (no HTTP, no Gradio queue)."""
    from qa.config import Settings
    from qa.pipeline import Engine

    engine = Engine.open(Settings(corpus_dir=corpus, index_dir=index))
    engine.warm_up()
    questions = [r["question"] for r in rows if not r["history"]]
    out = []
    for i in range(n):
        t0 = time.perf_counter()
        engine.ask(questions[i % len(questions)])
        out.append(time.perf_counter() - t0)
    return out


def report(results: list[Result], args, load_before: tuple[float, float, float], total_s: float,
           engine_s: list[float]) -> str:
    ms = lambda v: f"{v * 1000:.0f}"  # noqa: E731
    lines = [
        "# Load test of the web API",
        "",
        f"`python benchmarks/load.py --concurrency {args.concurrency} --users {args.users} "
        f"--questions {args.questions} --budget-s {args.budget_s:g}`: `qa serve` on 127.0.0.1 with a fresh index "
        f"of corpus/ ({os.cpu_count()} cores, shared; load average before the run "
        f"{load_before[0]:.2f} / {load_before[1]:.2f} / {load_before[2]:.2f}; {total_s:.0f} s in all).",
        "",
        f"{args.users} users at once (POST /api/ask, one kept-alive connection each), {args.questions} requests each, one after another per user: "
        "answerable questions, follow-ups sent with that user's previous question and answer as history, "
        "unanswerable questions, and bad input (`\"\"`, `\"   \"`, a 5,000-character string, markup, control "
        "characters, history that is not JSON). Each request carries its own marker word "
        "(`zq<user>x<n>`) that must come back in the reply's `question`.",
        "",
        "Checked for every reply: no exception (bad input must get the documented `{\"error\": ...}`), "
        "the documented keys, each citation's `quote` and each passage's `text` equal to the article text "
        "slice `[start:end)` (articles read with `qa.corpus`), and the marker: no user received another "
        "user's answer.",
        "",
        "| QA_CONCURRENCY | requests | errors | wrong replies | mix-ups | p50 ms | p95 ms | p99 ms | max ms "
        "| throughput req/s | server start s | peak RSS MB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lat = r.latencies
        lines.append(
            f"| {r.concurrency} | {len(lat) + len(r.errors)} of {r.planned}{' (budget hit)' if r.stopped_early else ''} "
            f"| {len(r.errors)} | {len(r.invalid)} | {r.mixups} | {ms(percentile(lat, 50))} | {ms(percentile(lat, 95))} "
            f"| {ms(percentile(lat, 99))} | {ms(max(lat) if lat else float('nan'))} "
            f"| {len(lat) / r.seconds if r.seconds else 0:.1f} | {r.startup_s:.1f} | {r.peak_rss_mb:.0f} |"
        )
    lines += ["", "Latency by kind of request (p50 / p95 ms):", "",
              "| QA_CONCURRENCY | " + " | ".join(sorted(results[0].by_kind)) + " |",
              "|---:|" + "---:|" * len(results[0].by_kind)]
    for r in results:
        lines.append(f"| {r.concurrency} | " + " | ".join(
            f"{ms(percentile(r.by_kind.get(k, []), 50))} / {ms(percentile(r.by_kind.get(k, []), 95))}"
            for k in sorted(results[0].by_kind)) + " |")
    chosen = choose(results)
    from qa.config import ENV

    DEFAULT_CONCURRENCY = int(ENV["QA_CONCURRENCY"].default)

    lines += [
        "",
        f"Connections this process tried to other hosts than 127.0.0.1: {len(BLOCKED)}.",
        "",
        "## Where the time goes",
        "",
        f"The engine alone answers a question in {ms(percentile(engine_s, 50))} ms (p50; p95 "
        f"{ms(percentile(engine_s, 95))} ms; {len(engine_s)} questions in this process after the runs). The rest "
        f"of a request's latency is waiting: with {args.users} users always asking, a request queues behind the others "
        "(latency ≈ users ÷ throughput), and each request costs the server Gradio's queue, JSON and "
        f"server-sent-events work besides the engine, on {os.cpu_count()} cores shared with the {args.users} clients of this script "
        "and with other processes. That is why empty questions, which never reach the engine, wait as long "
        "as the others: they join the same queue.",
        "",
        "## This run's pick",
        "",
        f"Rule: the smallest setting with no errors whose throughput is within 5% of the best and whose p95 is "
        f"within 10% of the best p95. On these figures that is **QA_CONCURRENCY={chosen.concurrency}**. "
        f"The app's default (QA_CONCURRENCY's default in qa/config.py) is {DEFAULT_CONCURRENCY}; see the decision below.",
    ]
    problems = [p for r in results for p in r.errors + r.invalid]
    if problems:
        lines += ["", "## Problems", ""] + [f"- {p}" for p in problems[:30]]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--concurrency", default="1,2,4", help="QA_CONCURRENCY values to try (default: %(default)s)")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--questions", type=int, default=25, help="requests per user")
    parser.add_argument("--budget-s", type=float, default=240.0,
                        help="at most this long for each setting's requests; then users stop (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    parser.add_argument("--out", type=Path, default=HERE / "load.md")
    args = parser.parse_args()
    settings = [int(c) for c in args.concurrency.split(",")]
    if args.questions < 12:
        parser.error("--questions must be at least 12 (the mix of kinds)")

    guard_network()
    from qa.corpus import load_articles

    articles = {a.id: a for a in load_articles(args.corpus)}
    rows = [json.loads(line) for line in (args.corpus / "questions.jsonl").read_text("utf-8").splitlines() if line]
    load_before = os.getloadavg()
    workdir = Path(tempfile.mkdtemp(prefix="qa-load-"))
    t_all = time.monotonic()
    results = []
    engine_s: list[float] = []
    try:
        index = workdir / "index"  # built by the first server start, reused by the others
        for i, c in enumerate(settings):
            budget = args.budget_s
            print(f"QA_CONCURRENCY={c}: {args.users} users x {args.questions} requests (budget {budget:.0f} s)",
                  flush=True)
            r = run(c, args.corpus, index, workdir, args.users, args.questions, budget, rows, articles,
                    args.seed)
            results.append(r)
            print(f"  {len(r.latencies)} replies in {r.seconds:.1f} s, errors {len(r.errors)}, wrong {len(r.invalid)}, "
                  f"p50 {percentile(r.latencies, 50) * 1000:.0f} ms, p95 {percentile(r.latencies, 95) * 1000:.0f} ms, "
                  f"p99 {percentile(r.latencies, 99) * 1000:.0f} ms", flush=True)
            for p in (r.errors + r.invalid)[:5]:
                print("   ", p, flush=True)
        engine_s = engine_latency(args.corpus, index, rows)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    text = report(results, args, load_before, time.monotonic() - t_all, engine_s)
    old = args.out.read_text("utf-8") if args.out.is_file() else ""
    if "\n## Decision" in old:  # written by hand from several runs: kept when the figures are redone
        text += old[old.index("\n## Decision"):]
    args.out.write_text(text, "utf-8")
    print(f"wrote {args.out}")
    failed = any(r.errors or r.invalid or r.stopped_early for r in results) or BLOCKED
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
