"""Embed each text once? (issue 25 item 1): chunk vectors as today (the encoder run on "title\\nchunk text")
against chunk vectors derived from the vectors the build already has: the normalised mean of the title's
vector and the chunk's sentences' vectors (the title counted once, as today's chunk text has it once).
Sentence vectors are the same in both. R@1, R@5, MRR@10 and answer@1 (hybrid) on corpus/questions.jsonl,
with --xquad N on N XQuAD-en questions and with --squad N on N SQuAD v1.1 dev questions (each sampled by
qa.squad.load_squad, seed 0; every article of the file is indexed; qa/data.py, `make data` first).

    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 python benchmarks/embed_once.py [--xquad 1190] [--squad 2000]

Rule: adopt when each metric stays within 0.5 points of today's on every data set measured.
Writes benchmarks/embed_once.md.
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
from benchutil import external, metric_cells, run_data_sets, run_header, within, write_results  # noqa: E402
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
    ap.add_argument("--xquad", type=int, default=0, help="also N XQuAD-en questions, sampled (0: none)")
    ap.add_argument("--squad", type=int, default=0, help="also N SQuAD v1.1 dev questions, sampled (0: none)")
    args = ap.parse_args()
    settings = Settings(query_encoder="fp32")
    from qa.corpus import load_articles
    from qa.squad import load_squad

    sets = {"corpus questions": lambda: (load_articles(Path("corpus")),
                                         load_questions(Path("corpus/questions.jsonl")))}
    if args.xquad:
        sets["XQuAD-en"] = lambda: load_squad(external("xquad-en"), sample=args.xquad)
    if args.squad:
        sets["SQuAD v1.1 dev"] = lambda: load_squad(external("squad-v1.1"), sample=args.squad)
    results, sizes, start, wall = run_data_sets(sets, lambda articles, questions: run(articles, questions,
                                                                                     settings))
    lines = run_header("Embed each text once: derived chunk vectors", "embed_once.py", sizes, start, wall) + [
        "| data | chunk vectors | " + " | ".join(KEYS) + " | build s | within 0.5 points |",
        "|---" * (len(KEYS) + 4) + "|"]
    adopt = True
    for data, rows in results.items():
        base = rows["today (chunks embedded)"]
        for name, m in rows.items():
            ok = within(m, base, KEYS)
            adopt = adopt and ok
            lines.append(f"| {data} | {name} | " + metric_cells(m, KEYS)
                         + f" | {m['build_s']:.1f} | {'—' if m is base else ('yes' if ok else 'no')} |")
    lines += ["", "Rule: adopt the derived chunk vectors only if each metric stays within 0.5 points of today's, "
              "either way, on every data set above.", "",
              "Decision: " + ("adopt: the derived vectors stay within 0.5 points everywhere." if adopt else
                              "not adopted: the derived vectors move a metric by more than 0.5 points "
                              "(rows marked no); chunks stay embedded by the encoder.")]
    write_results(HERE / "embed_once.md", "\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
