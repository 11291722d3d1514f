"""Embed each text once? (issue 25 item 1): chunk vectors as today (the encoder run on "title\\nchunk text")
against chunk vectors derived from the vectors the build already has: the normalised mean of the title's
vector and the chunk's sentences' vectors (the title counted once, as today's chunk text has it once).
Sentence vectors are the same in both. R@1, R@5, MRR@10 and answer@1 (hybrid) on corpus/questions.jsonl
and, with --xquad N, the first N XQuAD-en questions (qa/data.py; `make data` first).

    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 python benchmarks/embed_once.py [--xquad 200]

Rule: adopt when each metric stays within 0.5 points of today's. Writes benchmarks/embed_once.md.
The derived build is this script's own embed step (qa.index.build.embed_articles replaced while it runs);
nothing in qa/ changes.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.append(str(Path(__file__).resolve().parents[1]))
from benchutil import external, write_results  # noqa: E402
import qa.index.build as build  # noqa: E402
from qa.config import Settings  # noqa: E402
from qa.evaluate import evaluate  # noqa: E402
from qa.index import build_index, load_index  # noqa: E402
from qa.pipeline import Engine  # noqa: E402
from qa.testset import load_questions  # noqa: E402

HERE = Path(__file__).parent
KEYS = ("recall@1", "recall@5", "mrr@10", "answer@1")
TODAY = build.embed_articles


def derived_embed_articles(todo, settings, embedder, progress=False):
    """embed_articles with one encoder call per batch over titles and sentences only; each chunk's
    vector is the normalised mean of its title's and its sentences' vectors."""
    from qa.chunking import get_encoding

    encoding = get_encoding(settings.encoding)
    for batch in build._batches(todo, settings, encoding):
        texts = [a.title for a, _, _ in batch] + [s.text for _, ss, _ in batch for s in ss]
        vectors = embedder.embed(texts, batch_size=settings.batch_size)
        titles, sv = vectors[:len(batch)], vectors[len(batch):]
        si = 0
        for n, (a, ss, cs) in enumerate(batch):
            mine = sv[si:si + len(ss)]
            row = {s.ordinal: k for k, s in enumerate(ss)}
            cv = np.stack([titles[n] + mine[[row[o] for o in c.sentences]].sum(axis=0) for c in cs]) if cs else \
                np.zeros((0, sv.shape[1]), dtype=np.float32)
            cv = (cv / np.linalg.norm(cv, axis=1, keepdims=True)).astype(np.float32)
            yield build.Embedded(a, ss, cs, cv, mine)
            si += len(ss)


def run(articles, questions, settings: Settings) -> dict[str, dict]:
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, embed in (("today (chunks embedded)", TODAY), ("derived (mean of title + sentences)",
                                                                 derived_embed_articles)):
            build.embed_articles = embed
            s = replace(settings, index_dir=Path(tmp) / name.split()[0])
            t = time.perf_counter()
            build_index(articles, s)
            seconds = time.perf_counter() - t
            build.embed_articles = TODAY
            engine = Engine(load_index(s.index_dir), s)
            out[name] = evaluate(engine, questions, methods=("hybrid",), progress=False)["methods"]["hybrid"]
            out[name]["build_s"] = seconds
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--xquad", type=int, default=0, help="also the first N XQuAD-en questions (0: none)")
    args = ap.parse_args()
    settings = Settings(query_encoder="fp32")
    from qa.corpus import load_articles

    results = {"corpus questions": run(load_articles(Path("corpus")), load_questions(Path("corpus/questions.jsonl")),
                                       settings)}
    if args.xquad:
        from qa.squad import load_squad

        results["XQuAD-en"] = run(*load_squad(external("xquad-en"), sample=args.xquad), settings)
    import os

    lines = ["# Embed each text once: derived chunk vectors", "",
             f"Load average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}.", "",
             "| data | chunk vectors | " + " | ".join(KEYS) + " | build s | within 0.5 points |",
             "|---" * (len(KEYS) + 4) + "|"]
    for data, rows in results.items():
        base = rows["today (chunks embedded)"]
        for name, m in rows.items():
            ok = all(abs((m[k] or 0) - (base[k] or 0)) <= 0.005 for k in KEYS)
            lines.append(f"| {data} | {name} | " + " | ".join("–" if m[k] is None else f"{m[k]:.3f}" for k in KEYS)
                         + f" | {m['build_s']:.1f} | {'—' if m is base else ('yes' if ok else 'no')} |")
    write_results(HERE / "embed_once.md", "\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
