"""Warm `engine.ask` latency of two versions of qa, measured in one run, interleaved (A B A B …).

    python benchmarks/ab_latency.py BEFORE_REF [AFTER_REF] [--rounds 5] [--blocks 4]

Each ref (a commit, a branch, or "." for the working tree) is checked out into a temporary worktree;
each block starts one process per version that opens the same corpus (its own index), warms up, then
asks the 75 questions of corpus/questions.jsonl (follow-ups with their replayed history) ``rounds``
times. Blocks alternate the versions, so a busy spell of the machine hits both. Prints p50 / p95 of
each and their ratio (after / before), with the load average: for the whole question, and without the
time spent embedding it (the same ONNX model in both, and most of the time: its run-to-run noise
hides differences in the rest).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchutil import percentile  # noqa: E402

CHILD = r"""
import json, sys, time
from pathlib import Path
from qa.config import Settings
from qa.pipeline import Engine
from qa.testset import load_questions
repo, index_dir, rounds = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
engine = Engine.open(Settings(corpus_dir=repo / "corpus", index_dir=index_dir))
engine.warm_up()
questions = load_questions(repo / "corpus" / "questions.jsonl")
hist = []
for q in questions:
    h = []
    for earlier in q.history:
        a = engine.ask(earlier, list(h))
        h += [{"role": "user", "content": earlier}, {"role": "assistant", "content": a.answer or a.message}]
    hist.append(h)
for q, h in zip(questions, hist):
    engine.ask(q.question, h)
encoder = engine.embedder  # both versions embed through this object: its time is kept apart
embed, spent = encoder.embed, [0.0]
def timed_embed(*args, **kwargs):
    t = time.perf_counter()
    try:
        return embed(*args, **kwargs)
    finally:
        spent[0] += time.perf_counter() - t
encoder.embed = timed_embed
times, rest = [], []
for _ in range(rounds):
    for q, h in zip(questions, hist):
        spent[0] = 0.0
        t = time.perf_counter()
        engine.ask(q.question, h)
        times.append(time.perf_counter() - t)
        rest.append(times[-1] - spent[0])
print(json.dumps({"total": times, "rest": rest}))
"""


def checkout(ref: str, root: Path) -> Path:
    if ref == ".":
        return REPO
    target = root / ref.replace("/", "_")
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", "-q", str(target), ref], check=True)
    return target


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("before")
    ap.add_argument("after", nargs="?", default=".")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--blocks", type=int, default=4)
    args = ap.parse_args()
    python = sys.executable
    with tempfile.TemporaryDirectory(prefix="qa-ab-") as tmp:
        root = Path(tmp)
        trees = {"before": checkout(args.before, root), "after": checkout(args.after, root)}
        times: dict[str, list[float]] = {"before": [], "after": []}
        rest: dict[str, list[float]] = {"before": [], "after": []}
        try:
            for block in range(args.blocks):
                order = ("before", "after") if block % 2 == 0 else ("after", "before")
                for name in order:
                    env = dict(os.environ, PYTHONPATH=str(trees[name]), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
                    out = subprocess.run([python, "-c", CHILD, str(trees[name]), str(root / f"index-{name}"),
                                          str(args.rounds)], cwd=trees[name], env=env, check=True,
                                         capture_output=True, text=True).stdout
                    got = json.loads(out.strip().splitlines()[-1])
                    times[name] += got["total"]
                    rest[name] += got["rest"]
        finally:
            for name, tree in trees.items():
                if tree != REPO:
                    subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)], check=False)
    load = os.getloadavg()
    print(f"warm engine.ask over {len(times['before'])} questions each, {args.blocks} interleaved blocks; "
          f"load average {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}")
    for label, data in (("whole question", times), ("without embedding the question", rest)):
        rows = {n: (statistics.median(t) * 1000, percentile(t, 95) * 1000) for n, t in data.items()}
        print(f"\n{label}\n\n| version | ref | p50 ms | p95 ms |\n|---|---|---:|---:|")
        for n, ref in (("before", args.before), ("after", args.after)):
            print(f"| {n} | {ref} | {rows[n][0]:.2f} | {rows[n][1]:.2f} |")
        print(f"| ratio after / before | | {rows['after'][0] / rows['before'][0]:.3f} | "
              f"{rows['after'][1] / rows['before'][1]:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
