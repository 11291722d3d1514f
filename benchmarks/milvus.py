"""The Milvus backend beside the built-in (segmented) index, in one run: the same articles, the same
vectors, the same questions.

    python benchmarks/milvus.py                       # corpus questions, XQuAD-en, SQuAD v1.1 dev (S1)
    python benchmarks/milvus.py --datasets xquad-en --sample 200 --timed 100

Per data set and backend: build time and rate (embeddings come from benchmarks/scale_real_data.py's
scale_real_data.CachedEmbedder, so the build figures are everything but the model; the model's own rate is in
docs/SCALING.md), recall@5 and answer@1 of `qa eval` (hybrid), per-question p50 / p95 (questions'
vectors cached too: retrieval and answering only), Milvus round trips per question, and the
process's RSS after each step (Milvus Lite runs inside this process: its memory is the growth).
Writes benchmarks/milvus.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from benchutil import REPO, external, load_average, percentile  # noqa: E402

DATASETS = ("corpus", "xquad-en", "squad-v1.1", "N2k", "N10k")
SYNTHETIC = {"N2k": 2_000, "N10k": 10_000}  # news-shaped articles of real sentences (scale_real_data), fake vectors


class FakeEmbedder:
    """A stand-in for the model at N sizes: a fixed pseudo-random unit vector per text (the cost of Milvus
    and of the index does not depend on what the vectors mean; the quality columns then mean nothing)."""

    DIM = 384

    def __init__(self):
        import numpy as np

        self.table = np.random.default_rng(0).standard_normal((1 << 16, self.DIM), dtype=np.float32)

    def embed(self, texts, **kw):
        import zlib

        import numpy as np

        keys = np.array([zlib.crc32(t.encode("utf-8", "surrogatepass")) for t in texts], dtype=np.uint64)
        out = self.table[keys & 0xFFFF] + self.table[(keys >> 16) & 0xFFFF] * 0.5  # one vector per text
        return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load(name: str, sample: int | None):
    """(articles, questions) of a data set."""
    if name in SYNTHETIC:
        return synthetic(SYNTHETIC[name], sample or 300)
    if name == "corpus":
        from qa.corpus import load_articles
        from qa.testset import load_questions

        return load_articles(REPO / "corpus"), load_questions(REPO / "corpus" / "questions.jsonl")
    from qa.squad import load_squad

    return load_squad(external(name), sample=sample, seed=0)


def synthetic(n: int, questions: int):
    """N news-shaped articles (benchmarks/scale_real_data.synthetic_article) and questions made from their
    sentences (a word replaced by "what"), as TestQuestions without gold (timings only)."""
    import hashlib
    import random

    from scale_real_data import sentence_pool, synthetic_article

    from qa.testset import TestQuestion
    from qa.types import Article

    pool, titles = sentence_pool()
    articles = []
    for i in range(n):
        a = synthetic_article(i, pool, titles)
        articles.append(Article(id=a["id"], title=a["title"], date=a["date"], source=a["source"], url=None,
                                text=a["text"], sha256=hashlib.sha256(a["text"].encode()).hexdigest()))
    rng = random.Random(1)
    asked = []
    for _ in range(questions):
        words = rng.choice(pool).split()
        words[rng.randrange(1, len(words))] = "what"
        asked.append(TestQuestion(id=f"s{len(asked)}", question=" ".join(words).rstrip(".") + "?", type="",
                                  expected=(), articles=(), history=(), answerable=True, current=False))
    return articles, asked


def run_backend(backend: str, articles, questions, embedder, timed: int, root: Path) -> dict:
    from qa.config import Settings
    from qa.evaluate import evaluate
    from qa.index import BuildOptions, build_index
    from qa.index.backend import open_store
    from qa.pipeline import Engine

    s = Settings(corpus_dir=root / "unused", index_dir=root / backend / "index", backend=backend)
    t = time.perf_counter()
    report = build_index(articles, s, BuildOptions(embedder_factory=lambda _: embedder))
    build_s = time.perf_counter() - t
    after_build = rss_mb()
    engine = Engine(open_store(s.index_dir), s, embedder=embedder)
    store = engine.index
    hybrid = {"recall@5": float("nan"), "answer@1": float("nan")}  # synthetic questions have no gold
    first_calls = None
    if any(q.expected for q in questions):
        before = getattr(store, "calls", 0)
        result = evaluate(engine, questions, methods=("hybrid",), progress=False)
        asked = sum(1 + len(q.history) for q in questions)
        first_calls = (getattr(store, "calls", 0) - before) / asked  # rows and words not cached yet
        hybrid = result["methods"]["hybrid"] if "methods" in result else result["hybrid"]
    plain = [q for q in questions if not getattr(q, "history", None)][:timed]
    times, calls = [], []
    for q in plain:  # with gold questions, warm: the evaluation above read these rows; synthetic ones cold
        before = getattr(store, "calls", 0)
        t = time.perf_counter()
        engine.ask(q.question, top_k=10)
        times.append(time.perf_counter() - t)
        calls.append(getattr(store, "calls", 0) - before)
    return {"backend": backend, "articles": report.articles, "chunks": report.chunks, "sentences": report.sentences,
            "build_s": build_s, "articles_per_s": report.articles / build_s if build_s else 0.0,
            "recall@5": hybrid["recall@5"], "answer@1": hybrid["answer@1"], "questions": len(questions),
            "p50_ms": percentile([x * 1000 for x in times], 50), "p95_ms": percentile([x * 1000 for x in times], 95),
            "round_trips": (sum(calls) / len(calls)) if calls and backend == "milvus" else 0.0,
            "round_trips_max": max(calls) if calls and backend == "milvus" else 0,
            "round_trips_first_pass": first_calls if backend == "milvus" else None,
            "rss_after_build_mb": after_build, "rss_after_questions_mb": rss_mb(), "timed": len(times)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    parser.add_argument("--sample", type=int, default=300, help="questions per external data set")
    parser.add_argument("--timed", type=int, default=100, help="plain questions timed per backend")
    parser.add_argument("--out", type=Path, default=HERE / "milvus.md")
    args = parser.parse_args(argv)
    from scale_real_data import CachedEmbedder

    cached = CachedEmbedder()
    rows = []
    start_load = load_average()
    for name in args.datasets:
        articles, questions = load(name, args.sample)
        embedder = FakeEmbedder() if name in SYNTHETIC else cached
        embedder.embed([q.question for q in questions])  # the questions' vectors, cached before timing
        with tempfile.TemporaryDirectory(prefix="qa-milvus-bench-") as tmp:
            for backend in ("segments", "milvus"):
                row = run_backend(backend, articles, questions, embedder, args.timed, Path(tmp))
                row["dataset"] = name
                rows.append(row)
                print(json.dumps(row), flush=True)
    lines = [
        "# Milvus backend beside the built-in index (benchmarks/milvus.py)",
        "",
        f"`python benchmarks/milvus.py {' '.join(sys.argv[1:])}`".replace(" `", "`"),
        f"load average at start {start_load}, at end {load_average()}; {os.cpu_count()} cores; "
        "Milvus Lite 3.2.2 in-process (pymilvus 3.0.2). Vectors from scale_real_data.CachedEmbedder (build time is everything but "
        "the model); question vectors cached (latency is retrieval + answering). RSS is this one process's, "
        "read after each step in the order of the table (Milvus Lite's memory shows as growth).",
        "",
        "| data set | backend | articles | chunks | sentences | build s | articles/s | R@5 | answer@1 | questions | "
        "p50 ms | p95 ms | round trips / question: first pass / timed (max) | RSS after build / questions MB |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        trips = "—"
        if r["backend"] == "milvus":
            first = r["round_trips_first_pass"]
            trips = (f"{first:.1f} / " if first is not None else "") + f"{r['round_trips']:.1f} ({r['round_trips_max']})"
        lines.append(f"| {r['dataset']} | {r['backend']} | {r['articles']:,} | {r['chunks']:,} | {r['sentences']:,} | "
                     f"{r['build_s']:.1f} | {r['articles_per_s']:.1f} | {r['recall@5']:.3f} | {r['answer@1']:.3f} | "
                     f"{r['questions']} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {trips} | "
                     f"{r['rss_after_build_mb']:.0f} / {r['rss_after_questions_mb']:.0f} |")
    args.out.write_text("\n".join(lines) + "\n", "utf-8")
    (args.out.with_suffix(".json")).write_text(json.dumps(rows, indent=1) + "\n", "utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
