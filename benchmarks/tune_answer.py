"""Compare sentence-choice and abstention settings on tuning questions only; rerun to check.

Tuning data (never the reported sets): benchmarks/data/calibration_questions.jsonl (questions on
corpus/ written for tuning, separate from corpus/questions.jsonl), and the SQuAD v1.1 / v2.0 dev
questions of the tuning articles (every fourth SQuAD v1.1 article, as in tune.py and calibrate.py).

    python benchmarks/tune_answer.py [--squad-sample 600] [--only NAME ...]

Prints, for each named setting, answer@1 and abstention on each tuning set.
"""

from __future__ import annotations

import argparse
import random
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from qa.answer import REQUIRED_KINDS, AnswerParams  # noqa: E402
from qa.config import Settings  # noqa: E402
from qa.evaluate import evaluate, load_questions  # noqa: E402
from qa.pipeline import Engine  # noqa: E402

HERE = Path(__file__).parent
SHARED = HERE.resolve().parents[1] / "shared/eval/external/squad-dev-explorer"
BASE = AnswerParams()


def settings_grid() -> dict[str, AnswerParams]:
    with_person = REQUIRED_KINDS | {"person"}
    grid = {"shipped": BASE}
    for t in (0.50, 0.55, 0.60):
        grid[f"threshold {t}"] = replace(BASE, threshold=t)
    for w in (0.3, 0.5):
        grid[f"novel {w}"] = replace(BASE, w_novel=w)
    for m in (0.1, 0.25):
        strict = replace(BASE, kind_margin=m, kind_search_margin=m, abstain_untyped=True)
        grid[f"typed within {m}, else not found"] = strict
        grid[f"typed within {m}, else not found, person too"] = replace(strict, required_kinds=with_person)
        grid[f"typed within {m}, else not found + novel 0.3"] = replace(strict, w_novel=0.3)
        grid[f"typed within {m}, else neighbour, else not found"] = replace(strict, kind_from_neighbour=True)
    return grid


def scores(engine: Engine, questions, params: AnswerParams) -> dict[str, float]:
    engine.answer_params = params
    m = evaluate(engine, questions, methods=("hybrid",), progress=False)["methods"]["hybrid"]
    return {k: m.get(k) for k in ("answer@1", "abstain_recall", "false_abstention_rate")}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--squad-sample", type=int, default=600)
    ap.add_argument("--only", nargs="*")
    ap.add_argument("--news", default=str(HERE / "data/calibration_questions.jsonl"))
    args = ap.parse_args()
    grid = settings_grid()
    if args.only:
        grid = {k: v for k, v in grid.items() if k in args.only}

    news_engine = Engine.open(Settings())
    news = load_questions(args.news)

    from calibrate import _article_of_question
    from squad_index import squad_engine

    from qa.squad import load_squad

    squad, v1 = squad_engine(SHARED / "squad-v1.1-dev.json.gz")
    tune_articles = set(list(squad.articles)[::4])
    rng = random.Random(1)
    v1_pool = [q for q in v1 if q.articles and q.articles[0] in tune_articles]
    v1_sample = sorted(rng.sample(v1_pool, min(args.squad_sample, len(v1_pool))), key=lambda q: q.id)
    _, v2 = load_squad(SHARED / "squad-v2.0-dev.json.gz")
    article_of = _article_of_question(SHARED / "squad-v2.0-dev.json.gz")
    v2_pool = [q for q in v2 if article_of.get(q.id) in tune_articles and not q.answerable]
    v2_sample = rng.sample(v2_pool, min(args.squad_sample // 2, len(v2_pool)))

    print(f"news tuning {len(news)} ({sum(not q.answerable for q in news)} unanswerable); SQuAD v1.1 tuning "
          f"{len(v1_sample)}; SQuAD v2.0 unanswerable tuning {len(v2_sample)}\n")
    print("| setting | news answer@1 | news abstain recall | news false abst. | SQuAD answer@1 | SQuAD false abst. "
          "| SQuAD v2 abstain recall |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, params in grid.items():
        n = scores(news_engine, news, params)
        s1 = scores(squad, v1_sample, params)
        s2 = scores(squad, v2_sample, params)
        print(f"| {name} | {n['answer@1']:.3f} | {n['abstain_recall']:.3f} | {n['false_abstention_rate']:.3f} | "
              f"{s1['answer@1']:.3f} | {s1['false_abstention_rate']:.3f} | {s2['abstain_recall']:.3f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
