"""Query latency: warm engine.ask, one-shot `qa ask`, `qa serve` start-up, POST /api/ask, RSS.

    .venv/bin/python benchmarks/latency.py [--quick]

Builds an index of corpus/ into a temporary folder (so that nobody else's index/ is touched),
then measures, on the 75 test questions of corpus/questions.jsonl:

* warm `Engine.ask` p50/p95/p99 (each question asked N times after a warm-up pass; follow-ups get
  the replayed history, as in qa.evaluate), split into embed / retrieve / candidates / answer by
  wrapping the query encoder's `embed`, `engine.retriever.search`, `CandidateFinder.find` and
  `qa.answer.reader.select` from outside; the same with another process busy on one core;
* one-shot `qa ask "…"` (a fresh process, median of 5), its phases, and its imports (-X importtime);
* `qa serve` until ready and until the first answer over POST /api/ask (median of 3);
* POST /api/ask, a new connection per call, warm, 100 calls; the server's RSS (with children) after them;
* which heavy modules (torch, sentence_transformers, gradio, ...) each command imports.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchutil import (  # noqa: E402
    QUESTIONS, REPO, bench_env, busy_core, load_average, median, qa_command, summary_ms, table, tree_memory,
    verdict, write_section, free_port, kill_tree, ask_http,
)

HEAVY = ("torch", "transformers", "sentence_transformers", "gradio", "gradio_client", "fastapi", "uvicorn",
         "onnxruntime", "faiss", "bm25s", "scipy", "tiktoken", "syntok", "tokenizers", "matplotlib", "pandas")
ONE_SHOT_QUESTION = "What rating did Ofsted give Havering children's services after the December 2023 inspection?"
HAYSTACK_ROW = ("Haystack 3.4 hybrid pipeline with the same model: 49 ms p50 retrieval on XQuAD "
                "(measured by a colleague on this machine, not re-run here)")
PARTS = ("embed", "retrieve", "candidates", "answer")


# ---------------------------------------------------------------- warm, in process


class PartTimer:
    """Times the stages of Engine.ask by wrapping their public functions from outside (the engine is not
    edited): the query encoder, the retriever's search, the answer stage's candidate finding and its
    selection of quotes."""

    def __init__(self, engine):
        import qa.answer.reader as reader_module
        from qa.answer.candidates import CandidateFinder

        self.current: dict[str, float] = {}
        self._reader_module, self._finder = reader_module, CandidateFinder
        self._originals = (reader_module.select, CandidateFinder.find)
        self._encoder, self._retriever = engine.embedder, engine.retriever
        self._encoder.embed = self._wrap("embed", self._encoder.embed)
        self._retriever.search = self._wrap("retrieve", self._retriever.search)
        CandidateFinder.find = self._wrap("candidates", CandidateFinder.find)
        reader_module.select = self._wrap("answer", reader_module.select)

    def _wrap(self, part: str, fn):
        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.current[part] = self.current.get(part, 0.0) + time.perf_counter() - start

        return timed

    def restore(self) -> None:
        self._reader_module.select, self._finder.find = self._originals
        del self._encoder.embed, self._retriever.search


def histories(engine, questions) -> list[list[dict[str, str]]]:
    """The conversation before each question, replayed through the engine as qa.evaluate does."""
    out = []
    for q in questions:
        history: list[dict[str, str]] = []
        for earlier in q.history:
            prior = engine.ask(earlier, list(history))
            history += [{"role": "user", "content": earlier},
                        {"role": "assistant", "content": prior.answer or prior.message}]
        out.append(history)
    return out


def warm_rounds(engine, questions, hist, rounds: int, timer: PartTimer) -> dict:
    totals: list[float] = []
    parts: dict[str, list[float]] = {p: [] for p in PARTS}
    for _ in range(rounds):
        for q, h in zip(questions, hist):
            timer.current = {}
            start = time.perf_counter()
            engine.ask(q.question, h)
            total = time.perf_counter() - start
            totals.append(total)
            for p in PARTS:
                parts[p].append(timer.current.get(p, 0.0))
            parts.setdefault("other", []).append(total - sum(timer.current.get(p, 0.0) for p in PARTS))
    return {"total": summary_ms(totals), "parts": {p: summary_ms(v) for p, v in parts.items()}}


def warm_latency(index_dir: Path, rounds: int, busy_rounds: int) -> dict:
    from qa.config import Settings
    from qa.testset import load_questions
    from qa.pipeline import Engine

    engine = Engine.open(Settings(corpus_dir=REPO / "corpus", index_dir=index_dir))
    engine.warm_up()
    questions = load_questions(QUESTIONS)
    hist = histories(engine, questions)  # also the warm-up pass
    for q, h in zip(questions, hist):
        engine.ask(q.question, h)
    timer = PartTimer(engine)
    try:
        load_quiet = load_average()
        quiet = warm_rounds(engine, questions, hist, rounds, timer)
        with busy_core():
            load_busy = load_average()
            busy = warm_rounds(engine, questions, hist, busy_rounds, timer)
    finally:
        timer.restore()
    import psutil

    return {"questions": len(questions), "followups": sum(1 for q in questions if q.history), "rounds": rounds,
            "engine_rss_mb": psutil.Process().memory_info().rss / 2**20,
            "busy_rounds": busy_rounds, "quiet": quiet, "busy": busy, "load_quiet": load_quiet,
            "load_busy": load_busy, "chunks": engine.index.n_chunks, "sentences": engine.index.n_sentences,
            "history": [h for h in hist]}


# ---------------------------------------------------------------- one-shot `qa ask`

PHASES_CODE = r"""
import json, sys, time
t0 = time.perf_counter()
from qa import cli
t1 = time.perf_counter()
parser = cli.build_parser()
args = parser.parse_args(["ask", sys.argv[1], "--corpus", sys.argv[2], "--index", sys.argv[3]])
engine = cli.open_engine(args, top_k=args.top_k)
t2 = time.perf_counter()
engine.warm_up()
t3 = time.perf_counter()
answer = engine.ask(args.question, method=args.method, top_k=args.top_k)
text = cli.format_answer(answer)
t4 = time.perf_counter()
heavy = sorted(m for m in %r if m in sys.modules)
import resource
print(json.dumps({"import_cli": t1 - t0, "open_engine": t2 - t1, "load_encoder": t3 - t2,
                  "first_ask": t4 - t3, "heavy": heavy,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
""" % (HEAVY,)

OPEN_SPLIT_CODE = r"""
import json, sys, time
from pathlib import Path
t0 = time.perf_counter()
import numpy
t1 = time.perf_counter()
import faiss
t2 = time.perf_counter()
import onnxruntime, tokenizers
t3 = time.perf_counter()
before = set(sys.modules)
from qa.config import Settings
from qa.pipeline import refresh_index, Engine
from qa.index import load_index
t4 = time.perf_counter()
qa_pulled = sorted({m.split(".")[0] for m in set(sys.modules) - before if not m.startswith("_")}
                   - set(sys.stdlib_module_names) - {"qa"})
settings = Settings(corpus_dir=Path(sys.argv[1]), index_dir=Path(sys.argv[2]))
refresh_index(settings)
t5 = time.perf_counter()
index = load_index(settings.index_dir)
t6 = time.perf_counter()
engine = Engine(index, settings)
t7 = time.perf_counter()
emb = engine.embedder
info = emb._load_info()
data = (emb.model_dir / "model.onnx").read_bytes()
import hashlib
t8 = time.perf_counter()
hashlib.sha256(data).hexdigest()
t9 = time.perf_counter()
emb.warm_up()
t10 = time.perf_counter()
# What the encoder load is made of (the libraries are loaded by now, so these are the steps alone).
import onnxruntime as ort
from tokenizers import Tokenizer
a = time.perf_counter(); Tokenizer.from_file(str(emb.model_dir / "tokenizer.json")); b = time.perf_counter()
def session(level, source=data):
    o = ort.SessionOptions(); o.intra_op_num_threads = 1; o.graph_optimization_level = level
    o.log_severity_level = 3
    start = time.perf_counter(); ort.InferenceSession(source, o, providers=["CPUExecutionProvider"])
    return time.perf_counter() - start
full = session(ort.GraphOptimizationLevel.ORT_ENABLE_ALL)
basic = session(ort.GraphOptimizationLevel.ORT_ENABLE_BASIC)
o = ort.SessionOptions(); o.optimized_model_filepath = sys.argv[3]; o.log_severity_level = 3
ort.InferenceSession(data, o, providers=["CPUExecutionProvider"])
pre = session(ort.GraphOptimizationLevel.ORT_DISABLE_ALL, sys.argv[3])
print(json.dumps({"import numpy": t1 - t0, "import faiss": t2 - t1,
                  "import onnxruntime+tokenizers": t3 - t2,
                  "import qa.pipeline, qa.index (third-party modules they add: " + (", ".join(qa_pulled) or "none") + ")": t4 - t3,
                  "staleness check (hash corpus, read manifest)": t5 - t4, "load_index (jsonl, faiss, npy)": t6 - t5,
                  "Engine() (retriever, vocabularies)": t7 - t6, "read model.onnx (90 MB)": t8 - t7,
                  "sha256 of model.onnx": t9 - t8,
                  "ONNX session + tokenizer (incl. a 2nd read + sha256)": t10 - t9,
                  "  of which: tokenizer.json load": b - a,
                  "  of which: InferenceSession, full graph optimisation (as shipped)": full,
                  "  alternative: InferenceSession, basic optimisation": basic,
                  "  alternative: InferenceSession of a pre-optimised model, no optimisation": pre}))
"""


def one_shot(index_dir: Path, runs: int) -> dict:
    cmd = [*qa_command(), "ask", ONE_SHOT_QUESTION, "--corpus", str(REPO / "corpus"), "--index", str(index_dir)]
    env = bench_env()
    walls = []
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
        walls.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise SystemExit(f"qa ask failed:\n{done.stderr}")
    phases = []
    for _ in range(max(1, runs // 2)):
        done = subprocess.run([sys.executable, "-c", PHASES_CODE, ONE_SHOT_QUESTION, str(REPO / "corpus"),
                               str(index_dir)], env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise SystemExit(f"phases run failed:\n{done.stderr}")
        phases.append(json.loads(done.stdout.strip().splitlines()[-1]))
    split = []
    for _ in range(max(1, runs // 2)):
        done = subprocess.run([sys.executable, "-c", OPEN_SPLIT_CODE, str(REPO / "corpus"), str(index_dir),
                               str(index_dir.parent / "optimised.onnx")],
                              env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise SystemExit(f"start-up split failed:\n{done.stderr}")
        split.append(json.loads(done.stdout.strip().splitlines()[-1]))
    # -X importtime: what each import costs (a separate run, as the tracing itself adds time).
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "qa", *cmd[len(qa_command()):]],
                          env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
    imports = parse_importtime(done.stderr)
    keys = [k for k in phases[0] if k not in ("heavy", "peak_rss_mb")]
    return {
        "runs": runs, "wall_s": walls, "median_s": median(walls),
        "phases_s": {k: median([p[k] for p in phases]) for k in keys},
        "startup_split_s": {k: median([s[k] for s in split]) for k in split[0]},
        "heavy_modules": phases[0]["heavy"], "imports": imports,
        "peak_rss_mb": median([p["peak_rss_mb"] for p in phases]),
    }


def parse_importtime(stderr: str) -> dict:
    """Top-level imports of an -X importtime trace, grouped by package: cumulative seconds."""
    by_root: dict[str, float] = {}
    seen: set[str] = set()
    for line in stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if not m:
            continue
        name = m.group(4)
        seen.add(name.split(".")[0])
        if len(m.group(3)) != 1:  # nested: already counted in its top-level parent
            continue
        root = name.split(".")[0]
        by_root[root] = by_root.get(root, 0.0) + int(m.group(2)) / 1e6
    ranked = dict(sorted(by_root.items(), key=lambda kv: -kv[1]))
    selfs: dict[str, float] = {}
    for line in stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if m:
            selfs[m.group(4)] = selfs.get(m.group(4), 0.0) + int(m.group(1)) / 1e6
    top_self = dict(sorted(selfs.items(), key=lambda kv: -kv[1])[:12])
    return {"total_s": sum(by_root.values()), "by_package_s": ranked, "top_self_s": top_self,
            "heavy": sorted(h for h in HEAVY if h in seen)}


# ---------------------------------------------------------------- `qa serve`


def serve_once(index_dir: Path, tmp: Path, questions, hist, api_calls: int, importtime: bool = False) -> dict:
    import httpx

    port = free_port()
    args = ["serve", "--port", str(port), "--corpus", str(REPO / "corpus"), "--index", str(index_dir)]
    cmd = [sys.executable, "-X", "importtime", "-m", "qa", *args] if importtime else [*qa_command(), *args]
    out_path, err_path = tmp / f"serve-{port}.out", tmp / f"serve-{port}.err"
    with open(out_path, "w") as out, open(err_path, "w") as err:  # files: -X importtime would fill a pipe
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, env=bench_env(), cwd=REPO, stdout=out, stderr=err)
    try:
        ready = None
        while time.perf_counter() - start < 120:
            if "Serving" in out_path.read_text(errors="replace"):
                ready = time.perf_counter() - start
                break
            if proc.poll() is not None:
                raise SystemExit(f"qa serve exited:\n{err_path.read_text(errors='replace')[-3000:]}")
            time.sleep(0.02)
        if ready is None:
            raise SystemExit("qa serve did not start within 120 s")
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60)
        connected = time.perf_counter() - start
        first = ask_http(client, ONE_SHOT_QUESTION, [])[1]
        first_answer = time.perf_counter() - start
        calls = []
        for i in range(api_calls):  # a new connection each time, as a one-off script would
            q, h = questions[i % len(questions)], hist[i % len(hist)]
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as once:
                calls.append(ask_http(once, q.question, h)[0])
        client.close()
        memory = tree_memory(proc.pid)  # after the questions of one client (one session, like a browser tab)
        import httpx

        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http_client:
            http = [ask_over_http(http_client, questions[i % len(questions)].question, hist[i % len(hist)])
                    for i in range(api_calls)]
        page = []
        if api_calls:
            import urllib.request

            article = sorted(p.stem for p in (REPO / "corpus").glob("*.md"))[0]
            for _ in range(api_calls):
                t = time.perf_counter()
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/articles/{article}", timeout=30) as r:
                    r.read()
                page.append(time.perf_counter() - t)
        memory_after_http = tree_memory(proc.pid)  # plus one new gradio session per HTTP call
        with contextlib.suppress(Exception):
            client.close()
    finally:
        kill_tree(proc)
    result = {"ready_s": ready, "client_connected_s": connected, "first_answer_s": first_answer,
              "api": summary_ms(calls) if calls else None, "http": summary_ms(http) if http else None,
              "memory": memory, "memory_after_http": memory_after_http,
              "article_page": summary_ms(page) if page else None}
    if importtime:
        result["imports"] = parse_importtime(err_path.read_text(errors="replace"))
    return result


def ask_over_http(client, question: str, history: list) -> float:
    """One POST /api/ask on ``client``, one kept-alive ``httpx.Client`` for all calls, as a script
    calling the API in a loop would hold (making an httpx.Client costs ~20-40 ms of SSL set-up by
    itself). Returns the seconds to the answer."""
    return ask_http(client, question, history)[0]


def serve_bench(index_dir: Path, tmp: Path, questions, hist, runs: int, api_calls: int) -> dict:
    cold = [serve_once(index_dir, tmp, questions, hist, api_calls=0) for _ in range(runs - 1)]
    warm = serve_once(index_dir, tmp, questions, hist, api_calls=api_calls)  # also a cold-start sample
    cold.append(warm)
    traced = serve_once(index_dir, tmp, questions, hist, api_calls=0, importtime=True)
    return {"runs": runs, "ready_s": [c["ready_s"] for c in cold], "first_answer_s": [c["first_answer_s"] for c in cold],
            "client_connected_s": [c["client_connected_s"] for c in cold],
            "ready_median_s": median([c["ready_s"] for c in cold]),
            "first_answer_median_s": median([c["first_answer_s"] for c in cold]),
            "api": warm["api"], "http": warm["http"], "api_calls": api_calls, "memory": warm["memory"],
            "memory_after_http": warm["memory_after_http"],
            "imports": traced["imports"],
            "article_page": warm["article_page"]}


# ---------------------------------------------------------------- report


def _ms(x: float) -> str:
    return f"{x:.1f}"


def render(w: dict, o: dict, s: dict, quick: bool, loads: tuple[str, str]) -> str:
    q, b = w["quiet"], w["busy"]
    goals = [
        ("warm `engine.ask` p50", f"{_ms(q['total']['p50'])} ms", "≤ 8 ms", verdict(q["total"]["p50"], 8)),
        ("warm `engine.ask` p95", f"{_ms(q['total']['p95'])} ms", "≤ 12 ms", verdict(q["total"]["p95"], 12)),
        ("warm `engine.ask` p95, another process busy on one core", f"{_ms(b['total']['p95'])} ms", "≤ 12 ms",
         verdict(b["total"]["p95"], 12)),
        ("one-shot `qa ask` (median of %d)" % o["runs"], f"{o['median_s']:.2f} s", "≤ 1.5 s",
         verdict(o["median_s"], 1.5)),
        ("`qa serve` ready (median of %d)" % s["runs"], f"{s['ready_median_s']:.1f} s", "≤ 8 s",
         verdict(s["ready_median_s"], 8)),
        ("`qa serve` first answer (median of %d)" % s["runs"], f"{s['first_answer_median_s']:.1f} s", "≤ 15 s",
         verdict(s["first_answer_median_s"], 15)),
        (f"POST /api/ask, p50 warm, kept-alive ({s['api_calls']} calls)", f"{_ms(s['http']['p50'])} ms",
         "≤ 100 ms", verdict(s["http"]["p50"], 100)),
        (f"the same, a new connection per call, p50 ({s['api_calls']} calls)", f"{_ms(s['api']['p50'])} ms",
         "", "—"),
        (f"`qa serve` RSS after {s['api_calls']} questions of one client (peak)",
         f"{s['memory']['rss_mb']:.0f} MB ({s['memory']['peak_rss_mb']:.0f} MB)", "≤ 300 MB",
         verdict(s["memory"]["rss_mb"], 300)),
    ]
    out = [
        "## 2. Query latency",
        "",
        f"Index of corpus/ ({w['chunks']} chunks, {w['sentences']} sentences) built into a temporary folder. "
        f"{w['questions']} test questions ({w['followups']} follow-ups, asked with their replayed history), "
        f"each asked {w['rounds']}× after a warm-up pass (busy: {w['busy_rounds']}×). "
        f"Load average (1/5/15 min): {loads[0]} at the start of this section, {w['load_quiet']} before the quiet "
        f"rounds, {w['load_busy']} with the busy process running, {loads[1]} at the end."
        + (" **Quick run.**" if quick else ""),
        "",
        table(["measure", "result", "goal", "status"], goals, "lrrl"),
        "",
        "Comparison (not re-run): " + HAYSTACK_ROW + ".",
        "",
        "Warm `engine.ask`, split by stage (ms; stages timed by wrappers around the engine's own methods; "
        "*other* = question analysis, follow-up rewriting, date boost, unknown-name check):",
        "",
    ]
    rows = []
    for label, r in (("quiet", q), ("one core busy", b)):
        rows.append([f"**total** ({label})", _ms(r["total"]["p50"]), _ms(r["total"]["p95"]), _ms(r["total"]["p99"]),
                     _ms(r["total"]["mean"])])
        for p in (*PARTS, "other"):
            x = r["parts"][p]
            rows.append([f"{p} ({label})", _ms(x["p50"]), _ms(x["p95"]), _ms(x["p99"]), _ms(x["mean"])])
    out += [table(["stage", "p50", "p95", "p99", "mean"], rows), ""]
    ph = o["phases_s"]
    out += [
        f"One-shot `qa ask \"…\"`: wall times {', '.join(f'{x:.2f}' for x in o['wall_s'])} s "
        f"(median **{o['median_s']:.2f} s**). In-process phases of the same command (median): "
        + ", ".join(f"{k.replace('_', ' ')} {v:.2f} s" for k, v in ph.items())
        + ". Start-up split further (separate runs, median):",
        "",
        table(["start-up step", "s"], [[k, f"{v:.3f}"] for k, v in o["startup_split_s"].items()]),
        "",
        f"Imports of `qa ask` by package (`-X importtime`, top-level cumulative; the tracing inflates "
        f"them a little; total {o['imports']['total_s']:.2f} s): "
        + ", ".join(f"{k} {v:.2f} s" for k, v in list(o["imports"]["by_package_s"].items())[:10])
        + ". Largest single modules by their own (self) import time: "
        + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in list(o["imports"]["top_self_s"].items())[:8])
        + f". Peak RSS of the one-shot process: {o['peak_rss_mb']:.0f} MB.",
        "",
        f"`qa serve`: ready (\"Serving …\" printed) at {', '.join(f'{x:.1f}' for x in s['ready_s'])} s; first "
        f"answer over POST /api/ask (connecting counted) at "
        f"{', '.join(f'{x:.1f}' for x in s['first_answer_s'])} s. Imports by package "
        f"(total {s['imports']['total_s']:.2f} s): "
        + ", ".join(f"{k} {v:.2f} s" for k, v in list(s["imports"]["by_package_s"].items())[:10]) + ".",
        f"POST /api/ask warm (one kept-alive connection), {s['api_calls']} calls: p50 {_ms(s['http']['p50'])} ms, "
        f"p95 {_ms(s['http']['p95'])} ms, p99 {_ms(s['http']['p99'])} ms. A new connection per call, "
        f"{s['api_calls']} calls: p50 {_ms(s['api']['p50'])} ms, "
        f"p95 {_ms(s['api']['p95'])} ms, p99 {_ms(s['api']['p99'])} ms. Server memory after the first "
        f"{s['api_calls']} questions: RSS "
        f"{s['memory']['rss_mb']:.0f} MB, peak (VmHWM) {s['memory']['peak_rss_mb']:.0f} MB over "
        f"{s['memory']['processes']} process(es); the engine alone (this benchmark's process after the warm "
        f"rounds, no web stack) holds {w['engine_rss_mb']:.0f} MB. After the {s['api_calls']} HTTP calls as "
        f"well: RSS "
        f"{s['memory_after_http']['rss_mb']:.0f} MB."
        + (f" For scale, a plain FastAPI route of the same server (`GET /articles/…`, no Gradio queue) answers "
           f"in p50 {_ms(s['article_page']['p50'])} ms, p95 {_ms(s['article_page']['p95'])} ms."
           if s.get("article_page") else ""),
        "",
        "Heavy modules imported:",
        "",
        table(["command", *[f"`{m}`" for m in ("torch", "sentence_transformers", "transformers", "gradio")],
               "others"],
              [[name, *("yes" if m in mods else "no" for m in ("torch", "sentence_transformers", "transformers",
                                                               "gradio")),
                ", ".join(m for m in mods if m not in ("torch", "sentence_transformers", "transformers", "gradio"))]
               for name, mods in (("`qa ask`", o["imports"]["heavy"]), ("`qa serve`", s["imports"]["heavy"]))],
              "lccccl"),
        "",
    ]
    return "\n".join(out)


def build_index_for_bench(index_dir: Path) -> None:
    done = subprocess.run([*qa_command(), "index", "--corpus", str(REPO / "corpus"), "--index", str(index_dir)],
                          env=bench_env(), cwd=REPO, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise SystemExit(f"qa index failed:\n{done.stderr}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 round, 3 one-shot runs, 2 serve runs, 20 API calls")
    args = parser.parse_args(argv)
    rounds, busy_rounds, shots, serves, calls = (1, 1, 3, 2, 20) if args.quick else (5, 2, 5, 3, 100)
    load_start = load_average()
    with tempfile.TemporaryDirectory(prefix="qa-bench-latency-") as tmp:
        tmp_path = Path(tmp)
        index_dir = tmp_path / "index"
        print("latency: building the index ...", file=sys.stderr, flush=True)
        build_index_for_bench(index_dir)
        print("latency: warm engine.ask ...", file=sys.stderr, flush=True)
        warm = warm_latency(index_dir, rounds, busy_rounds)
        from qa.testset import load_questions

        questions = load_questions(QUESTIONS)
        print("latency: one-shot qa ask ...", file=sys.stderr, flush=True)
        shot = one_shot(index_dir, shots)
        print("latency: qa serve ...", file=sys.stderr, flush=True)
        served = serve_bench(index_dir, tmp_path, questions, warm["history"], serves, calls)
    warm.pop("history")
    markdown = render(warm, shot, served, args.quick, (load_start, load_average()))
    write_section("latency", markdown, {"warm": warm, "one_shot": shot, "serve": served, "quick": args.quick,
                                        "haystack_comparison": HAYSTACK_ROW})
    print(markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
