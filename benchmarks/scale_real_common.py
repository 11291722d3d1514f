"""Shared by the scale_real parts: sizes, goals, folders (Paths), results on disk, niceness, measured
child processes."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchutil import OFFLINE  # noqa: E402


HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SCRIPT = HERE / "scale_real.py"  # the entry point every worker process is started through

EMBED_DB = HERE / ".cache" / "embeddings.sqlite"
BEFORE_COMMIT = "d112dd1"
SIZES = ("S1", "S2", "N10k", "N100k")
PARTS = ("data", "embed", "throughput", "build", "cli", "serve", "warm", "reload", "hnsw", "quality", "report")
SYNTHETIC = {"N1k": 1_000, "N10k": 10_000, "N100k": 100_000}
STAND_IN = {"N100k", "N1k"}  # chunk vectors = normalised mean of their sentences' vectors (N1k: quick runs only)
PUBLISHERS = ("The Harbour Gazette", "Northgate Courier", "Valley Evening Post", "The Riverside Record",
              "Eastfield Chronicle", "Lakeshore Herald", "The Market Town Times", "Westmoor Observer",
              "City Bulletin", "The Coastal Mail", "Highland Echo", "Southbank Journal", "The County Express",
              "Millbrook Standard", "Redhill Advertiser", "The Daily Meridian", "Oakley Sentinel",
              "Greenvale News", "Port Carrow Tribune", "The Weekly Ledger")
RECIPE = ("a deterministic generator (random.Random(article number)) over a pool of S2's real sentences "
          "(qa.chunking.split_sentences on every S1 paragraph and COVID-QA paper; kept: 40-400 characters, at "
          "least 6 words, a lower-case letter, no URL). Each article: a title that is a pool sentence of 30-110 "
          "characters; 15-45 body sentences in 3-10 paragraphs, each paragraph a run of consecutive pool "
          "sentences from a random place (so a paragraph reads locally coherent); a date uniform over "
          "2010-01-01..2025-12-31; one of 20 invented publishers. N100k's first 10,000 articles are N10k's.")
FOLLOWUPS = ("Who said that?", "When was that?", "And why?", "Where was that?", "What happened then?",
             "And how many?", "Who reported that?", "What about later?")
GOALS_10K = {  # issue 16, at 10k articles on this machine
    "one_shot_s": 2.0, "serve_ready_s": 10.0, "followup_p95_ms": 20.0, "plain_p95_ms": 15.0, "serve_rss_mb": 800.0,
    "update_s": 5.0, "nochange_s": 1.0, "build_peak_mb": 4096.0, "reload_wait_ms": 100.0}
GOALS_100K = {"serve_rss_mb": 6144.0}


# ---------------------------------------------------------------- small helpers


class Paths:
    def __init__(self, quick: bool):
        self.quick = quick
        self.root = HERE / ".cache" / ("scale-quick" if quick else "scale")
        self.corpora = self.root / "corpora"
        self.indexes = self.root / "indexes"
        self.results = self.root / "results"
        self.logs = self.root / "logs"
        self.md = self.root / "scale_real.md" if quick else HERE / "scale_real.md"
        for p in (self.corpora, self.indexes, self.results, self.logs):
            p.mkdir(parents=True, exist_ok=True)

    def corpus(self, size: str) -> Path:
        return self.corpora / size

    def index(self, size: str) -> Path:
        return self.indexes / size


QA_ROOT = REPO  # where `qa` is imported from (a worker evaluating the code before the index change sets it)


def use_qa() -> None:
    if sys.path[:1] != [str(QA_ROOT)]:
        sys.path.insert(0, str(QA_ROOT))


def load_avg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def stamp() -> dict:
    return {"at": dt.datetime.now().isoformat(timespec="seconds"), "load": load_avg()}


NICE_LONG = 10  # long parts (embed, throughput's neighbours, build, hnsw, quality) run at this niceness
LATENCY_PARTS = ("throughput", "cli", "serve", "warm", "reload")  # short, latency-measuring parts: the caller's niceness


@contextlib.contextmanager
def niced(on: bool):
    """Lower this process's priority (and its children's) for a long part, then restore it (as root, possible)."""
    before = os.getpriority(os.PRIO_PROCESS, 0)
    if on and before < NICE_LONG:
        os.setpriority(os.PRIO_PROCESS, 0, NICE_LONG)
    try:
        yield os.getpriority(os.PRIO_PROCESS, 0)
    finally:
        with contextlib.suppress(PermissionError):
            os.setpriority(os.PRIO_PROCESS, 0, before)


def log(msg: str) -> None:
    print(f"[{dt.datetime.now():%H:%M:%S} load {os.getloadavg()[0]:.1f}] {msg}", file=sys.stderr, flush=True)


def save(paths: Paths, part: str, size: str | None, data: dict) -> Path:
    path = paths.results / (f"{part}-{size}.json" if size else f"{part}.json")
    path.write_text(json.dumps(data, indent=1, default=str), "utf-8")
    return path


def load_result(paths: Paths, part: str, size: str | None = None) -> dict | None:
    path = paths.results / (f"{part}-{size}.json" if size else f"{part}.json")
    return json.loads(path.read_text("utf-8")) if path.is_file() else None


def child_env(**extra: str) -> dict:
    """benchutil.bench_env without PYTHONPATH: a worker imports `qa` from QA_ROOT, which may be another checkout."""
    env = {**os.environ, **OFFLINE, **extra}
    env.pop("PYTHONPATH", None)
    return env


def folder_bytes(path: Path) -> int:
    total = 0
    for p in Path(path).rglob("*"):
        with contextlib.suppress(OSError):
            if p.is_file() and not p.is_symlink():
                total += p.stat().st_size
    return total


def index_disk(index_dir: Path) -> dict:
    """Bytes of the current generation's segments and of its encoder (hard links counted once each)."""
    use_qa()
    from qa.index import current_dir, read_manifest

    manifest = read_manifest(index_dir)
    segs = sum(folder_bytes(index_dir / "segments" / s["name"]) for s in manifest["segments"])
    gen = current_dir(index_dir)
    encoder = folder_bytes(gen / "encoder") if (gen / "encoder").is_dir() else 0
    listed = []
    for seg in manifest["segments"]:
        info = json.loads((index_dir / "segments" / seg["name"] / "segment.json").read_text())
        listed.append({"articles": info["articles"], "chunks": info["chunks"], "deleted": len(seg.get("deleted", [])),
                       "approx": info.get("approx")})
    return {"segments_bytes": segs, "encoder_bytes": encoder, "segments": len(manifest["segments"]),
            "segment_list": listed, "whole_folder_bytes": folder_bytes(index_dir)}


class RssPoller:
    """Peak RSS (sum over a process and its children) by polling with psutil every ``every`` seconds."""

    def __init__(self, pid: int, every: float = 0.05):
        import psutil

        self.proc = psutil.Process(pid)
        self.every = every
        self.peak = 0
        self.samples = 0
        self._halt = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psutil

        while not self._halt.is_set():
            try:
                procs = [self.proc] + self.proc.children(recursive=True)
                rss = 0
                for p in procs:
                    with contextlib.suppress(psutil.Error):
                        rss += p.memory_info().rss
                self.peak = max(self.peak, rss)
                self.samples += 1
            except psutil.Error:
                break
            self._halt.wait(self.every)

    def __enter__(self) -> "RssPoller":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._halt.set()
        self._thread.join()


def run_measured(cmd: list[str], *, cwd: Path = REPO, env=None, timeout: float = 7200, stdout=None,
                 stderr=None, check: bool = True) -> dict:
    """Run a child process: wall seconds, peak RSS (psutil polling of it and its children, and the kernel's
    ru_maxrss of the largest waited-for child), its output."""
    import resource

    out = stdout if stdout is not None else subprocess.PIPE
    err = stderr if stderr is not None else subprocess.PIPE
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env or child_env(), stdout=out, stderr=err, text=True)
    with RssPoller(proc.pid) as poll:
        try:
            o, e = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            o, e = proc.communicate()
            raise SystemExit(f"timed out: {' '.join(cmd)}")
    wall = time.perf_counter() - start
    # ru_maxrss of RUSAGE_CHILDREN is the largest of all children waited for so far (a running maximum), so it
    # is only a check: the polled peak is the figure reported.
    kernel = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    if check and proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{(e or '')[-4000:]}")
    return {"wall_s": wall, "peak_rss_mb": poll.peak / 2**20, "children_maxrss_mb_so_far": kernel,
            "returncode": proc.returncode, "stdout": o or "", "stderr": e or ""}
