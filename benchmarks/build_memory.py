"""Peak RSS of a from-scratch `qa index` at 10,000 and 100,000 articles (issue 25 item 4).

The collections are scale_real's N10k and N100k (synthetic news articles of S2's real sentences,
15–45 sentences each; N100k's first 10,000 are N10k's). The model plays no part in what grows with
the collection, so the build embeds with a stand-in encoder of the model's dimension (384): each text's
vector is a slice of one fixed random pool chosen by the text's hash, normalised; its vectors occupy
exactly what the model's would. The model's own memory (≈ 90 MB for the ONNX session) is a constant
left out of both rows, as is its time.

Each build runs in a child process (`--child`) whose peak RSS is its ru_maxrss; the parent prints one
JSON row per size, with the time, the articles and the load average.

    python benchmarks/build_memory.py --work /tmp/build-memory [--sizes N10k N100k] [--label after] [--out F]

Run it with PYTHONPATH naming another checkout for a before/after on the same corpora.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
SIZES = {"N1k": 1_000, "N10k": 10_000, "N25k": 25_000, "N100k": 100_000}


class StandInEncoder:
    """384-dimension unit vectors from one seeded pool, chosen by each text's hash: no model."""

    dim = 384
    _pool = np.random.default_rng(25).standard_normal(1 << 20).astype(np.float32)

    def embed(self, texts, **kw):
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            start = int.from_bytes(hashlib.blake2b(t.encode("utf-8", "surrogatepass"), digest_size=8).digest(),
                                   "little") % (len(self._pool) - self.dim)
            v = self._pool[start:start + self.dim]
            out[i] = v / np.linalg.norm(v)
        return out


def make_corpus(folder: Path, n: int) -> None:
    """N articles of scale_real's recipe (skipped when the folder holds them already)."""
    if folder.is_dir() and sum(1 for _ in os.scandir(folder)) == n:
        return
    from scale_real_data import sentence_pool, synthetic_article, write_article

    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    pool, titles = sentence_pool()
    for i in range(n):
        a = synthetic_article(i, pool, titles)
        write_article(folder, a["id"], a["title"], a["date"], a["source"], a["text"])


def child(corpus: Path, index: Path) -> None:
    from qa.config import Settings
    from qa.index import BuildOptions
    from qa.pipeline import refresh_index

    t = time.perf_counter()
    report = refresh_index(Settings(corpus_dir=corpus, index_dir=index, encoder="sentence-transformers"),
                           BuildOptions(embedder_factory=lambda _: StandInEncoder()))
    print(json.dumps({"articles": report.articles, "seconds": round(time.perf_counter() - t, 1),
                      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, required=True, help="folder for the corpora and indexes")
    ap.add_argument("--sizes", nargs="+", default=["N10k", "N100k"], choices=list(SIZES))
    ap.add_argument("--label", default="this code")
    ap.add_argument("--out", type=Path, help="append the rows to this JSON file")
    ap.add_argument("--child", nargs=2, type=Path, metavar=("CORPUS", "INDEX"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(*args.child)
    rows = []
    for size in args.sizes:
        corpus = args.work / f"corpus-{size}"
        make_corpus(corpus, SIZES[size])
        index = args.work / f"index-{size}-{args.label.replace(' ', '-')}"
        shutil.rmtree(index, ignore_errors=True)
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        done = subprocess.run([sys.executable, __file__, "--work", str(args.work), "--child", str(corpus), str(index)],
                              env=env, capture_output=True, text=True)
        if done.returncode:
            sys.exit(f"{size}: the build failed:\n{done.stderr[-2000:]}")
        row = {"size": size, "label": args.label, **json.loads(done.stdout.strip().splitlines()[-1]),
               "load": [round(x, 2) for x in os.getloadavg()]}
        print(json.dumps(row), flush=True)
        rows.append(row)
        shutil.rmtree(index, ignore_errors=True)
    if args.out:
        old = json.loads(args.out.read_text()) if args.out.exists() else []
        args.out.write_text(json.dumps(old + rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
