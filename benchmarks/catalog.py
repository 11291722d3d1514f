"""No-change and one-article `qa index` at 10k and 100k files (issue 25 item 5): the corpus catalog as a
table read only when a file changed, and skipped entirely when the folder's sizes and times hash to the
recorded digest.

The collection is synthetic (one short article per file, from a seeded generator) and the build embeds
with a stand-in encoder (a pseudo-random unit vector per text, 16 dimensions): the model plays no part
in either timed operation (nothing is embedded when nothing changed, and one article's embedding is
≈ 0.4 s on its own, the same before and after). Times are medians of 3 runs of `refresh_index`.

    python benchmarks/catalog.py --sizes 10000 100000 --work /tmp/catalog-bench [--out benchmarks/catalog.json]

Run it twice, with PYTHONPATH naming the code before and after, for a before/after in one session.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.append(str(Path(__file__).resolve().parents[1]))  # PYTHONPATH first: run it on the code before and after

from qa.config import Settings  # noqa: E402
from qa.index import BuildOptions  # noqa: E402
from qa.pipeline import refresh_index  # noqa: E402
from qa.readers import find_files  # noqa: E402

WORDS = ("council library housing ward budget school police report transport park museum plan vote "
         "residents road hospital inspection rating funding").split()


class StandInEncoder:
    """A fixed pseudo-random unit vector per text: no model (the timed operations embed nothing or one article)."""

    dim = 16

    def embed(self, texts, **kw):
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            seed = int.from_bytes(hashlib.sha256(t.encode()).digest()[:8], "little")
            v = np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)
            out[i] = v / np.linalg.norm(v)
        return out


def article(i: int) -> str:
    rng = np.random.default_rng(i)
    sentences = [" ".join(rng.choice(WORDS, 10)).capitalize() + f" in ward {i}." for _ in range(4)]
    return f'---\ntitle: "Story {i}"\ndate: "20{10 + i % 15}"\n---\n' + "\n\n".join(sentences) + "\n"


def make_corpus(folder: Path, n: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    have = len(list(folder.iterdir()))
    for i in range(have, n):
        (folder / f"a{i:06d}.md").write_text(article(i), "utf-8")


def timed(fn, runs: int = 3) -> tuple[float, list[float]]:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--work", type=Path, required=True, help="folder for the corpora and indexes")
    ap.add_argument("--label", default="this code")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    options = BuildOptions(embedder_factory=lambda _: StandInEncoder())
    results = []
    for n in args.sizes:
        corpus = args.work / f"corpus-{n}"
        make_corpus(corpus, n)
        s = Settings(corpus_dir=corpus, index_dir=args.work / f"index-{n}-{args.label.replace(' ', '-')}",
                     encoder="sentence-transformers")
        t = time.perf_counter()
        first = refresh_index(s, options)
        build_s = time.perf_counter() - t
        assert first.articles == n, first.summary()
        walk, _ = timed(lambda: find_files(corpus))
        nochange, nochange_all = timed(lambda: refresh_index(s, options))
        target = corpus / "a000007.md"
        counter = [0]

        def one_article():
            counter[0] += 1
            target.write_text(article(7) + f"\nUpdate {counter[0]} of story 7.\n", "utf-8")
            later = time.time_ns() + counter[0] * 1_000_000_000
            os.utime(target, ns=(later, later))
            report = refresh_index(s, options)
            assert report.reembedded == ("a000007",), report.summary()

        update, update_all = timed(one_article)
        row = {"articles": n, "label": args.label, "build_s": round(build_s, 1), "walk_s": round(walk, 3),
               "no_change_s": round(nochange, 3), "one_article_s": round(update, 3),
               "no_change_runs": [round(x, 3) for x in nochange_all],
               "one_article_runs": [round(x, 3) for x in update_all], "load": [round(x, 2) for x in os.getloadavg()]}
        print(json.dumps(row), flush=True)
        results.append(row)
    if args.out:
        old = json.loads(args.out.read_text()) if args.out.exists() else []
        args.out.write_text(json.dumps(old + results, indent=1) + "\n")


if __name__ == "__main__":
    main()
