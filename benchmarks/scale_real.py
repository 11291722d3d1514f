"""Real collection sizes (issue 16): S1, S2, N10k, N100k as corpus folders, measured as a user runs them.

    python benchmarks/scale_real.py                                                 # everything
    ... benchmarks/scale_real.py --sizes S1,N10k --only build,cli                   # some parts, some sizes
    ... benchmarks/scale_real.py --only report                                      # re-render the .md
    ... benchmarks/scale_real.py --quick                                            # ~5-minute smoke run

Parts (``--only``, in this order): data, embed, throughput, build, cli, serve, warm, reload, hnsw, quality,
report. Each part stores its figures in benchmarks/.cache/scale/results/<part>-<size>.json (with the time and
the load average); ``report`` renders benchmarks/scale_real.md from whatever is stored, so parts can be
rerun alone. --quick uses benchmarks/.cache/scale-quick/ (S1 and N1k, few repetitions) and never writes the
committed .md (it writes benchmarks/.cache/scale-quick/scale_real.md).

The script lowers its own priority to niceness 10 for the long parts (data, embed, throughput, build, hnsw,
quality) and returns to the caller's for the short latency parts (cli, serve, warm, reload).

Collections (corpus folders of .md files with YAML front matter, one article per file):
    S1     the 2,067 SQuAD v1.1 dev paragraphs, one article each (id <title-slug>-p<n>, undated)
    S2     S1 + the 98 COVID-QA papers (title = first line of the paper, date = its date line when ISO)
    N10k   10,000 synthetic news articles made of S2's real sentences recombined (RECIPE below)
    N100k  100,000 of them (its first 10,000 are N10k's)

Embeddings are computed once and reused across sizes: CachedEmbedder keys each text by its sha256 in
benchmarks/.cache/embeddings.sqlite and embeds only misses with the real ONNX encoder. For N100k only, a
chunk's vector is a stand-in (the normalised mean of its sentences' real vectors), not the model's.

This file is the entry point (the command line, and the worker processes started through it); the parts live
in scale_real_common.py (sizes, goals, Paths, results on disk, measured child processes), scale_real_data.py
(collections, embeddings, questions), scale_real_timing.py (throughput, build, cli, serve, warm, reload),
scale_real_search.py (hnsw, quality) and scale_real_report.py (renders scale_real.md). Percentiles, tables and
the offline environment come from benchutil.py.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchutil import write_results  # noqa: E402
from scale_real_common import (  # noqa: E402
    LATENCY_PARTS, PARTS, Paths, RECIPE, SCRIPT, SIZES, load_result, log, niced, run_measured, save,
    stamp
)
from scale_real_data import make_collections, prewarm  # noqa: E402
from scale_real_report import render  # noqa: E402
from scale_real_search import part_hnsw, part_quality, worker_quality  # noqa: E402
from scale_real_timing import (  # noqa: E402
    part_build, part_cli, part_reload, part_serve, part_throughput, part_warm, worker_build,
    worker_serve_split
)


# ---------------------------------------------------------------- main


def in_child(paths: Paths, part: str, size: str, arg) -> dict:
    out = paths.logs / f"{part}-{size}.json"
    with open(paths.logs / f"{part}-{size}.log", "w") as err:
        run_measured([sys.executable, str(SCRIPT), "_part", part, "quick" if paths.quick else "full",
                      size, json.dumps(arg), str(out)], stderr=err, timeout=3 * 3600)
    return json.loads(out.read_text())


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_build"]:
        worker_build(argv[1], Path(argv[2]), Path(argv[3]), Path(argv[4]))
        return 0
    if argv[:1] == ["_part"]:  # a part run in a fresh process, so its RSS figures are its own
        paths, size, arg = Paths(argv[2] == "quick"), argv[3], json.loads(argv[4])
        fn = {"warm": part_warm, "reload": part_reload}[argv[1]]
        Path(argv[5]).write_text(json.dumps(fn(paths, size, arg), default=str))
        return 0
    if argv[:1] == ["_servesplit"]:
        worker_serve_split(Path(argv[1]), Path(argv[2]), Path(argv[3]))
        return 0
    if argv[:1] == ["_quality"]:
        worker_quality(argv[1], argv[2], argv[3], int(argv[4]), argv[5], argv[6] == "1")
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", help=f"comma-separated, of {', '.join(SIZES)} (default: all; --quick: S1,N1k)")
    parser.add_argument("--only", default=",".join(PARTS), help=f"comma-separated parts, of {', '.join(PARTS)}")
    parser.add_argument("--quick", action="store_true", help="a ~5-minute smoke run (S1 and N1k, few repetitions)")
    args = parser.parse_args(argv)
    paths = Paths(args.quick)
    sizes = (args.sizes or ("S1,N1k" if args.quick else ",".join(SIZES))).split(",")
    parts = args.only.split(",")
    bad = [p for p in parts if p not in PARTS] + [s for s in sizes if s not in (*SIZES, "N1k")]
    if bad:
        parser.error(f"unknown part or size: {', '.join(bad)}")
    q = args.quick
    reps, serve_n, warm_n, steady, quality_n = (1, 10, 30, 1.0, 100) if q else (3, 100, 200, 3.0, 1000)
    def run_part(part: str, size: str | None, fn) -> None:
        with niced(part not in LATENCY_PARTS) as nice:
            log(f"{part} {size or ''} (niceness {nice})")
            data = fn()
        data["niceness"] = nice
        save(paths, part, size, data)

    if "data" in parts:
        old = load_result(paths, "data") or {"collections": {}}
        with niced(True):
            made = make_collections(paths, sizes)
        save(paths, "data", None, {**stamp(), "collections": old["collections"] | made, "recipe": RECIPE})
    if "embed" in parts:
        for size in sizes:
            run_part("embed", size, lambda: prewarm(paths, size))
    if "throughput" in parts:
        run_part("throughput", None, lambda: part_throughput(paths, q))
    for size in sizes:
        for part, fn in (("build", lambda: part_build(paths, size)), ("cli", lambda: part_cli(paths, size, reps)),
                         ("serve", lambda: part_serve(paths, size, serve_n)),
                         ("warm", lambda: in_child(paths, "warm", size, warm_n)),
                         ("reload", lambda: in_child(paths, "reload", size, steady))):
            if part in parts:
                run_part(part, size, fn)
    if "hnsw" in parts:
        run_part("hnsw", None, lambda: part_hnsw(paths, sizes, q))
    if "quality" in parts:
        run_part("quality", None, lambda: part_quality(paths, quality_n, "N1k" if q else "N10k"))
    if "report" in parts:
        write_results(paths.md, render(paths, sizes if q else list(SIZES)))
        log(f"wrote {paths.md}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
