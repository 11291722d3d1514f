"""What a filter costs, and whether a filtered search finds what exact search over the allowed articles
finds (issue 19), on a large index (the scale benchmark's 10k-article collection).

    python benchmarks/filter_cost.py --index INDEX_DIR --corpus CORPUS_DIR [--questions 200]

For filters keeping ~1%, ~10% and 100% of the articles (an id list, a date range, everything from the
oldest date on), it asks the same questions with and without the filter (interleaved, after one untimed
pass of both so that the pages they read are cached) and prints
p50 / p95 of each, and, for each question, compares the filtered dense top-10 with brute force over the
allowed chunks' vectors (recall@10; 1.000 means the same passages). Questions are the collection's own
sentences, so they have answers. The load average is printed beside the times.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchutil import percentile  # noqa: E402
from qa.config import Settings  # noqa: E402
from qa.filters import Filter  # noqa: E402
from qa.index import load_index  # noqa: E402
from qa.pipeline import Engine  # noqa: E402


def filters(index, rng: random.Random) -> dict[str, Filter]:
    ids = [index.article_ids[r] for r in np.flatnonzero(index.live_articles)]
    dates = sorted(d for d in index.article_dates[index.live_articles].tolist() if d)
    tenth = dates[int(0.9 * len(dates))] if dates else None
    out = {"~1% (an id list)": Filter(articles=tuple(rng.sample(ids, max(1, len(ids) // 100))))}
    if tenth:
        out["~10% (the newest dates)"] = Filter(since=tenth[:7])
        out["100% (from the oldest date, undated too)"] = Filter(since=dates[0][:4], undated=True)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--corpus", type=Path, required=True)
    ap.add_argument("--questions", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    settings = Settings(corpus_dir=args.corpus, index_dir=args.index)
    engine = Engine(load_index(args.index), settings)
    engine.warm_up()
    index = engine.index
    rng = random.Random(args.seed)
    rows = rng.sample(np.flatnonzero(index.live_sentences).tolist(), args.questions)
    questions = [index.sentence(r).text[:300] for r in rows]
    print(f"index {args.index}: {len(index.articles):,} articles, {int(index.live_chunks.sum()):,} chunks; "
          f"{len(questions)} questions from its sentences; load average {os.getloadavg()[0]:.2f}\n")
    print("| filter | articles kept | plain p50 / p95 ms | filtered p50 / p95 ms | p95 difference | "
          "dense top-10 vs brute force (mean recall@10) |")
    print("|---|---:|---:|---:|---:|---:|")
    for q in questions[:20]:  # warm
        engine.ask(q)
    for name, flt in filters(index, rng).items():
        scope = engine.retriever.scope(flt)
        plain, filtered, recall = [], [], []
        allowed_rows = np.flatnonzero(scope.chunks)
        allowed_vectors = index.chunk_vectors_at(allowed_rows) if len(allowed_rows) <= 100_000 else None
        for q in questions:  # untimed: the rows both read are cached, as on a server that has run a while
            engine.ask(q)
            engine.ask(q, filter=flt)
        for q in questions:
            t = time.perf_counter()
            engine.ask(q)
            plain.append(time.perf_counter() - t)
            t = time.perf_counter()
            engine.ask(q, filter=flt)
            filtered.append(time.perf_counter() - t)
            if allowed_vectors is not None:
                vector = engine.query_vectors((q,)).search
                exact = set(allowed_rows[np.argsort(-(allowed_vectors @ vector))[:10]].tolist())
                found = set(index.dense_top(vector, 10, scope.chunks))
                recall.append(len(found & exact) / max(1, len(exact)))
        p = (1000 * statistics.median(plain), 1000 * percentile(plain, 95))
        f = (1000 * statistics.median(filtered), 1000 * percentile(filtered, 95))
        r = f"{statistics.mean(recall):.3f}" if recall else "–"
        print(f"| {name} | {scope.articles:,} of {scope.total:,} | {p[0]:.1f} / {p[1]:.1f} | {f[0]:.1f} / {f[1]:.1f} | "
              f"{f[1] - p[1]:+.1f} | {r} |", flush=True)
    print(f"\nload average at the end {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
