"""What a user waits for, and the memory it takes: encoder throughput, a full build, the CLI, qa serve,
warm engine.ask, reload while asking."""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchutil import ask_http, free_port, kill_tree, rss_mb, summary_ms, tree_memory  # noqa: E402
from scale_real_common import (  # noqa: E402
    FOLLOWUPS, HERE, NICE_LONG, Paths, REPO, SCRIPT, STAND_IN, child_env, index_disk, load_avg, log,
    niced, run_measured, stamp, use_qa
)
from scale_real_data import (  # noqa: E402
    CachedEmbedder, article_texts, one_shot_question, plain_questions, read_article
)


# ---------------------------------------------------------------- throughput of the real encoder


def part_throughput(paths: Paths, quick: bool) -> dict:
    """Texts per second of the real ONNX encoder (threads=2, batch_size as Settings), on a sample of N10k's
    (or, quick, S1's) sentences and chunks, each kind embedded alone."""
    use_qa()
    from qa.config import Settings
    from qa.embedding import onnx_embedder
    from qa.index import encoder_cache_dir

    settings = Settings()
    size = "S1" if quick or not paths.corpus("N10k").is_dir() else "N10k"
    rng = random.Random(0)
    files = sorted(paths.corpus(size).glob("*.md"))

    chunks, sentences = [], []
    for path in rng.sample(files, min(len(files), 80 if quick else 400)):
        c, s = article_texts(read_article(path), settings)
        chunks += c
        sentences += s
    n_s, n_c = (300, 60) if quick else (1500, 300)
    sentences, chunks = rng.sample(sentences, min(n_s, len(sentences))), rng.sample(chunks, min(n_c, len(chunks)))
    model = onnx_embedder(encoder_cache_dir(settings), threads=2)
    model.warm_up()
    model.embed(sentences[:16], batch_size=settings.batch_size)
    out = {**stamp(), "sample_of": size, "batch_size": settings.batch_size, "threads": 2}
    for nice in (NICE_LONG, 0):  # as the niced builds here run, and as a user's `qa index` would
        with niced(False):
            os.setpriority(os.PRIO_PROCESS, 0, nice)
            for kind, texts in (("sentences", sentences), ("chunks", chunks)):
                before = load_avg()
                t = time.perf_counter()
                model.embed(texts, batch_size=settings.batch_size)
                sec = time.perf_counter() - t
                out.setdefault(kind if nice else f"{kind}_nice0", {}).update({
                    "texts": len(texts), "seconds": sec, "per_s": len(texts) / sec, "load_before": before,
                    "load_after": load_avg(), "mean_chars": statistics.fmean(len(x) for x in texts), "niceness": nice})
    return out


# ---------------------------------------------------------------- full build (a child process)


def worker_build(size: str, corpus: Path, index: Path, out: Path) -> None:
    """In the child: the real encoder loaded first (so peak RSS includes it, as in `qa index`), then
    refresh_index over the corpus folder with the caching embedder."""
    import resource

    use_qa()
    from qa.config import Settings
    from qa.index import BuildOptions
    from qa.pipeline import refresh_index

    shutil.rmtree(index, ignore_errors=True)
    emb = CachedEmbedder(stand_in=size in STAND_IN)
    t = time.perf_counter()
    emb.model.warm_up()
    emb.model.embed(["word " * 190] * 16, batch_size=8)  # the encoder's arenas, as a build's first batch has
    encoder_s = time.perf_counter() - t
    settings = Settings(corpus_dir=corpus, index_dir=index)
    t = time.perf_counter()
    report = refresh_index(settings, BuildOptions(embedder_factory=lambda _dir: emb, log=lambda m: log(f"build: {m}")))
    build_s = time.perf_counter() - t
    out.write_text(json.dumps({
        "build_s": build_s, "encoder_load_s": encoder_s, "articles": report.articles, "chunks": report.chunks,
        "sentences": report.sentences, "segments": report.segments, "summary": report.summary(),
        "embedder": emb.stats, "maxrss_self_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def part_build(paths: Paths, size: str) -> dict:
    out = paths.logs / f"build-{size}.json"
    with open(paths.logs / f"build-{size}.log", "w") as err:
        before = stamp()
        run = run_measured([sys.executable, str(SCRIPT), "_build", size, str(paths.corpus(size)),
                            str(paths.index(size)), str(out)], stderr=err, timeout=6 * 3600)
    child = json.loads(out.read_text())
    return {"start": before, "end": stamp(), "wall_s": run["wall_s"], "peak_rss_mb": run["peak_rss_mb"],
            **child, "disk": index_disk(paths.index(size))}


# ---------------------------------------------------------------- the CLI as a user runs it


def qa_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "qa", *args]


def profile_top(prof: Path, n: int = 22) -> list[str]:
    """The costliest calls of a cProfile run by cumulative time, import machinery left out."""
    import pstats

    st = pstats.Stats(str(prof)).stats
    rows = []
    for (file, line, func), (cc, nc, tt, ct, _) in st.items():
        if "<frozen" in file or func in ("<module>", "exec", "__import__", "_handle_fromlist") or file == "~" and \
                func.startswith("<built-in method builtins.exec"):
            continue
        short = re.sub(r"^.*/site-packages/", "", file).replace(str(REPO) + "/", "")
        rows.append((ct, tt, nc, f"{short}:{line}({func})"))
    rows.sort(reverse=True)
    return [f"{ct:7.3f} s cum {tt:7.3f} s own {nc:>8} calls  {name}" for ct, tt, nc, name in rows[:n]]


def edit_one(corpus: Path) -> tuple[Path, bytes]:
    files = sorted(corpus.glob("*.md"))
    victim = files[len(files) // 2]
    original = victim.read_bytes()
    note = f"\n\nThe scale benchmark added this sentence (edit {time.time_ns()}) to change one article.\n"
    victim.write_bytes(original + note.encode())
    return victim, original


def part_cli(paths: Paths, size: str, reps: int) -> dict:
    corpus, index = str(paths.corpus(size)), str(paths.index(size))
    where = ["--corpus", corpus, "--index", index]
    res = {"start": stamp()}
    runs = []
    for _ in range(reps):
        r = run_measured(qa_cmd("index", *where))
        runs.append({"wall_s": r["wall_s"], "peak_rss_mb": r["peak_rss_mb"], "load": load_avg(),
                     "out": r["stdout"].strip()[-300:]})
    res["nochange"] = {"runs": runs, "median_s": statistics.median(r["wall_s"] for r in runs)}
    question = one_shot_question(paths, size)
    runs = []
    for _ in range(reps):
        r = run_measured(qa_cmd("ask", question, *where))
        runs.append({"wall_s": r["wall_s"], "peak_rss_mb": r["peak_rss_mb"], "load": load_avg(),
                     "answer": r["stdout"].strip()[:200]})
    res["one_shot"] = {"question": question, "runs": runs, "median_s": statistics.median(r["wall_s"] for r in runs)}
    prof = paths.logs / f"ask-{size}.prof"
    run_measured([sys.executable, "-m", "cProfile", "-o", str(prof), "-m", "qa", "ask", question, *where])
    res["one_shot"]["profile"] = profile_top(prof)
    prof = paths.logs / f"nochange-{size}.prof"
    run_measured([sys.executable, "-m", "cProfile", "-o", str(prof), "-m", "qa", "index", *where])
    res["nochange"]["profile"] = profile_top(prof)
    victim, original = edit_one(paths.corpus(size))
    try:
        r = run_measured(qa_cmd("index", *where))
        res["update"] = {"file": victim.name, "wall_s": r["wall_s"], "peak_rss_mb": r["peak_rss_mb"],
                         "load": load_avg(), "out": r["stdout"].strip()[-400:]}
    finally:
        victim.write_bytes(original)
    r = run_measured(qa_cmd("index", *where))
    res["revert"] = {"wall_s": r["wall_s"], "peak_rss_mb": r["peak_rss_mb"], "load": load_avg(),
                     "out": r["stdout"].strip()[-400:]}
    res["disk_after"] = index_disk(paths.index(size))
    res["end"] = stamp()
    return res


# ---------------------------------------------------------------- qa serve


def worker_serve_split(corpus: Path, index: Path, out: Path) -> None:
    """In a child: what `qa serve` does before it listens (qa.web.server.serve), step by step, build_app profiled."""
    import cProfile

    use_qa()
    t0 = time.perf_counter()
    import gradio  # noqa: F401

    t1 = time.perf_counter()
    from qa.web.server import build_app
    from qa.config import Settings
    from qa.pipeline import Engine

    t2 = time.perf_counter()
    engine = Engine.open(Settings(corpus_dir=corpus, index_dir=index))
    t3 = time.perf_counter()
    engine.warm_up()
    t4 = time.perf_counter()
    prof = cProfile.Profile()
    prof.enable()
    build_app(engine)
    prof.disable()
    t5 = time.perf_counter()
    path = out.with_suffix(".prof")
    prof.dump_stats(str(path))
    out.write_text(json.dumps({"import gradio": t1 - t0, "import qa.web.server, qa.pipeline": t2 - t1,
                               "Engine.open (staleness check + load_index + Engine)": t3 - t2,
                               "encoder warm_up": t4 - t3, "build_app (the Gradio page)": t5 - t4,
                               "build_app_profile": profile_top(path, 15)}))


def part_serve(paths: Paths, size: str, n_questions: int) -> dict:
    import httpx

    port = free_port()
    res = {"start": stamp()}
    out_path, err_path = paths.logs / f"serve-{size}.out", paths.logs / f"serve-{size}.err"
    questions = plain_questions(paths, size, n_questions // 2, seed=3)
    with open(out_path, "w") as out, open(err_path, "w") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(qa_cmd("serve", "--port", str(port), "--corpus", str(paths.corpus(size)), "--index",
                                       str(paths.index(size))), cwd=REPO, env=child_env(), stdout=out, stderr=err)
    try:
        ready = None
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
            while time.perf_counter() - start < 1800:
                if proc.poll() is not None:
                    raise SystemExit(f"qa serve exited:\n{err_path.read_text(errors='replace')[-3000:]}")
                with contextlib.suppress(httpx.HTTPError):
                    page = client.get("/")
                    if page.status_code == 200:
                        ready = time.perf_counter() - start
                        break
                time.sleep(0.05)
            if ready is None:
                raise SystemExit("qa serve did not answer GET / within 30 minutes")
            res["ready_s"] = ready
            res["ready_load"] = load_avg()
            res["page_bytes"] = len(page.content)
            with contextlib.suppress(httpx.HTTPError):
                res["config_bytes"] = len(client.get("/config").content)
            res["memory_ready"] = tree_memory(proc.pid)
            plain, follow = [], []
            for i, q in enumerate(questions):
                sec, answer = ask_http(client, q, [])
                plain.append(sec)
                history = [{"role": "user", "content": q},
                           {"role": "assistant", "content": answer.get("answer") or answer.get("message", "")}]
                sec, _ = ask_http(client, FOLLOWUPS[i % len(FOLLOWUPS)], history)
                follow.append(sec)
            res["http_plain"], res["http_followup"] = summary_ms(plain), summary_ms(follow)
            res["questions"] = len(plain) + len(follow)
            res["memory_after"] = tree_memory(proc.pid)
            api = client.post("/api/ask", json={"question": questions[0], "history": []})
            res["api_ask_status"] = api.status_code  # README documents /gradio_api/call/ask; is there /api/ask?
    finally:
        kill_tree(proc)
    out = paths.logs / f"serve-split-{size}.json"
    run_measured([sys.executable, str(SCRIPT), "_servesplit", str(paths.corpus(size)),
                  str(paths.index(size)), str(out)])
    res["startup_split"] = json.loads(out.read_text())
    res["end"] = stamp()
    return res


# ---------------------------------------------------------------- warm engine.ask, in process


def open_engine(index_dir: Path, corpus_dir: Path):
    use_qa()
    from qa.config import Settings
    from qa.index import load_index
    from qa.pipeline import Engine

    settings = Settings(corpus_dir=corpus_dir, index_dir=index_dir)
    t = time.perf_counter()
    index = load_index(index_dir)
    t1 = time.perf_counter()
    engine = Engine(index, settings)
    t2 = time.perf_counter()
    engine.warm_up()
    return engine, {"load_index_s": t1 - t, "engine_s": t2 - t1, "encoder_s": time.perf_counter() - t2}


def history_of(question: str, answer) -> list[dict]:
    return [{"role": "user", "content": question}, {"role": "assistant", "content": answer.answer or answer.message}]


def part_warm(paths: Paths, size: str, n: int) -> dict:
    sys.path.insert(0, str(HERE))
    from latency import PARTS as STAGES, PartTimer

    engine, opened = open_engine(paths.index(size), paths.corpus(size))
    questions = plain_questions(paths, size, n + 20, seed=1)
    warmup, questions = questions[:20], questions[20:]
    for q in warmup:
        a = engine.ask(q)
        engine.ask(FOLLOWUPS[0], history_of(q, a))
    res = {"start": stamp(), "opened": opened, "chunks": engine.index.n_chunks, "sentences": engine.index.n_sentences,
           "articles": len(engine.articles), "rss_after_open_mb": rss_mb()}
    timer = PartTimer(engine)

    def timed(text, hist, parts, totals):
        timer.current = {}
        t = time.perf_counter()
        a = engine.ask(text, hist)
        total = time.perf_counter() - t
        totals.append(total)
        for p in STAGES:
            parts[p].append(timer.current.get(p, 0.0))
        parts["other"].append(total - sum(timer.current.get(p, 0.0) for p in STAGES))
        return a

    # As in a chat: each question, then a follow-up to its answer. Two passes over the same questions:
    # the first reads each candidate's rows from the mapped files for the first time (from disk unless
    # the page cache has them), the second finds them cached, as a server that has run a while does.
    try:
        for run in ("first", "again"):
            got = {k: ([], {p: [] for p in (*STAGES, "other")}) for k in ("plain", "followup")}
            abstained = 0
            for i, q in enumerate(questions):
                a = timed(q, [], got["plain"][1], got["plain"][0])
                abstained += a.abstained
                timed(FOLLOWUPS[i % len(FOLLOWUPS)], history_of(q, a), got["followup"][1], got["followup"][0])
            key = "" if run == "again" else "first_"
            res[f"{key}plain_abstained"] = abstained
            for kind, (totals, parts) in got.items():
                res[key + kind] = {"total": summary_ms(totals), "parts": {p: summary_ms(v) for p, v in parts.items()},
                                   "load": load_avg()}
    finally:
        timer.restore()
    res["rss_mb"] = rss_mb()
    res["end"] = stamp()
    return res


# ---------------------------------------------------------------- reload while asking


class Asker(threading.Thread):
    """Keeps asking plain questions (through ``ask``), recording each one's start and end."""

    def __init__(self, ask, questions):
        super().__init__(daemon=True)
        self.ask, self.questions = ask, questions
        self.times: list[tuple[float, float]] = []
        self.errors: list[str] = []
        self._halt = threading.Event()

    def run(self) -> None:
        i = 0
        while not self._halt.is_set():
            t = time.perf_counter()
            try:
                self.ask(self.questions[i % len(self.questions)])
            except Exception as exc:  # noqa: BLE001 - a failure during the swap is a finding
                self.errors.append(repr(exc))
            self.times.append((t, time.perf_counter()))
            i += 1

    def stop(self) -> None:
        self._halt.set()
        self.join()


class MemPoller(threading.Thread):
    def __init__(self, every: float = 0.01):
        super().__init__(daemon=True)
        import psutil

        self.proc, self.every = psutil.Process(), every
        self.samples: list[tuple[float, float]] = []
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            self.samples.append((time.perf_counter(), self.proc.memory_info().rss / 2**20))
            self._halt.wait(self.every)

    def stop(self) -> None:
        self._halt.set()
        self.join()


def _window(times, lo: float, hi: float) -> list[float]:
    """Durations (s) of the questions that overlapped [lo, hi]."""
    return [b - a for a, b in times if b >= lo and a <= hi]


def reload_once(engine, ask, questions, do_reload, steady_s: float) -> dict:
    asker, mem = Asker(ask, questions), MemPoller()
    mem.start()
    asker.start()
    time.sleep(steady_s)
    t0 = time.perf_counter()
    do_reload()
    t1 = time.perf_counter()
    time.sleep(steady_s)
    asker.stop()
    mem.stop()
    steady = [b - a for a, b in asker.times if b < t0]
    during = _window(asker.times, t0, t1)
    steady_rss = statistics.median(r for t, r in mem.samples if t < t0)
    peak = max(r for t, r in mem.samples if t >= t0)
    return {"reload_s": t1 - t0, "steady": summary_ms(steady), "during": summary_ms(during),
            "longest_wait_ms": max(during) * 1000 if during else 0.0, "asked_during": len(during),
            "steady_rss_mb": steady_rss, "peak_rss_mb": peak, "peak_ratio": peak / steady_rss,
            "after_rss_mb": mem.samples[-1][1], "errors": asker.errors[:5]}


def part_reload(paths: Paths, size: str, steady_s: float) -> dict:
    """engine.reload() after a one-article `qa index`, while another thread asks; then the same as `qa serve`
    does it: questions through the server's pool (qa.web.gate.EngineGate, 2 workers, two asking threads)
    while its ReloadWatcher swaps the new generation in on its own thread."""
    use_qa()
    from qa.web.gate import EngineGate, ReloadWatcher

    corpus, index = paths.corpus(size), paths.index(size)
    engine, _ = open_engine(index, corpus)
    questions = plain_questions(paths, size, 60, seed=5)
    for q in questions[:10]:
        engine.ask(q)
    res = {"start": stamp()}
    where = ["--corpus", str(corpus), "--index", str(index)]
    victim, original = edit_one(corpus)
    try:
        res["update"] = {k: v for k, v in run_measured(qa_cmd("index", *where)).items() if k != "stderr"}
        res["direct"] = reload_once(engine, engine.ask, questions, lambda: res.setdefault("reasons", engine.reload()),
                                    steady_s)
    finally:
        victim.write_bytes(original)
    run_measured(qa_cmd("index", *where))  # the edit reverted: another generation to swap in
    gate, watcher = EngineGate(engine, concurrency=2), ReloadWatcher(engine, interval=3600.0)
    other = Asker(lambda q: gate.ask(q, []), questions[30:])
    other.start()
    try:
        res["gate"] = reload_once(engine, lambda q: gate.ask(q, []), questions, watcher.check, steady_s)
    finally:
        other.stop()
        gate.close()
    g = res["gate"]
    g["longest_wait_ms"] = max(g["longest_wait_ms"], max((b - a) * 1000 for a, b in other.times) if other.times else 0)
    g["other_thread"] = summary_ms([b - a for a, b in other.times])
    res["end"] = stamp()
    return res
