"""Exact versus HNSW search on real vectors, and answer quality before/after the index change."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchutil import summary_ms  # noqa: E402
import scale_real_common  # noqa: E402
from scale_real_common import (  # noqa: E402
    BEFORE_COMMIT, Paths, REPO, SCRIPT, STAND_IN, load_avg, log, run_measured, stamp, use_qa
)
from scale_real_data import CachedEmbedder, squad_questions  # noqa: E402


# ---------------------------------------------------------------- exact versus HNSW on real vectors


def query_vectors(n: int):
    """``n`` real question embeddings (SQuAD v1.1 dev questions, sample seed 2) from the real encoder."""
    use_qa()
    from qa.config import Settings
    from qa.embedding import onnx_embedder
    from qa.index import encoder_cache_dir

    model = onnx_embedder(encoder_cache_dir(Settings()), threads=2)
    return model.embed([q.question for q in squad_questions(n, 2)])


def live_vectors(index_dir: Path):
    import numpy as np

    use_qa()
    from qa.index import load_index

    index = load_index(index_dir, resident=False)
    rows = np.flatnonzero(index.live_chunks)
    return index, np.ascontiguousarray(index.chunk_vectors_at(rows)), rows


def exact_top(x, q, k: int = 10):
    import numpy as np

    s = x @ q
    top = np.argpartition(-s, k - 1)[:k]
    return top[np.argsort(-s[top])]


def recall_at(found, truth) -> float:
    return sum(len(set(map(int, a)) & set(map(int, b))) for a, b in zip(found, truth)) / (len(truth) * len(truth[0]))


def hnsw_point(x, queries, label: str) -> dict:
    import faiss
    import numpy as np

    use_qa()
    from qa.index.segment import HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH, HNSW_M

    n = len(x)
    log(f"hnsw: {label}, {n:,} rows")
    truth = [exact_top(x, q) for q in queries]
    times = []
    for q in queries:
        t = time.perf_counter()
        exact_top(x, q)
        times.append(time.perf_counter() - t)
    res = {"rows": n, "label": label, "start": stamp(), "exact": summary_ms(times)}
    t = time.perf_counter()
    index = faiss.IndexHNSWFlat(x.shape[1], HNSW_M, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    for s in range(0, n, 50_000):
        index.add(x[s:s + 50_000])
    res["hnsw_build_s"] = time.perf_counter() - t
    res["hnsw_build_load"] = load_avg()
    res["ef"] = {}
    for ef in (64, HNSW_EF_SEARCH, 256):
        index.hnsw.efSearch = ef
        found, times = [], []
        for q in queries:
            t = time.perf_counter()
            _, ids = index.search(q[None, :].astype(np.float32), 10)
            times.append(time.perf_counter() - t)
            found.append(ids[0])
        res["ef"][str(ef)] = {"recall@10": recall_at(found, truth), "latency": summary_ms(times)}
    res["end"] = stamp()
    return res


def engine_dense(index, x, rows, queries) -> dict:
    """The loaded index's own dense_top (its segments' HNSW graphs or exact search) against exact search."""
    import numpy as np

    found, times = [], []
    for q in queries:
        t = time.perf_counter()
        top = index.dense_top(q, 10)
        times.append(time.perf_counter() - t)
        found.append(sorted(top, key=lambda r: -top[r]))
    truth = [rows[exact_top(x, q)] for q in queries]
    res = {"segments": [(s.info.chunks, s.hnsw is not None) for s in index.segments],
           "recall@10": recall_at([np.array(f) for f in found], truth), "latency": summary_ms(times)}
    # An exactly searched segment with deleted articles: dense_top gathers the live rows' vectors first
    # (seg.chunk_vectors[rows] @ q, a copy of every live row); the alternative scores every row and masks.
    for seg, off in zip(index.segments, index.chunk_offsets):
        mask = index.live_chunks[off:off + seg.info.chunks]
        if seg.hnsw is not None or mask.all() or seg.info.chunks < 1000:
            continue
        live = np.flatnonzero(mask)
        gather, masked = [], []
        for q in queries:
            t = time.perf_counter()
            sc = seg.chunk_vectors.all()[live] @ q
            np.argpartition(-sc, 9)[:10]
            gather.append(time.perf_counter() - t)
            t = time.perf_counter()
            sc = np.where(mask, seg.chunk_vectors.all() @ q, -np.inf)
            np.argpartition(-sc, 9)[:10]
            masked.append(time.perf_counter() - t)
        res.setdefault("deleted_rows_exact", []).append({"chunks": seg.info.chunks, "live": len(live),
                                                         "gather_then_score": summary_ms(gather),
                                                         "score_all_then_mask": summary_ms(masked)})
    return res


def part_hnsw(paths: Paths, sizes: list[str], quick: bool) -> dict:
    queries = query_vectors(40 if quick else 200)
    res = {"start": stamp(), "queries": len(queries), "points": [], "engine": {}}
    plan = {"S1": [], "S2": [], "N1k": [5_000], "N10k": [20_000, 50_000, None], "N100k": [100_000]}  # N100k whole: its own segments' graphs, below
    for size in sizes:
        if size not in plan or not (paths.index(size) / "CURRENT").exists():
            continue
        index, x, rows = live_vectors(paths.index(size))
        res["engine"][size] = engine_dense(index, x, rows, queries)
        for n in plan[size]:
            if n is None or n <= len(x):
                res["points"].append({"source": size, "stand_in": size in STAND_IN,
                                      **hnsw_point(x[:n] if n else x, queries, size)})
        del index, x
    res["end"] = stamp()
    return res


# ---------------------------------------------------------------- quality: before/after, across the switch


def worker_quality(root: str, corpora: str, index_dir: str, n: int, out: str, exact_too: bool) -> None:
    scale_real_common.QA_ROOT = Path(root)  # use_qa() imports `qa` from there
    use_qa()
    import qa

    if not Path(qa.__file__).resolve().is_relative_to(Path(root).resolve()):
        raise SystemExit(f"qa imported from {qa.__file__}, not {root}")
    from qa.config import Settings
    from qa.corpus import load_articles
    from qa.evaluate import evaluate
    from qa.index import BuildOptions, build_index
    from qa.pipeline import Engine

    folders = [Path(c) for c in corpora.split(",")]
    articles = [a for f in folders for a in load_articles(f)]
    settings = Settings(corpus_dir=folders[0], index_dir=Path(index_dir))
    shutil.rmtree(index_dir, ignore_errors=True)
    emb = CachedEmbedder()
    t = time.perf_counter()
    build_index(articles, settings, BuildOptions(embedder_factory=lambda _dir: emb))
    build_s = time.perf_counter() - t
    engine = Engine.load(Path(index_dir), settings)
    questions = squad_questions(n, 0)

    def run() -> dict:  # reads ``engine`` when called (the exact variant replaces it)
        t = time.perf_counter()
        r = evaluate(engine, questions, methods=("hybrid",), progress=False)
        m = r["methods"]["hybrid"]
        other = sum(1 for f in r["failures"] if f["reason"] == "no citation on a gold article")
        return {"recall@1": m["recall@1"], "answer@1": m["answer@1"], "recall@5": m.get("recall@5"),
                "answer_phrase_any_article": m["answer@1"] + other / max(m["answerable"], 1),
                "false_abstention_rate": m.get("false_abstention_rate"), "seconds": time.perf_counter() - t,
                "failed": sorted(f["id"] for f in r["failures"])}

    res = {"qa_file": qa.__file__, "articles": len(articles), "questions": len(questions), "build_s": build_s,
           "embedder": emb.stats, "start": stamp()}
    index = getattr(engine, "index", None)
    if index is not None and hasattr(index, "segments"):
        res["segments"] = [(s.info.chunks, s.hnsw is not None) for s in index.segments]
    res["as_built"] = run()
    if exact_too and index is not None and hasattr(index, "segments"):
        from qa.index import load_index

        engine = Engine(load_index(Path(index_dir), approximate=False), settings)  # dense search exact everywhere
        res["exact"] = run()
    res["end"] = stamp()
    shutil.rmtree(index_dir, ignore_errors=True)
    Path(out).write_text(json.dumps(res))


def run_quality_worker(paths: Paths, label: str, root: Path, corpora: list[Path], n: int, exact_too: bool) -> dict:
    out = paths.logs / f"quality-{label}.json"
    with open(paths.logs / f"quality-{label}.log", "w") as err:
        run_measured([sys.executable, str(SCRIPT), "_quality", str(root),
                      ",".join(map(str, corpora)), str(paths.indexes / f"quality-{label}"), str(n), str(out),
                      "1" if exact_too else "0"], cwd=root, stderr=err, timeout=4 * 3600)
    return json.loads(out.read_text())


def part_quality(paths: Paths, n: int, mixed_with: str | None) -> dict:
    res = {"start": stamp(), "n": n, "seed": 0}
    s1 = paths.corpus("S1")
    log("quality: current code on S1")
    res["current"] = run_quality_worker(paths, "S1-current", REPO, [s1], n, False)
    before = Path("/tmp/qa-before")
    if before.exists():
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(before)], check=False)
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(before), BEFORE_COMMIT], check=True,
                   capture_output=True)
    try:
        log(f"quality: code before the index change ({BEFORE_COMMIT}) on S1")
        res["before"] = run_quality_worker(paths, "S1-before", before, [s1], n, False)
    finally:
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(before)], check=False)
    res["before_commit"] = BEFORE_COMMIT
    if mixed_with and paths.corpus(mixed_with).is_dir() and not paths.quick:
        log(f"quality: current code on S1 + {mixed_with}, one build")
        res["mixed_with"] = mixed_with
        res["mixed"] = run_quality_worker(paths, f"S1-{mixed_with}", REPO, [s1, paths.corpus(mixed_with)], n, True)
    res["end"] = stamp()
    return res
