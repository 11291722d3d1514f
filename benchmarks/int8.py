"""Does an int8 ONNX encoder keep quality? fp32 vs int8 for questions only vs int8 everywhere.

Rule (issue "torch-free query path"): ship int8 only if every metric stays within 0.5 points of fp32.
Data: XQuAD-en (1,190 questions, 48 articles; --sample N samples N of them), corpus/questions.jsonl and,
with --squad N, N questions sampled from SQuAD v1.1 dev (all 48 articles indexed; qa.squad.load_squad,
seed 0). Writes benchmarks/int8.md.

    python benchmarks/int8.py [--sample N] [--squad 2000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchutil import external, metric_cells, run_data_sets, run_header, within, write_results  # noqa: E402
from qa.config import Settings  # noqa: E402
from qa.evaluate import evaluate
from qa.testset import load_questions
from qa.index import BuildOptions, build_index, encoder_cache_dir, load_index
from qa.onnx_embedder import OnnxEmbedder
from qa.onnx_export import export_onnx
from qa.pipeline import Engine
from qa.squad import load_squad

HERE = Path(__file__).parent
KEYS = ("recall@1", "recall@5", "mrr@10", "answer@1", "abstain_recall", "false_abstention_rate")


def int8_dir(settings: Settings) -> Path:
    target = encoder_cache_dir(settings, "int8")
    if not (target / "encoder.json").is_file():
        export_onnx(settings.model_path, target, variant="int8")
    return target


def run(articles, questions, settings: Settings, int8: Path) -> dict[str, dict]:
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        s = replace(settings, index_dir=Path(tmp) / "fp32")
        build_index(articles, s)
        engine = Engine(load_index(s.index_dir), s)
        out["fp32"] = evaluate(engine, questions, methods=("hybrid",), progress=False)["methods"]["hybrid"]
        engine = Engine(engine.index, s, embedder=OnnxEmbedder(int8, threads=1))
        out["int8 questions, fp32 articles"] = evaluate(engine, questions, methods=("hybrid",),
                                                         progress=False)["methods"]["hybrid"]
        s8 = replace(settings, index_dir=Path(tmp) / "int8")
        build_index(articles, s8, BuildOptions(embedder_factory=lambda _: OnnxEmbedder(int8, threads=2)))
        engine8 = Engine(load_index(s8.index_dir), s8, embedder=OnnxEmbedder(int8, threads=1))
        out["int8 everywhere"] = evaluate(engine8, questions, methods=("hybrid",), progress=False)["methods"]["hybrid"]
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sample", type=int, default=None, help="XQuAD-en questions, sampled (default: all)")
    ap.add_argument("--squad", type=int, default=0, help="also N SQuAD v1.1 dev questions, sampled (0: none)")
    args = ap.parse_args()
    settings = Settings(query_encoder="fp32")  # the baseline embeds questions with fp32 too
    int8 = int8_dir(settings)
    from qa.corpus import load_articles

    sets = {"XQuAD-en": lambda: load_squad(external("xquad-en"), sample=args.sample),
            "corpus questions": lambda: (load_articles(Path("corpus")),
                                         load_questions(Path("corpus/questions.jsonl")))}
    if args.squad:
        sets["SQuAD v1.1 dev"] = lambda: load_squad(external("squad-v1.1"), sample=args.squad)
    results, sizes, start, wall = run_data_sets(sets, lambda articles, questions: run(articles, questions,
                                                                                     settings, int8))
    lines = run_header("int8 vs fp32 ONNX encoder", "int8.py", sizes, start, wall) + [
        "| data | encoder | " + " | ".join(KEYS) + " | within 0.5 points |",
        "|---" * (len(KEYS) + 3) + "|"]
    passes = {name: True for rows in results.values() for name in rows if name != "fp32"}
    for data, rows in results.items():
        base = rows["fp32"]
        for name, m in rows.items():
            ok = within(m, base, KEYS)
            if name != "fp32":
                passes[name] = passes[name] and ok
            lines.append(f"| {data} | {name} | " + metric_cells(m, KEYS)
                         + f" | {'—' if name == 'fp32' else ('yes' if ok else 'no')} |")
    shipped = [name for name, ok in passes.items() if ok]
    decision = (f"{shipped[0]} passes on every data set: it could ship (QA_QUERY_ENCODER=int8)" if shipped
                else "fp32 ships by default: every int8 variant moves a metric by more than 0.5 points "
                     "(QA_QUERY_ENCODER=int8 embeds questions with int8 for those who prefer speed and memory)")
    doc_keys = ("recall@1", "recall@5", "mrr@10", "answer@1")  # issue 25 item 1 (b): the int8 document encoder
    doc_ok = all(within(rows["int8 everywhere"], rows["fp32"], doc_keys) for rows in results.values())
    lines += ["", "Rule: a variant passes when each metric stays within 0.5 points of fp32, either way, on every "
              "data set above.", "", f"Decision: {decision}.", "",
              "int8 document encoder (issue 25 item 1; int8 everywhere against fp32 on R@1, R@5, MRR@10 and "
              "answer@1 on every data set above): " + ("within 0.5 points on each: it could be adopted." if doc_ok
                                                       else "not adopted: a metric moves by more than 0.5 points; "
                                                            "articles stay embedded with fp32.")]
    write_results(HERE / "int8.md", "\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
