"""A from-scratch build of corpus/ (the real ONNX encoder) plain, on a local Dask cluster of 1 worker and
of 2 workers (issue 25 item 2), in one run, in that order, each into a fresh index folder.

    python benchmarks/dask_build.py [--corpus corpus] [--rounds 1]

Prints seconds per article, the ratio to the plain build and the load average beside each.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qa.config import Settings  # noqa: E402
from qa.index import BuildOptions  # noqa: E402
from qa.pipeline import refresh_index  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=Path(__file__).resolve().parents[1] / "corpus")
    ap.add_argument("--rounds", type=int, default=1)
    args = ap.parse_args()
    plain = None
    for _ in range(args.rounds):
        for label, options in (("plain", BuildOptions()), ("dask 1 worker", BuildOptions(workers=1)),
                               ("dask 2 workers", BuildOptions(workers=2))):
            with tempfile.TemporaryDirectory() as tmp:
                s = Settings(corpus_dir=args.corpus, index_dir=Path(tmp) / "index")
                t = time.perf_counter()
                report = refresh_index(s, options, rebuild=True)
                seconds = time.perf_counter() - t
            per = seconds / report.articles
            plain = per if label == "plain" else plain
            print(f"{label}: {report.articles} articles, {report.chunks + report.sentences} texts, {seconds:.1f} s, "
                  f"{per:.2f} s/article, {per / plain:.2f}x plain, load {os.getloadavg()[0]:.2f}", flush=True)


if __name__ == "__main__":
    main()
