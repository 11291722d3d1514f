"""Compare sentence-choice and abstention settings on tuning questions only; rerun to check.

Tuning data (never the reported sets): benchmarks/data/calibration_questions.jsonl (questions on
corpus/ written for tuning, separate from corpus/questions.jsonl), and the SQuAD v1.1 / v2.0 dev
questions of the tuning articles (every fourth SQuAD v1.1 article, as in tune.py and calibrate.py).

    python benchmarks/tune_answer.py [--squad-sample 600] [--only NAME ...] > benchmarks/tune_answer.md

Prints, for each setting, retrieval recall, answer@1 and abstention on each tuning set.
"""

from __future__ import annotations

import argparse
import random
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from benchutil import external  # noqa: E402
from qa.answer import REQUIRED_KINDS, AnswerParams  # noqa: E402
from qa.config import Settings  # noqa: E402
from qa.evaluate import evaluate  # noqa: E402
from qa.testset import load_questions  # noqa: E402
from qa.pipeline import Engine  # noqa: E402
from qa.retrieve import Weights  # noqa: E402

HERE = Path(__file__).parent
BASE = AnswerParams()


Setting = tuple[AnswerParams, Weights]


def settings_grid() -> dict[str, Setting]:
    """Each setting differs from the shipped one in one respect."""
    w = Weights()
    grid: dict[str, Setting] = {"shipped": (BASE, w)}
    for t in (0.55, 0.60):
        grid[f"threshold {t}"] = (replace(BASE, threshold=t), w)
    for dw in (1.0, 0.5):
        grid[f"question's date words weigh {dw} in the choice"] = (replace(BASE, date_term_weight=dw), w)
    for cw in (1.0, 0.5):
        grid[f"occasion clause words weigh {cw} in the choice"] = (replace(BASE, context_term_weight=cw), w)
    grid["no year scope (any article may answer a question naming a year)"] = (BASE.without("year_scope"), w)
    grid["+ novelty 0.3"] = (replace(BASE, w_novel=0.3), w)
    grid["+ novelty 0.15"] = (replace(BASE, w_novel=0.15), w)
    for wy in (0.1, 0.2):
        grid[f"year match {wy}"] = (replace(BASE, w_year=wy), w)
    grid["typed neighbour for persons only"] = (replace(BASE, neighbour_kinds=frozenset({"person"})), w)
    grid["typed neighbour for persons and dates"] = (replace(BASE, neighbour_kinds=frozenset({"person", "date"})), w)
    grid["no typed neighbour"] = (BASE.without("typed_neighbour"), w)
    grid["typed within 0.25"] = (replace(BASE, kind_margin=0.25, kind_search_margin=0.25), w)
    grid["no abstention for an untyped answer"] = (replace(BASE.without("untyped_answer", "typed_neighbour"),
                                                           kind_margin=0.0, kind_search_margin=0.25), w)
    grid["percentages not required"] = (replace(BASE, required_kinds=REQUIRED_KINDS - {"percent"}), w)
    grid["any date answers 'on what date', any number 'how many'"] = (BASE.without("precise_kinds"), w)
    for lm in (0.15, 0.2, 0.3):
        grid[f"'now': the newest article within {lm} of the best"] = (replace(BASE, latest_margin=lm), w)
    grid["'what did Jane Smith say' answered by anyone's words"] = (BASE.without("speaker_required"), w)
    grid["'what did Jane Smith say about X': her name counts as evidence for X"] = (
        BASE.without("speaker_name_not_evidence"), w)
    grid["'who was the director…' answered by a person named without that role"] = (
        BASE.without("role_required"), w)
    grid["'since 2016' names 2016 (sentence match and year scope)"] = (BASE.without("since_is_reference"), w)
    grid["'the 2025-26 settlement' answered by a sentence naming only 2024-2025"] = (
        BASE.without("period_scope"), w)
    grid["'when will…' answered by any sentence"] = (BASE.without("future_needs_future"), w)
    grid["a person by role not required"] = (BASE.without("person_by_role"), w)
    grid["persons required"] = (replace(BASE, required_kinds=REQUIRED_KINDS | {"person"}), w)
    grid["retrieval: chunk cosine only (dense 1, sentence 0)"] = (BASE, replace(w, dense=1.0, sentence=0.0))
    for wd, ws in ((0.75, 0.5), (0.5, 0.75), (0.25, 1.0), (0.0, 1.0), (0.5, 1.5), (1.0, 1.0)):
        grid[f"retrieval: dense {wd}, sentence {ws}"] = (BASE, replace(w, dense=wd, sentence=ws))
    return grid


def scores(engine: Engine, questions, setting: Setting) -> dict[str, float]:
    params, weights = setting
    engine = engine.variant(params=params, weights=weights)  # shares the index and its query encoder
    m = evaluate(engine, questions, methods=("hybrid",), progress=False)["methods"]["hybrid"]
    return {k: m.get(k) or 0.0 for k in ("recall@1", "recall@5", "answer@1", "abstain_recall",
                                         "false_abstention_rate")}


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

    squad, v1 = squad_engine(external("squad-v1.1"))
    tune_articles = set(list(squad.articles)[::4])
    rng = random.Random(1)
    v1_pool = [q for q in v1 if q.articles and q.articles[0] in tune_articles]
    v1_sample = sorted(rng.sample(v1_pool, min(args.squad_sample, len(v1_pool))), key=lambda q: q.id)
    _, v2 = load_squad(external("squad-v2.0"))
    article_of = _article_of_question("squad-v2.0")
    v2_pool = [q for q in v2 if article_of.get(q.id) in tune_articles and not q.answerable]
    v2_sample = rng.sample(v2_pool, min(args.squad_sample // 2, len(v2_pool)))

    print("# Answer and retrieval settings on tuning questions only (`python benchmarks/tune_answer.py`)\n")
    print(f"news tuning {len(news)} ({sum(not q.answerable for q in news)} unanswerable); SQuAD v1.1 tuning "
          f"{len(v1_sample)}; SQuAD v2.0 unanswerable tuning {len(v2_sample)}\n")
    print("| setting | news R@1 | news R@5 | news answer@1 | news abstain recall | news false abst. "
          "| SQuAD R@1 | SQuAD R@5 | SQuAD answer@1 | SQuAD false abst. | SQuAD v2 abstain recall |")
    print("|---|" + "---:|" * 10)
    for name, setting in grid.items():
        n = scores(news_engine, news, setting)
        s1 = scores(squad, v1_sample, setting)
        s2 = scores(squad, v2_sample, setting)
        cells = [n["recall@1"], n["recall@5"], n["answer@1"], n["abstain_recall"], n["false_abstention_rate"],
                 s1["recall@1"], s1["recall@5"], s1["answer@1"], s1["false_abstention_rate"], s2["abstain_recall"]]
        print(f"| {name} | " + " | ".join(f"{c:.3f}" for c in cells) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
