"""Choose the fusion and sentence-scoring weights on a SQuAD v1.1 tuning split; rerun to check.

The tuning split is the questions of every fourth SQuAD v1.1 dev article (12 of 48, by file
order), sampled to --sample questions; the index holds all 48 articles. Reported figures come
from `qa eval --external` on the full file and on the other 36 articles (README says which).

    python benchmarks/tune.py [--sample 1500]

Prints a table of the grid and the best setting for R@1, R@5 and answer@1.
"""

from __future__ import annotations

import argparse
import itertools
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from benchutil import external  # noqa: E402
from squad_index import squad_engine  # noqa: E402

from qa.metrics import contains_any  # noqa: E402
from qa.question import analyze  # noqa: E402
from qa.spans import find_spans  # noqa: E402
from qa.text import terms  # noqa: E402
from qa.types import Passage  # noqa: E402



def tuning_questions(questions, articles_in_order: list[str], sample: int, seed: int = 1):
    tune_ids = set(articles_in_order[::4])
    pool = [q for q in questions if q.articles and q.articles[0] in tune_ids]
    rng = random.Random(seed)
    return sorted(rng.sample(pool, min(sample, len(pool))), key=lambda q: q.id), tune_ids


def features(engine, q, n_chunks=20):
    """Everything the weights act on, computed once per question."""
    index, facts = engine.index, engine.reader.facts
    vec = engine.embed_query(q.question)
    bm = index.lexical.scores(terms(q.question))
    lex = bm / bm.max() if bm.max() > 0 else bm
    dense = index.chunk_vectors_at(np.arange(index.n_chunks)) @ vec
    pool = np.unique(np.concatenate([np.argsort(-dense)[:n_chunks], np.argsort(-lex)[:n_chunks]]))
    chunks = {int(i): index.chunk(int(i)) for i in pool}
    chunk_hit = np.array([contains_any(chunks[int(i)].text, q.expected) for i in pool])
    info = analyze(q.question)
    q_terms = set(terms(q.question))
    weight = facts.term_weights(q_terms)
    total = sum(weight.values()) or 1.0
    sents = {}
    for ci in pool:
        c = chunks[int(ci)]
        passage = Passage(chunk=c, rank=0, score=0.0, dense=0.0, lexical=0.0)
        for s, row in facts.sentences_of(passage):
            own = set(terms(s.text))
            prev = set(terms(index.sentence(row - 1).text)) if s.ordinal > 0 else set()
            sents.setdefault(int(ci), []).append((
                float(index.sentence_vectors_at([row])[0] @ vec),
                sum(weight[t] for t in own & q_terms) / total,
                bool(info.kind) and bool(find_spans(s.text, info.kind)),
                contains_any(s.text, q.expected),
                sum(weight[t] for t in (own | prev) & q_terms) / total,
            ))
    return {"dense": dense[pool], "lex": lex[pool], "hit": chunk_hit, "pool": pool, "sents": sents,
            "typed": bool(info.kind)}


def evaluate(feats, wl, ws, margin=-1.0, w_window=0.0, kind_margin=-1.0):
    """R@1, R@5, answer@1 and sentences per answer; a second sentence is quoted when its score is
    within ``margin`` of the best (negative: never)."""
    w_dense, w_lex, w_pass, w_kind = ws
    r1 = r5 = a1 = quoted = 0
    for f in feats:
        fused = f["dense"] + wl * f["lex"]
        order = np.argsort(-fused)
        r1 += bool(f["hit"][order[0]])
        r5 += bool(f["hit"][order[:5]].any())
        top = fused[order[0]]
        scored = []
        for o in order[:5]:
            rel = fused[o] / top if top > 0 else 0
            for d, lx, kind, hit, lxw in f["sents"].get(int(f["pool"][o]), []):
                scored.append((w_dense * d + w_lex * lx + w_pass * rel + w_kind * kind + w_window * lxw, hit, kind))
        scored.sort(key=lambda x: -x[0])
        if f["typed"] and scored and not scored[0][2]:
            typed = [x for x in scored if x[2] and x[0] >= scored[0][0] - kind_margin]
            if typed:
                scored.remove(typed[0])
                scored.insert(0, typed[0])
        if not scored:
            continue
        chosen = [scored[0]] + [x for x in scored[1:2] if x[0] >= scored[0][0] - margin]
        quoted += len(chosen)
        a1 += any(x[1] for x in chosen)
    n = len(feats)
    return r1 / n, r5 / n, a1 / n, quoted / n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sample", type=int, default=1500)
    ap.add_argument("--file", type=Path, default=None, help="a SQuAD-format file (default: SQuAD v1.1 dev, from qa.data)")
    args = ap.parse_args()
    engine, questions = squad_engine(args.file or external("squad-v1.1"))
    order = list(engine.articles)
    qs, _ = tuning_questions(questions, order, args.sample)
    t = time.time()
    feats = [features(engine, q) for q in qs]
    print(f"{len(qs)} tuning questions from {len(order) // 4} articles; features in {time.time() - t:.0f} s")
    rows = []
    for wl in (0.0, 0.2, 0.35, 0.5, 0.7, 1.0, 1.5):
        rows.append((wl,) + evaluate(feats, wl, (1.0, 0.0, 0.0, 0.0)))
    print("\nfusion weight of BM25 (dense weight 1), answer = best-cosine sentence of top 5:")
    print("| lexical weight | R@1 | R@5 | answer@1 |\n|---|---|---|---|")
    for wl, r1, r5, a1, _ in rows:
        print(f"| {wl} | {r1:.3f} | {r5:.3f} | {a1:.3f} |")
    best_wl = max(rows, key=lambda r: (r[1] + r[2]))[0]
    grid = []
    for ws in itertools.product((1.0,), (0.5, 1.0, 1.5, 2.0, 3.0), (0.0, 0.25, 0.5, 1.0), (0.0, 0.1, 0.2)):
        grid.append((ws,) + evaluate(feats, best_wl, ws))
    grid.sort(key=lambda g: -g[3])
    print(f"\nsentence weights at lexical weight {best_wl} (top 10 by answer@1):")
    print("| dense | lexical | passage | kind | answer@1 |\n|---|---|---|---|---|")
    for ws, r1, r5, a1, _ in grid[:10]:
        print(f"| {ws[0]} | {ws[1]} | {ws[2]} | {ws[3]} | {a1:.3f} |")
    best_ws = grid[0][0]
    print("\nlexical coverage of the sentence with the one before it (a window), added with weight w:")
    print("| w | lexical | kind | answer@1 |\n|---|---|---|---|")
    wins = []
    for ww, wlx, wk in itertools.product((0.0, 0.25, 0.5, 1.0), (0.5, 1.0), (0.1, 0.2, 0.3)):
        ws = (best_ws[0], wlx, best_ws[2], wk)
        wins.append((ww, wlx, wk, evaluate(feats, best_wl, ws, -1.0, ww)[2]))
    for row in sorted(wins, key=lambda x: -x[3])[:8]:
        print(f"| {row[0]} | {row[1]} | {row[2]} | {row[3]:.3f} |")
    ww = max(wins, key=lambda x: x[3])
    best_ws = (best_ws[0], ww[1], best_ws[2], ww[2])
    print(f"\nfor typed questions (when, how many, who…), a sentence with such a span within a margin replaces the best:")
    print("| kind margin | answer@1 |\n|---|---|")
    for km in (-1.0, 0.1, 0.25, 0.4, 0.6):
        print(f"| {km if km >= 0 else 'off'} | {evaluate(feats, best_wl, best_ws, -1.0, ww[0], km)[2]:.3f} |")
    print(f"\nquoting a second sentence when it scores within a margin of the best ({best_ws}):")
    print("| margin | answer@1 | sentences per answer |\n|---|---|---|")
    for margin in (-1.0, 0.02, 0.05, 0.1, 0.2):
        _, _, a1, per = evaluate(feats, best_wl, best_ws, margin, ww[0], 0.25)
        print(f"| {margin if margin >= 0 else 'never'} | {a1:.3f} | {per:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
