"""What each of the newest answer rules does on SQuAD v1.1, switched off alone, on the questions it
applies to: correct answers and abstentions with the rule and without it.

    python benchmarks/squad_rule_costs.py           # the tuning split (every fourth article): for choosing
    python benchmarks/squad_rule_costs.py --all     # all 48 articles: for reporting, never for choosing
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from benchutil import external  # noqa: E402
from squad_index import squad_engine  # noqa: E402

from qa.evaluate import evaluate  # noqa: E402
from qa.question import analyze  # noqa: E402

RULES = {  # name: (which questions it applies to, the rule's name in qa.answer.RULES)
    "a role asked for must be the role named": (lambda i, q: bool(i.role), "role_required"),
    "a named speaker's name is no evidence": (lambda i, q: bool(i.speaker), "speaker_name_not_evidence"),
    "'since 2016' names no year": (lambda i, q: bool(i.years) or "since" in q.lower(), "since_is_reference"),
    "periods ('2025-26')": (lambda i, q: bool(i.periods), "period_scope"),
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--all", action="store_true", help="all 48 articles instead of the tuning split")
    args = ap.parse_args()
    engine, questions = squad_engine(external("squad-v1.1"))
    if not args.all:
        tune = set(list(engine.articles)[::4])
        questions = [q for q in questions if q.articles and q.articles[0] in tune]
    base = engine.answer_params
    print(f"{len(questions)} questions ({'all articles' if args.all else 'tuning split'})\n")
    print("| rule | questions it applies to | correct with it | without | abstained with it | without |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, (applies, rule) in RULES.items():
        subset = [q for q in questions if applies(analyze(q.question), q.question)]
        row = []
        for params in (base, base.without(rule)):
            variant = engine.variant(params=params)
            m = evaluate(variant, subset, methods=("hybrid",), progress=False)["methods"]["hybrid"] if subset else {}
            row.append((round(m.get("answer@1", 0) * len(subset)), round(m.get("false_abstention_rate", 0) * len(subset))))
        print(f"| {name} | {len(subset)} | {row[0][0]} | {row[1][0]} | {row[0][1]} | {row[1][1]} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
