"""Run every benchmark and assemble benchmarks/results.md (`make bench`).

    .venv/bin/python benchmarks/run_all.py [--quick] [--only build,latency,scale,embed_paths] [--assemble]

Each section is its own script (benchmarks/build.py, latency.py, scale.py, and embed_paths.py when
it exists), run in a fresh process so that one's imports, threads and memory do not colour the
next. Each writes its section to benchmarks/sections/ (kept in git, so a fresh clone can rerun one
section and keep the others); results.md is assembled from the
latest section files, so one section can be rerun alone (`--only latency`) or the report rebuilt
without running anything (`--assemble`).
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchutil import REPO, SECTIONS_DIR, bench_env, load_average, machine_facts, table, verdict, write_results  # noqa: E402

HERE = REPO / "benchmarks"
RESULTS = HERE / "results.md"
SECTIONS = ("build", "latency", "scale", "embed_paths")
TIMEOUT_S = {"build": 900, "latency": 900, "scale": 900, "embed_paths": 900}


def has_main(path: Path) -> bool:
    """Whether a script defines a top-level main() (read, not imported)."""
    try:
        tree = ast.parse(path.read_text("utf-8"))
    except (OSError, SyntaxError):
        return False
    return any(isinstance(node, ast.FunctionDef) and node.name == "main" for node in tree.body)


def command(name: str, quick: bool) -> list[str] | None:
    script = HERE / f"{name}.py"
    if not script.is_file() or not has_main(script):
        return None
    if name == "embed_paths":  # not ours: its own report, written to our section folder
        return [sys.executable, str(script), "--calls", "20" if quick else "40", "--out",
                str(SECTIONS_DIR / "embed_paths.md")]
    return [sys.executable, str(script), *(["--quick"] if quick else [])]


def run_section(name: str, quick: bool) -> dict:
    cmd = command(name, quick)
    if cmd is None:
        return {"name": name, "skipped": "script missing or without main()"}
    SECTIONS_DIR.mkdir(parents=True, exist_ok=True)
    print(f"== {name}: {' '.join(cmd[1:])}  (load {load_average()})", file=sys.stderr, flush=True)
    start = time.perf_counter()
    load_start = load_average()
    try:
        done = subprocess.run(cmd, cwd=REPO, env=bench_env(), stdout=subprocess.PIPE, stderr=None, text=True,
                              timeout=TIMEOUT_S[name])
        status = "ok" if done.returncode == 0 else f"failed with exit code {done.returncode}"
    except subprocess.TimeoutExpired:
        status = f"stopped after the {TIMEOUT_S[name]} s time limit"
    seconds = time.perf_counter() - start
    print(f"== {name}: {status} in {seconds:.0f} s", file=sys.stderr, flush=True)
    return {"name": name, "status": status, "seconds": seconds, "load_start": load_start,
            "load_end": load_average(), "quick": quick, "finished": utc_now()}


def utc_now() -> str:
    import datetime as dt

    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def read_json(name: str) -> dict | None:
    path = SECTIONS_DIR / f"{name}.json"
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None


def section_markdown(name: str) -> str | None:
    path = SECTIONS_DIR / f"{name}.md"
    if not path.is_file():
        return None
    text = path.read_text("utf-8").strip()
    if name == "embed_paths":  # its own top-level title becomes section 4
        lines = text.splitlines()
        if lines and lines[0].startswith("# "):
            lines[0] = "## 4. " + lines[0][2:] + " (benchmarks/embed_paths.py)"
        text = "\n".join(lines)
    return text


def summary(runs: dict[str, dict]) -> list[str]:
    """The goals table and the recommendation, from the sections' JSON."""
    rows = []
    build = read_json("build")
    if build:
        for r in build["results"]:
            raw = [(r["raw_before"][k] + r["raw_after"][k]) / 2 for k in ("wall_s", "cpu_s")]
            wall, cpu = raw[0] / r["build_embed"]["wall_s"], raw[1] / r["build_embed"]["cpu_s"]
            rows.append([f"build embedding throughput / raw ONNX — {r['label']}", f"{wall:.2f} (CPU time: {cpu:.2f})",
                         "≥ 0.9", "met" if wall >= 0.9 else ("**not met** by wall time, met by CPU time"
                                                            if cpu >= 0.9 else "**not met**")])
    lat = read_json("latency")
    if lat:
        w, o, s = lat["warm"], lat["one_shot"], lat["serve"]
        rows += [
            ["warm `engine.ask` p50", f"{w['quiet']['total']['p50']:.1f} ms", "≤ 8 ms",
             verdict(w["quiet"]["total"]["p50"], 8)],
            ["warm `engine.ask` p95", f"{w['quiet']['total']['p95']:.1f} ms", "≤ 12 ms",
             verdict(w["quiet"]["total"]["p95"], 12)],
            ["warm `engine.ask` p95, another process busy on one core", f"{w['busy']['total']['p95']:.1f} ms",
             "≤ 12 ms", verdict(w["busy"]["total"]["p95"], 12)],
            ["one-shot `qa ask` (median)", f"{o['median_s']:.2f} s", "≤ 1.5 s", verdict(o["median_s"], 1.5)],
            ["`qa serve` ready (median)", f"{s['ready_median_s']:.1f} s", "≤ 8 s", verdict(s["ready_median_s"], 8)],
            ["`qa serve` first answer (median)", f"{s['first_answer_median_s']:.1f} s", "≤ 15 s",
             verdict(s["first_answer_median_s"], 15)],
            ["web API `/ask` over HTTP p50 (warm)", f"{s['http']['p50']:.0f} ms", "≤ 100 ms",
             verdict(s["http"]["p50"], 100)],
            ["… through gradio_client p50 (polls every 50 ms)", f"{s['api']['p50']:.0f} ms", "—", "—"],
            [f"`qa serve` RSS after {s['api_calls']} questions (peak)",
             f"{s['memory']['rss_mb']:.0f} MB ({s['memory']['peak_rss_mb']:.0f} MB)", "≤ 300 MB",
             verdict(s["memory"]["rss_mb"], 300)],
        ]
    out = ["## Summary", ""]
    if rows:
        out += [table(["goal", "measured", "target", "status"], rows, "lrrl"), ""]
    if lat:
        out += ["For comparison (not re-run): " + lat["haystack_comparison"] + ". Our warm `engine.ask` p50 "
                f"({lat['warm']['quiet']['total']['p50']:.1f} ms) covers embedding, hybrid retrieval *and* "
                f"answer extraction, on the 5-article corpus/.", ""]
    scale = read_json("scale")
    if scale:
        rec = scale["recommendation"]
        from qa import index

        out += [f"Recommended `qa.index.APPROX_ABOVE = {rec['value']:_}` (exact search stays under "
                f"{rec['budget_ms']:.0f} ms up to ≈ {rec['raw']:,.0f} rows here; qa.index has "
                f"{index.APPROX_ABOVE:_} now, chosen from recall and latency on real model vectors in "
                f"benchmarks/scale_real.md); section 3 has these synthetic rows' figures.", ""]
    return out


def assemble(runs: dict[str, dict], invocations: list[dict]) -> str:
    facts = machine_facts()
    libs = facts["libraries"]
    out = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`benchmarks/run_all.py`); every section is its own script under "
        "benchmarks/ with a `--quick` flag and can be rerun alone (`python benchmarks/run_all.py --only "
        "latency`). **Other engineers were running tests on this machine at the same time**: the load "
        "averages quoted everywhere say how busy it was, and absolute times are worse than on an idle box.",
        "",
        table(["machine", ""], [
            ["CPU", facts["cpu"]],
            ["cores", f"{facts['cores']} (usable by this process: {facts['affinity']})"],
            ["RAM", f"{facts['ram_gb']:.1f} GB"],
            ["kernel", facts["kernel"]],
            ["load average now (1/5/15 min)", facts["load_average"]],
            ["runs (latest last)", "<br>".join(
                f"{inv['started']}: {', '.join(inv['sections'])}{' (quick)' if inv.get('quick') else ''} in "
                f"{inv['minutes']:.1f} min, load {inv['load_start']} → {inv['load_end']}"
                for inv in invocations[-4:]) or "–"],
        ], "ll"),
        "",
        "Libraries: " + ", ".join(f"{k} {v}" for k, v in libs.items()) + ".",
        "",
    ]
    if runs:
        out += [table(["section", "status", "seconds", "finished", "load at start", "load at end"],
                      [[n, r.get("status", r.get("skipped", "")), f"{r['seconds']:.0f}" if "seconds" in r else "–",
                        r.get("finished", "–"), r.get("load_start", "–"), r.get("load_end", "–")]
                       for n, r in sorted(runs.items(), key=lambda kv: SECTIONS.index(kv[0]))], "llrlll"), ""]
    out += summary(runs)
    for name in SECTIONS:
        text = section_markdown(name)
        if text:
            out += [text, ""]
        elif name in runs:
            out += [f"## {name}", "", f"No result: {runs[name].get('status') or runs[name].get('skipped')}.", ""]
    return "\n".join(out).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="pass --quick to every section")
    parser.add_argument("--only", default=",".join(SECTIONS), metavar="NAMES",
                        help="comma-separated sections to run (default: all)")
    parser.add_argument("--assemble", action="store_true", help="run nothing; rebuild results.md from the sections")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    wanted = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = [s for s in wanted if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")
    os.chdir(REPO)
    started, started_load, started_at = time.perf_counter(), load_average(), utc_now()
    runs: dict[str, dict] = {}
    if not args.assemble:
        for name in wanted:
            runs[name] = run_section(name, args.quick)
    total = None if args.assemble else time.perf_counter() - started
    recorded = read_json("run_all") or {}
    sections = recorded.get("sections", {})
    invocations = recorded.get("invocations", [])
    if runs:
        sections.update(runs)
        invocations.append({"started": started_at, "sections": list(runs), "minutes": total / 60,
                            "load_start": started_load, "load_end": load_average(), "quick": args.quick})
        SECTIONS_DIR.mkdir(parents=True, exist_ok=True)
        (SECTIONS_DIR / "run_all.json").write_text(
            json.dumps({"sections": sections, "invocations": invocations[-20:]}, indent=2), "utf-8")
    write_results(args.out, assemble(sections, invocations))
    print(f"wrote {args.out} ({total / 60:.1f} min)" if total else f"wrote {args.out}", file=sys.stderr)
    failed = [n for n, r in runs.items() if r.get("status") not in ("ok", None)]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
