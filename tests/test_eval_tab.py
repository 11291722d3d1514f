"""The web app's Evaluation tab: pure formatting helpers, the run function with the real engine,
and one browser check (Chromium through Playwright, as in test_web.py)."""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from qa.errors import UsageError
from qa.web.eval_tab import (
    EVAL_METHODS,
    FAILURE_HEADERS,
    MAX_CELL_CHARS,
    by_type_headers,
    by_type_table,
    default_questions_path,
    error_markdown,
    escape_markdown,
    failures_heading,
    failures_table,
    format_value,
    metric_keys,
    metrics_headers,
    metrics_table,
    run_evaluation,
    summary_markdown,
)
from qa.types import Answer
from qa.web.limits import MAX_EVAL_QUESTIONS as MAX_QUESTIONS

ROOT = Path(__file__).resolve().parents[1]
CORPUS_QUESTIONS = ROOT / "corpus" / "questions.jsonl"
XSS = "<img src=x onerror=alert(1)>"

# Rates in [0, 1]; counts and latencies are not.
RATE_KEYS = {"recall@1", "recall@3", "recall@5", "recall@10", "mrr@10", "ndcg@10", "answer@1", "answer_f1",
             "cited_gold_span", "exact_citation_slices", "abstain_precision", "abstain_recall",
             "false_abstention_rate", "current_newest"}


def _result() -> dict:
    """A small hand-made result in the shape evaluate() returns."""
    def metrics(r1: float, a1: float | None) -> dict:
        return {"answerable": 2, "unanswerable": 1, "recall@1": r1, "recall@5": 1.0, "mrr@10": 0.75,
                "answer@1": a1, "abstain_precision": None, "latency_p50_ms": 12.3456, "errors": 0,
                "recall_curve": [r1, 1.0]}

    return {
        "questions": 3,
        "system": "hybrid",
        "k_max": 2,
        "methods": {"bm25": metrics(0.5, 0.5), "hybrid": metrics(2 / 3, 1.0)},
        "by_type": {
            "current": {"n": 1, "bm25": {"answer@1": 0.0, "recall@5": 1.0, "abstained": 0.0},
                        "hybrid": {"answer@1": 1.0, "recall@5": 1.0, "abstained": 0.0}},
            "unanswerable": {"n": 1, "bm25": {"answer@1": None, "recall@5": None, "abstained": 0.0},
                             "hybrid": {"answer@1": None, "recall@5": None, "abstained": 1.0}},
        },
        "failures": [
            {"id": "f1", "type": "followup", "question": "And before?", "history": ["What is the rating?"],
             "expected": ["good", "fine"], "articles": ["old"], "reason": "no citation on a gold article",
             "abstained": False, "answer": "The rating is inadequate.", "message": "",
             "cited": ["new", "newer"], "top_passages": ["new#1"], "first_hit_rank": 2},
            {"id": "u1", "type": "fact", "question": XSS, "history": [], "expected": ["x" * 1000],
             "articles": ["old"], "reason": "abstained on an answerable question", "abstained": True,
             "answer": "", "message": "I couldn't find this in the articles.", "cited": [],
             "top_passages": [], "first_hit_rank": None},
        ],
    }


# ------------------------------------------------------------------ pure formatting


def test_format_value():
    assert format_value("recall@1", 2 / 3) == "0.667"
    assert format_value("recall@1", 1.0) == "1.000"
    assert format_value("answerable", 60) == "60"
    assert format_value("latency_p50_ms", 12.3456) == "12.3"
    assert format_value("abstain_precision", None) == "–"
    assert format_value("recall@1", float("nan")) == "–"


def test_metrics_table_has_every_metric_but_the_curve_in_evaluate_order():
    result = _result()
    assert metrics_headers(result) == ["metric", "bm25", "hybrid (shipped)"]
    assert metric_keys(result) == ["answerable", "unanswerable", "recall@1", "recall@5", "mrr@10",
                                   "answer@1", "abstain_precision", "latency_p50_ms", "errors"]
    rows = {row[0]: row[1:] for row in metrics_table(result)}
    assert rows["recall@1"] == ["0.500", "0.667"]
    assert rows["answer@1"] == ["0.500", "1.000"]
    assert rows["abstain_precision"] == ["–", "–"]
    assert rows["answerable"] == ["2", "2"]
    assert rows["latency_p50_ms"] == ["12.3", "12.3"]
    assert "recall_curve" not in rows


def test_metrics_table_keeps_keys_only_some_methods_have():
    result = _result()
    result["methods"]["hybrid"]["only_here"] = 0.25
    rows = {row[0]: row[1:] for row in metrics_table(result)}
    assert rows["only_here"] == ["–", "0.250"]


def test_by_type_table_shows_abstentions_for_unanswerable_questions():
    result = _result()
    assert by_type_headers(result) == ["type", "n", "bm25 answer@1", "bm25 recall@5",
                                       "hybrid (shipped) answer@1", "hybrid (shipped) recall@5"]
    rows = {row[0]: row[1:] for row in by_type_table(result)}
    assert rows["current"] == ["1", "0.000", "1.000", "1.000", "1.000"]
    assert rows["unanswerable"] == ["1", "0.000", "–", "1.000", "–"]


def test_failures_table_is_plain_text_rows():
    rows = failures_table(_result())
    assert all(len(row) == len(FAILURE_HEADERS) for row in rows)
    follow, abstained = rows
    assert follow == ["f1", "followup", "What is the rating? → And before?", "good; fine",
                      "The rating is inadequate.", "new, newer", "no citation on a gold article"]
    # gr.Dataframe shows str cells as text: markup stays literal, not escaped twice
    assert abstained[2] == XSS
    assert abstained[4] == "(abstained) I couldn't find this in the articles."
    assert abstained[5] == "–"
    assert len(abstained[3]) == MAX_CELL_CHARS and abstained[3].endswith("…")


def test_failures_table_of_an_error_and_of_an_unanswerable_question():
    result = _result()
    result["failures"] = [
        {"id": "e1", "type": "fact", "question": "Q?", "history": [], "expected": ["a"], "abstained": True,
         "answer": "", "message": "the question is empty", "cited": [], "reason": "error: the question is empty"},
        {"id": "u2", "type": "unanswerable", "question": "Phone?", "history": [], "expected": [],
         "abstained": False, "answer": "Call 123.", "message": "", "cited": ["new"],
         "reason": "answered an unanswerable question"},
    ]
    error, unanswerable = failures_table(result)
    assert error[4] == "(abstained) the question is empty" and error[6].startswith("error:")
    assert unanswerable[3] == "– (unanswerable)" and unanswerable[4] == "Call 123."
    assert failures_heading(result) == "### Failures of hybrid (2)"
    assert failures_table({"failures": []}) == []


def test_markdown_is_escaped():
    assert escape_markdown(XSS) == "&lt;img src=x onerror=alert(1)&gt;"
    assert escape_markdown("my_file *v2*.jsonl") == r"my\_file \*v2\*.jsonl"
    summary = summary_markdown(_result(), f"{XSS}_q.jsonl")
    assert "<img" not in summary and "&lt;img" in summary and r"\_q.jsonl" in summary
    assert summary.startswith("**3 questions** (2 answerable, 1 unanswerable)")
    assert "**hybrid**" in summary and "2 failures" in summary
    error = error_markdown(f"{XSS} line 1")
    assert "<img" not in error and error.startswith('<span class="qa-eval-error">')


# ------------------------------------------------------------------ running, without the model


class AbstainingEngine:
    """Enough of qa.pipeline.Engine for evaluate(): abstains on everything."""

    articles: dict = {}

    def __init__(self):
        self.calls = 0

    def ask(self, question, history=(), *, method="hybrid", top_k=None):
        self.calls += 1
        return Answer(question, "", True, (), (), message="Not found.")


def _question(qid: str, history: list[str] | None = None, answerable: bool = True) -> str:
    return json.dumps({"id": qid, "question": f"Question {qid}?", "type": "fact",
                       "expected": ["x"] if answerable else [], "articles": ["a"] if answerable else [],
                       "history": history or [], "answerable": answerable})


def test_run_evaluation_reports_progress_over_every_question_asked(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text("\n".join([_question("a"), _question("b", ["Earlier?"]), _question("c", answerable=False)]),
                    encoding="utf-8")
    engine = AbstainingEngine()
    seen: list[tuple[int, int, str]] = []
    run = run_evaluation(engine, path, name="mine.jsonl", progress=lambda *a: seen.append(a))
    total = len(EVAL_METHODS) * 4  # three questions, one with one earlier turn
    assert engine.calls == total
    assert [s[0] for s in seen] == list(range(1, total + 1)) and {s[1] for s in seen} == {total}
    assert [s[2] for s in seen[::4]] == list(EVAL_METHODS)
    assert run.source == "mine.jsonl"
    assert list(run.result["methods"]) == list(EVAL_METHODS) and run.result["system"] == "hybrid"
    assert {f["id"] for f in run.result["failures"]} == {"a", "b"}


def test_run_evaluation_names_the_upload_not_its_temp_path(tmp_path):
    path = tmp_path / "upload-123" / "questions.jsonl"
    path.parent.mkdir()
    path.write_text('{"id": "q1"}\n', encoding="utf-8")
    with pytest.raises(UsageError) as caught:
        run_evaluation(None, path, name="questions.jsonl")
    message = str(caught.value)
    assert message.startswith("questions.jsonl, line 1: missing fields") and str(tmp_path) not in message
    with pytest.raises(UsageError, match="not found"):
        run_evaluation(None, tmp_path / "missing.jsonl")


def test_run_evaluation_refuses_huge_files(tmp_path):
    path = tmp_path / "many.jsonl"
    path.write_text("\n".join(_question(f"q{i}") for i in range(MAX_QUESTIONS + 1)), encoding="utf-8")
    with pytest.raises(UsageError, match=f"at most {MAX_QUESTIONS}"):
        run_evaluation(AbstainingEngine(), path, name="many.jsonl")


def test_default_questions_path(tmp_path):
    engine = SimpleNamespace(settings=SimpleNamespace(corpus_dir=tmp_path))
    assert default_questions_path(engine) is None
    (tmp_path / "questions.jsonl").write_text(_question("a"), encoding="utf-8")
    assert default_questions_path(engine) == tmp_path / "questions.jsonl"
    assert default_questions_path(SimpleNamespace()) is None


def test_eval_tab_module_does_not_import_gradio():
    import subprocess
    import sys

    code = "import sys, qa.web.render, qa.web.eval_tab; print('gradio' in sys.modules, 'matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


# ------------------------------------------------------------------ the tab, with the real engine


def _blocks(app):
    """The gr.Blocks that build_app mounted at "/"."""
    for route in app.routes:
        if hasattr(getattr(route, "app", None), "get_blocks"):
            return route.app.get_blocks()
    raise AssertionError("no Gradio app mounted")


def _six_questions(path: Path) -> Path:
    """One question of each of six types, including a follow-up and an unanswerable one."""
    wanted = {"fact", "date", "current", "year", "followup", "unanswerable"}
    lines = []
    for line in CORPUS_QUESTIONS.read_text(encoding="utf-8").splitlines():
        q = json.loads(line)
        if q["type"] in wanted:
            wanted.discard(q["type"])
            lines.append(line)
    assert len(lines) == 6
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def files_in(folder):
    return [p for p in folder.rglob("*") if p.is_file()]


@pytest.mark.model
def test_eval_tab_runs_with_the_real_engine(engine, tmp_path):
    from qa.web.server import build_app

    app = build_app(engine)
    blocks = _blocks(app)
    uploads = app.state.qa.uploads
    config = blocks.get_config_file()
    tabs = [c for c in config["components"] if c.get("type") == "tabitem"]
    assert "Evaluation" in [t["props"].get("label") for t in tabs]

    fns = {f.name: f for f in blocks.fns.values()}
    for name in ("run_default", "run_upload", "start", "finish"):
        assert fns[name].api_visibility == "private", name
    # one runner refuses a second run at once, so more than one event may reach it
    assert fns["run_upload"].concurrency_id == fns["run_default"].concurrency_id == "evaluation"

    # the corpus copy of conftest has no questions.jsonl: the default run says what to do
    status, results, *_ = fns["run_default"].fn()
    assert "upload a questions file" in status and results["visible"] is False

    path = _six_questions(tmp_path / "six.jsonl")
    status, *_ = fns["run_upload"].fn(str(path))  # a file the server did not receive as an upload
    assert "upload the file again" in status and path.exists()
    reference = uploads.save("six.jsonl", path.read_bytes())  # what the upload route replies
    status, results, summary, metrics, plot, by_type, failures_title, failures = fns["run_upload"].fn(reference)
    assert uploads.count() == 0 and files_in(uploads.root) == []  # deleted once evaluated
    assert "upload the file again" in fns["run_upload"].fn(reference)[0]  # used once
    assert status.startswith("Finished in") and results["visible"] is True
    assert summary.startswith("**6 questions** (5 answerable, 1 unanswerable) from six.jsonl")

    frame = metrics.data  # a pandas Styler: the shipped column is highlighted
    assert list(frame.columns) == ["metric", "bm25", "dense", "hybrid (shipped)"]
    rows = {row[0]: row[1:] for row in frame.values.tolist()}
    assert RATE_KEYS <= set(rows)
    for key in RATE_KEYS:
        for value in rows[key]:
            assert value == "–" or 0.0 <= float(value) <= 1.0, (key, value)
            assert value == "–" or len(value.split(".")[1]) == 3
    assert rows["answerable"] == ["5", "5", "5"]
    assert "background-color" in metrics.to_html()

    types = by_type.data
    assert sorted(types["type"]) == sorted(["fact", "date", "current", "year", "followup", "unanswerable"])
    assert [c for c in types.columns if c.endswith("answer@1")] == [
        "bm25 answer@1", "dense answer@1", "hybrid (shipped) answer@1"]

    assert plot.axes[0].get_title() == "Recall@k" and len(plot.axes[0].get_lines()) == 3
    assert failures_title.startswith("### Failures of hybrid (")
    assert failures["value"]["headers"] == FAILURE_HEADERS
    assert all(len(r) == len(FAILURE_HEADERS) for r in failures["value"]["data"])

    status, results, *_ = fns["run_upload"].fn(str(tmp_path / "missing.jsonl"))
    assert "upload the file again" in status and results["visible"] is False


# ------------------------------------------------------------------ browser



@pytest.fixture
def eval_server(engine, monkeypatch):
    """build_app(engine) under uvicorn in a thread, its default questions the corpus test questions."""
    import uvicorn

    import qa.web.eval_tab
    from qa.web.server import build_app

    monkeypatch.setattr(qa.web.eval_tab, "default_questions_path", lambda engine: CORPUS_QUESTIONS)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(build_app(engine), host="127.0.0.1", port=port,
                                           log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.1)
    yield f"http://127.0.0.1:{port}/"
    server.should_exit = True
    thread.join(timeout=15)


@pytest.mark.model
@pytest.mark.browser
# Gradio's queue, running in this process here, builds a pandas frame of its own events.
@pytest.mark.filterwarnings("ignore:'future.no_silent_downcasting' is deprecated")
@pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")
def test_eval_tab_in_the_browser(browser, eval_server):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(eval_server, wait_until="load")
    page.get_by_role("tab", name="Evaluation").click()
    run = page.locator("#qa-eval-run")
    run.wait_for()
    assert "corpus/questions.jsonl" in run.inner_text() or "questions.jsonl" in run.inner_text()
    run.click()
    page.get_by_text("Finished in").wait_for(timeout=300_000)
    metrics = page.locator("#qa-eval-metrics")
    header = metrics.locator("[role=columnheader]").all_inner_texts()
    assert [h.strip() for h in header] == ["metric", "bm25", "dense", "hybrid (shipped)"]
    assert metrics.get_by_text("recall@5", exact=True).count() == 1
    assert "75 questions" in page.locator("#qa-eval-summary").inner_text()
    page.locator("#qa-eval-plot img").wait_for()
    assert page.locator("#qa-eval-by-type [role=columnheader]").count() == 8
    assert page.locator("#qa-eval-failures-title").inner_text().startswith("Failures of hybrid")
    assert run.is_enabled()  # back on once the run is done
    # on a phone the tables scroll inside their boxes, the page itself does not
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(500)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert dialogs == []
    page.close()


@pytest.mark.model
@pytest.mark.browser
@pytest.mark.filterwarnings("ignore:'future.no_silent_downcasting' is deprecated")
@pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")
def test_eval_tab_upload_in_the_browser(browser, eval_server, tmp_path):
    """Upload through the page: the server's own upload route, the reference back, the run, the file gone."""
    path = _six_questions(tmp_path / "my questions.jsonl")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    refused: list[str] = []
    page.on("response", lambda r: refused.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.goto(eval_server, wait_until="load")
    page.get_by_role("tab", name="Evaluation").click()
    with page.expect_file_chooser() as chooser:
        page.locator("#qa-eval-upload").click()
    chooser.value.set_files(str(path))
    page.get_by_text("Finished in").wait_for(timeout=300_000)
    assert "6 questions" in page.locator("#qa-eval-summary").inner_text()
    assert "my questions.jsonl" in page.locator("#qa-eval-summary").inner_text()
    assert refused == []
    page.close()
