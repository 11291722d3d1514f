"""The reported SQuAD figures: all 10,570 v1.1 dev questions, and the 36 articles never tuned on.

Same measure as `qa eval --external` (same chunking, model and metrics), but over the cached index
of benchmarks/squad_index.py so the 48 articles are embedded once. Writes benchmarks/squad.md and
benchmarks/squad.json.

    python benchmarks/squad_report.py [--sample N]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from benchutil import external, write_results  # noqa: E402
from squad_index import squad_engine  # noqa: E402

from qa.evaluate import evaluate  # noqa: E402
from qa.squad import load_squad  # noqa: E402

HERE = Path(__file__).parent
KEYS = ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10", "answer@1", "abstain_recall",
        "false_abstention_rate", "latency_p50_ms")


def table(name: str, result: dict) -> str:
    lines = [f"### {name} ({result['questions']} questions)", "",
             "| method | " + " | ".join(KEYS) + " |", "|---" * (len(KEYS) + 1) + "|"]
    for method, m in result["methods"].items():
        cells = [f"{m.get(k):.3f}" if isinstance(m.get(k), (int, float)) else "–" for k in KEYS]
        lines.append(f"| {method}{' (shipped)' if method == result['system'] else ''} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sample", type=int, default=None, help="ask N sampled questions (default: all)")
    args = ap.parse_args()
    engine, questions = squad_engine(external("squad-v1.1"))
    tuned = set(list(engine.articles)[::4])  # benchmarks/tune.py tunes on these articles' questions
    if args.sample:
        questions = sorted(random.Random(0).sample(questions, args.sample), key=lambda q: q.id)
    held_out = [q for q in questions if q.articles[0] not in tuned]
    out, md = {}, ["# SQuAD figures", "", "Index: all 48 SQuAD v1.1 dev articles, 200-token chunks, "
                   "all-MiniLM-L6-v2 (ONNX fp32). A retrieval hit is a passage containing a gold answer; "
                   "answer@1 is the quoted answer containing one (SQuAD normalisation).", ""]
    for name, qs in (("SQuAD v1.1 dev, all questions", questions),
                     ("SQuAD v1.1 dev, the 36 articles never tuned on", held_out)):
        result = evaluate(engine, qs, progress=sys.stderr.isatty())
        out[name] = {k: v for k, v in result.items() if k != "failures"}
        md.append(table(name, result))
    _, v2 = load_squad(external("squad-v2.0"))
    from calibrate import _article_of_question

    article_of = _article_of_question("squad-v2.0")
    v2 = [q for q in v2 if article_of.get(q.id) not in tuned]
    v2 = sorted(random.Random(0).sample(v2, min(len(v2), args.sample or 2000)), key=lambda q: q.id)
    result = evaluate(engine, v2, progress=sys.stderr.isatty())
    name = "SQuAD v2.0 dev (abstention), articles never tuned on, asked of the v1.1 index"
    out[name] = {k: v for k, v in result.items() if k != "failures"}
    md.append(table(name, result))
    (HERE / "squad.json").write_text(json.dumps(out, indent=2), "utf-8")
    write_results(HERE / "squad.md", "\n".join(md))
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
