"""Questions-file runner: ask each test question with each method and score the results."""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa.config import METHODS, SHIPPED_METHOD
from qa.errors import QAError, UsageError
from qa.testset import TestQuestion
from qa.types import date_order
from qa.metrics import (
    abstention_scores,
    contains_any,
    mean,
    ndcg_at_k,
    percentile,
    reciprocal_rank,
    recall_at_k,
    token_f1,
)

if TYPE_CHECKING:
    from qa.config import Settings
    from qa.pipeline import Engine
    from qa.types import Answer

RECALL_KS = (1, 3, 5, 10)


# ---------------------------------------------------------------- running


@dataclass(frozen=True)
class _Run:
    """One question asked with one method, reduced to what the metrics need."""

    question: TestQuestion
    answer: Answer | None
    error: str | None
    seconds: float

    @property
    def abstained(self) -> bool:
        return self.answer is None or self.answer.abstained


def _ask(engine: Engine, q: TestQuestion, method: str, top_k: int) -> _Run:
    history: list[dict[str, str]] = []
    try:
        extra = {"filter": q.filter} if q.filter else {}  # the conversation's filter, for every turn
        for earlier in q.history:
            prior = engine.ask(earlier, list(history), method=method, top_k=top_k, **extra)
            history.append({"role": "user", "content": earlier})
            history.append({"role": "assistant", "content": prior.answer or prior.message})
        started = time.perf_counter()
        answer = engine.ask(q.question, list(history), method=method, top_k=top_k, **extra)
        return _Run(q, answer, None, time.perf_counter() - started)
    except QAError as e:
        return _Run(q, None, str(e), 0.0)


def _relevance(run: _Run, k_max: int) -> list[bool]:
    if run.answer is None:
        return []
    q = run.question
    return [
        p.chunk.article_id in q.articles and contains_any(p.chunk.text, q.expected)
        for p in run.answer.passages[:k_max]
    ]


def _phrase_found(run: _Run) -> bool:
    return not run.abstained and contains_any(run.answer.answer, run.question.expected)


def _cites_gold(run: _Run) -> bool:
    return not run.abstained and any(
        c.article_id in run.question.articles for c in run.answer.citations
    )


def _correct(run: _Run) -> bool:
    """answer@1 for answerable questions; abstaining for unanswerable ones."""
    if not run.question.answerable:
        return run.abstained
    return _phrase_found(run) and _cites_gold(run)


def _f1(run: _Run) -> float:
    if run.abstained:
        return 0.0
    return max(token_f1(run.answer.answer, e) for e in run.question.expected)


def _cites_gold_span(run: _Run) -> bool:
    return not run.abstained and any(
        c.article_id == g.article_id and c.start < g.end and g.start < c.end
        for c in run.answer.citations for g in run.question.gold
    )


def _newest_first(run: _Run, articles: dict[str, Any]) -> bool:
    if run.abstained or not run.answer.citations:
        return False
    gold = [a for a in run.question.articles if a in articles]
    if not gold:
        return False
    newest = max(gold, key=lambda a: date_order(articles[a].date))
    return run.answer.citations[0].article_id == newest


def _score_method(runs: list[_Run], articles: dict[str, Any], k_max: int) -> dict[str, Any]:
    answerable = [r for r in runs if r.question.answerable]
    relevance = [_relevance(r, k_max) for r in answerable]
    result: dict[str, Any] = {"answerable": len(answerable), "unanswerable": len(runs) - len(answerable)}
    for k in RECALL_KS:
        if k <= k_max:
            result[f"recall@{k}"] = mean(recall_at_k(rel, k) for rel in relevance)
    result[f"mrr@{k_max}"] = mean(reciprocal_rank(rel, k_max) for rel in relevance)
    result[f"ndcg@{k_max}"] = mean(ndcg_at_k(rel, k_max) for rel in relevance)
    result["answer@1"] = mean(float(_correct(r)) for r in answerable)
    result["answer_f1"] = mean(_f1(r) for r in answerable)
    with_gold = [r for r in answerable if r.question.gold]
    result["cited_gold_span"] = mean(float(_cites_gold_span(r)) for r in with_gold)

    slices = [
        c.quote == articles[c.article_id].text[c.start:c.end] if c.article_id in articles else False
        for r in runs if not r.abstained for c in r.answer.citations
    ]
    result["exact_citation_slices"] = mean(float(s) for s in slices)
    result["citations"] = len(slices)

    abstain = abstention_scores([r.abstained for r in runs],
                                [not r.question.answerable for r in runs])
    result["abstain_precision"] = abstain["precision"]
    result["abstain_recall"] = abstain["recall"]
    result["false_abstention_rate"] = abstain["false_abstention_rate"]
    current = [r for r in answerable if r.question.current]
    result["current_newest"] = mean(float(_newest_first(r, articles)) for r in current)

    seconds = [r.seconds * 1000 for r in runs if r.error is None]
    result["latency_p50_ms"] = percentile(seconds, 50)
    result["latency_p95_ms"] = percentile(seconds, 95)
    result["errors"] = sum(1 for r in runs if r.error is not None)
    result["recall_curve"] = [mean(recall_at_k(rel, k) for rel in relevance)
                              for k in range(1, k_max + 1)]
    return result


def _by_type(runs_by_method: dict[str, list[_Run]], k_max: int) -> dict[str, Any]:
    first = next(iter(runs_by_method.values()))
    types = sorted({r.question.type for r in first})
    table: dict[str, Any] = {}
    for t in types:
        row: dict[str, Any] = {"n": sum(1 for r in first if r.question.type == t)}
        for method, runs in runs_by_method.items():
            of_type = [r for r in runs if r.question.type == t]
            answerable = [r for r in of_type if r.question.answerable]
            row[method] = {
                "answer@1": mean(float(_correct(r)) for r in answerable),
                f"recall@{min(5, k_max)}": mean(
                    recall_at_k(_relevance(r, k_max), min(5, k_max)) for r in answerable
                ),
                "abstained": mean(float(r.abstained) for r in of_type),
            }
        table[t] = row
    return table


def _failure(run: _Run, k_max: int) -> dict[str, Any] | None:
    q = run.question
    if _correct(run):
        return None
    if run.error is not None:
        reason = f"error: {run.error}"
    elif not q.answerable:
        reason = "answered an unanswerable question"
    elif run.abstained:
        reason = "abstained on an answerable question"
    elif not _phrase_found(run):
        reason = "no expected phrase in the answer" + (
            "" if _cites_gold(run) else ", no citation on a gold article")
    else:
        reason = "no citation on a gold article"
    relevance = _relevance(run, k_max)
    ans = run.answer
    return {
        "id": q.id,
        "type": q.type,
        "question": q.question,
        "history": list(q.history),
        "expected": list(q.expected),
        "articles": list(q.articles),
        "reason": reason,
        "abstained": run.abstained,
        "answer": ans.answer if ans else "",
        "message": ans.message if ans else (run.error or ""),
        "cited": [c.article_id for c in ans.citations] if ans else [],
        "top_passages": [p.chunk.id for p in ans.passages[:5]] if ans else [],
        "first_hit_rank": next((i for i, hit in enumerate(relevance, 1) if hit), None),
    }


def evaluate(
    engine: Engine,
    questions: Sequence[TestQuestion],
    *,
    methods: Sequence[str] = METHODS,
    k_max: int = 10,
    progress: bool = True,
) -> dict[str, Any]:
    """Ask every question with every method and score retrieval, answers and abstention.

    A retrieval hit is a passage of a gold article that contains an expected phrase.
    answer@1 counts an answer that contains an expected phrase and cites a gold article.
    Unanswerable questions count only towards the abstention metrics. Follow-up questions
    replay their history through the engine with the same method first.

    Args:
        engine: an open ``qa.pipeline.Engine``.
        questions: from ``load_questions`` or ``qa.squad.load_squad``.
        methods: any of "bm25", "dense", "hybrid".
        k_max: passages retrieved per question, and the cut-off of MRR and nDCG.
        progress: show a progress bar on stderr.

    Returns:
        ``{"questions", "system", "k_max", "methods": {method: metrics}, "by_type",
        "failures"}``; failures are those of the shipped method ("hybrid" when evaluated).

    Raises:
        UsageError: an unknown method, k_max < 1 or no questions.
    """
    methods = tuple(methods)
    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods:
        raise UsageError(f"unknown method(s) {', '.join(map(repr, unknown)) or '(none given)'}; "
                         f"choose from {', '.join(METHODS)}.")
    if k_max < 1:
        raise UsageError(f"k_max must be at least 1; it is {k_max}.")
    if not questions:
        raise UsageError("no questions to evaluate.")
    from tqdm import tqdm

    runs_by_method: dict[str, list[_Run]] = {}
    for method in methods:
        bar = tqdm(questions, desc=f"eval {method}", unit="q", disable=not progress,
                   file=sys.stderr, leave=False)
        runs_by_method[method] = [_ask(engine, q, method, k_max) for q in bar]

    system = SHIPPED_METHOD if SHIPPED_METHOD in methods else methods[-1]
    failures = [f for r in runs_by_method[system] if (f := _failure(r, k_max)) is not None]
    return {
        "questions": len(questions),
        "system": system,
        "k_max": k_max,
        "methods": {m: _score_method(runs, engine.articles, k_max)
                    for m, runs in runs_by_method.items()},
        "by_type": _by_type(runs_by_method, k_max),
        "failures": failures,
    }


def run_external(
    path: str | Path,
    settings: Settings,
    *,
    sample: int | None = 200,
    seed: int = 0,
    methods: Sequence[str] = METHODS,
    k_max: int = 10,
    progress: bool = True,
) -> dict[str, Any]:
    """Evaluate on a SQuAD-format file: index all its articles in a temporary folder.

    Args:
        path: SQuAD v1.1/v2.0, XQuAD or COVID-QA JSON, optionally gzipped.
        settings: model and chunking settings; ``index_dir`` is replaced by a temp folder.
        sample: questions drawn at random (all if None or larger than the file).
        seed: seed of the sample.
        methods, k_max, progress: as for ``evaluate``.

    Returns:
        The ``evaluate`` result plus a "dataset" entry describing the data.
    """
    from qa.pipeline import Engine
    from qa.squad import load_squad

    articles, questions = load_squad(path, sample=sample, seed=seed)
    with tempfile.TemporaryDirectory(prefix="qa-external-") as tmp:
        engine = Engine.build(articles, replace(settings, index_dir=Path(tmp) / "index"))
        result = evaluate(engine, questions, methods=methods, k_max=k_max, progress=progress)
    result["dataset"] = {
        "path": str(path),
        "source": articles[0].source if articles else None,
        "articles": len(articles),
        "characters": sum(len(a.text) for a in articles),
        "sample": sample,
        "seed": seed,
        "unanswerable": sum(1 for q in questions if not q.answerable),
    }
    return result


# ---------------------------------------------------------------- reporting


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _cell(text: str, limit: int = 160) -> str:
    text = " ".join(str(text).split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text.replace("|", "\\|")


_NOT_IN_TABLE = ("recall_curve",)


SUMMARY_METRICS = (
    "recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10", "answer@1",
    "exact_citation_slices", "abstain_precision", "abstain_recall", "false_abstention_rate",
    "current_newest", "latency_p50_ms",
)


def format_summary(result: dict[str, Any]) -> str:
    """A plain-text table of the main metrics per method, for the terminal."""
    methods = result["methods"]
    names = list(methods)
    first = methods[names[0]]
    header = (f"{result['questions']} questions ({first['answerable']} answerable, "
              f"{first['unanswerable']} unanswerable); shipped system: {result['system']}")
    if "dataset" in result:
        d = result["dataset"]
        header += f"\ndataset: {d['path']} ({d['source']}, {d['articles']} articles indexed)"
    keys = [k for k in SUMMARY_METRICS if k in first]
    width = max(len(k) for k in keys) + 2
    lines = [header, "", "metric".ljust(width) + "".join(n.rjust(9) for n in names)]
    for key in keys:
        lines.append(key.ljust(width) + "".join(_fmt(methods[n].get(key)).rjust(9) for n in names))
    lines += ["", f"{len(result['failures'])} failures of {result['system']} "
              "(--report FILE.md lists them)."]
    return "\n".join(lines)


def recall_plot(result: dict[str, Any]):
    """The Recall@k curves of each method, the shipped one marked.

    Args:
        result: what ``evaluate`` or ``run_external`` returned.

    Returns:
        A ``matplotlib.figure.Figure`` (Agg canvas, not registered with pyplot).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    # A Figure without pyplot: Agg by construction, no global backend state.
    fig = Figure(figsize=(6, 4), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for name, metrics in result["methods"].items():
        curve = metrics.get("recall_curve") or []
        ks = list(range(1, len(curve) + 1))
        ax.plot(ks, [v if v is not None else float("nan") for v in curve], marker="o",
                label=name + (" (shipped)" if name == result.get("system") else ""))
    ax.set_xlabel("k (passages)")
    ax.set_ylabel("Recall@k")
    ax.set_ylim(0, 1.02)
    ax.set_xticks(range(1, result.get("k_max", 10) + 1))
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    title = "Recall@k"
    if "dataset" in result:
        title += f" – {Path(result['dataset']['path']).name}"
    ax.set_title(title)
    fig.tight_layout()
    return fig


def write_report(result: dict[str, Any], md_path: str | Path, plot_path: str | Path) -> None:
    """Write a Markdown report (metrics, by type, failures) and a Recall@k plot (PNG).

    Args:
        result: what ``evaluate`` or ``run_external`` returned.
        md_path: the Markdown file to write.
        plot_path: the PNG to write; the report links it by relative path when it can.
    """
    md_path, plot_path = Path(md_path), Path(plot_path)
    methods = result["methods"]
    names = list(methods)
    recall_plot(result).savefig(plot_path)

    lines = ["# Evaluation report", ""]
    lines.append(f"{result['questions']} questions; shipped system: `{result['system']}`.")
    if "dataset" in result:
        d = result["dataset"]
        lines.append(f"Dataset: `{d['path']}` ({d['source']}), {d['articles']} articles indexed, "
                     f"sample {d['sample']} with seed {d['seed']}.")
    lines += ["", "A retrieval hit is a passage of a gold article containing an expected phrase; "
              "answer@1 needs an expected phrase in the answer and a citation on a gold article.",
              ""]
    lines += ["## Metrics", "", "| metric | " + " | ".join(names) + " |",
              "|---|" + "---:|" * len(names)]
    keys = [k for k in methods[names[0]] if k not in _NOT_IN_TABLE]
    for key in keys:
        lines.append(f"| {key} | " + " | ".join(_fmt(methods[n].get(key)) for n in names) + " |")
    try:
        rel = plot_path.resolve().relative_to(md_path.parent.resolve())
    except ValueError:
        rel = plot_path.resolve()
    lines += ["", f"![Recall@k]({rel.as_posix()})", ""]

    lines += ["## By question type", "",
              "| type | n | " + " | ".join(f"{n} answer@1 | {n} recall@5" for n in names) + " |",
              "|---|---:|" + "---:|---:|" * len(names)]
    for t, row in result["by_type"].items():
        cells = []
        for n in names:
            m = row[n]
            first = m["answer@1"] if m["answer@1"] is not None else m["abstained"]
            recall = next((v for k, v in m.items() if k.startswith("recall@")), None)
            cells += [_fmt(first), _fmt(recall)]
        lines.append(f"| {t} | {row['n']} | " + " | ".join(cells) + " |")
    lines += ["", "For unanswerable questions the answer@1 column shows the share abstained on.", ""]

    failures = result["failures"]
    lines += [f"## Failures of `{result['system']}` ({len(failures)})", ""]
    if failures:
        lines += ["| id | type | question | reason | answer | cited | top passages |",
                  "|---|---|---|---|---|---|---|"]
        for f in failures:
            question = f["question"]
            if f["history"]:
                question = " → ".join(f["history"]) + " → " + question
            answer = f["answer"] or f"({f['message']})"
            lines.append(
                f"| {f['id']} | {f['type']} | {_cell(question)} | {_cell(f['reason'])} | "
                f"{_cell(answer)} | {_cell(', '.join(f['cited']))} | "
                f"{_cell(', '.join(f['top_passages']), 200)} |"
            )
    else:
        lines.append("None.")
    md_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
