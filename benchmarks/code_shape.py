"""The shape of the answer stage, for issue 15's before/after record (no timing).

    python benchmarks/code_shape.py [QUESTION]

Prints: AnswerParams fields and how many are booleans; the longest functions of qa/ (lines); the
functions of the answer stage with the most parameters; and how often one question's walk from
`Engine.ask` to the printed answer switches between qa modules (a call or return that lands in
another qa module than the one running).
"""

from __future__ import annotations

import ast
import dataclasses
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def functions(path: Path):
    tree = ast.parse(path.read_text("utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = node.args
            n = len(args.posonlyargs) + len(args.args) + len(args.kwonlyargs) + bool(args.vararg) + bool(args.kwarg)
            if args.args and args.args[0].arg in ("self", "cls"):
                n -= 1
            yield node.name, node.end_lineno - node.lineno + 1, n


def main() -> int:
    question = sys.argv[1] if len(sys.argv) > 1 else "Who said that?"
    try:
        from qa.answer import AnswerParams
    except ImportError:
        from qa.answer.params import AnswerParams  # type: ignore
    fields = dataclasses.fields(AnswerParams)
    booleans = [f.name for f in fields if f.type in ("bool", bool)]
    print(f"AnswerParams: {len(fields)} fields, {len(booleans)} booleans ({', '.join(booleans)})")
    rows = []
    for path in sorted((ROOT / "qa").rglob("*.py")):
        for name, lines, params in functions(path):
            rows.append((lines, params, f"{path.relative_to(ROOT)}:{name}"))
    print("longest functions:", "; ".join(f"{where} {lines} lines" for lines, _, where in sorted(rows, reverse=True)[:6]))
    stage = [r for r in rows if "/answer" in r[2]]
    print("most parameters in the answer stage:",
          "; ".join(f"{where} {p}" for _, p, where in sorted(stage, key=lambda r: -r[1])[:5]))

    from qa.config import Settings
    from qa.pipeline import Engine

    engine = Engine.open(Settings())
    first = "How did Ofsted rate Havering's child protection services in 2012?"
    a = engine.ask(first)
    history = [{"role": "user", "content": first}, {"role": "assistant", "content": a.answer}]
    for q, h in ((first, []), (question, history)):
        engine.ask(q, h)  # warm
        switches, last, edges = 0, None, set()

        def profile(frame, event, arg):
            nonlocal switches, last
            if event not in ("call", "return"):
                return
            mod = frame.f_globals.get("__name__", "")
            if event == "return":
                back = frame.f_back
                mod = back.f_globals.get("__name__", "") if back is not None else ""
            if not mod.startswith("qa"):
                return
            if last is not None and mod != last:
                switches += 1
                if event == "call":
                    edges.add((last, mod, frame.f_code.co_name))
            last = mod

        sys.setprofile(profile)
        engine.ask(q, h)
        sys.setprofile(None)
        print(f"module switches for {q!r}{' (a follow-up)' if h else ''}: {switches} "
              f"({len(edges)} distinct calls into another module)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
