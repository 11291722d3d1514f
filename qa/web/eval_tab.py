"""The web app's Evaluation tab: run qa.evaluate on a questions file and show the scores."""

from __future__ import annotations

import html
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qa.errors import QAError, UsageError
from qa.web.assets import EVAL_STYLE
from qa.web.escape import visible_controls
from qa.web.limits import MAX_EVAL_ASKS, MAX_EVAL_HISTORY_TURNS, MAX_EVAL_QUESTIONS

log = logging.getLogger(__name__)

EVAL_METHODS = ("bm25", "dense", "hybrid")
QUESTIONS_FILE = "questions.jsonl"
MAX_CELL_CHARS = 280  # failure cells are cut here so one long answer does not stretch the table
NOT_SHOWN = ("recall_curve",)  # plotted instead
UPLOAD_TYPES = [".jsonl", ".json", ".txt"]
FAILURE_HEADERS = ["id", "type", "question", "expected", "answer returned", "cited article", "reason"]
# The upload button: the browser picks a file and posts it to this server's own upload route
# (qa/web/uploads.py); the event's input is the reference it replies, a plain string, so no Gradio
# file component (which would copy any server path a client names) is involved. "!" + the route's
# error when it refused the file; "" when no file was picked.
UPLOAD_JS = """async () => {
  const input = document.createElement("input");
  input.type = "file";
  input.accept = "%s";
  const file = await new Promise((resolve) => {
    input.addEventListener("change", () => resolve(input.files[0] || null));
    input.addEventListener("cancel", () => resolve(null));
    input.click();
  });
  if (!file) return "";
  const form = new FormData();
  form.append("files", file, file.name);
  const reply = await fetch("gradio_api/upload", {method: "POST", body: form});
  const body = await reply.json().catch(() => ({error: "the upload failed (HTTP " + reply.status + ")"}));
  return reply.ok ? body[0] : "!" + body.error;
}""" % ",".join(UPLOAD_TYPES)

_INTRO = (
    "Asks every test question with each retrieval method ({methods}) and scores passages, "
    "answers and abstentions, as `qa eval` does. A retrieval hit is a passage of a gold article "
    "that contains an expected phrase; answer@1 needs an expected phrase in the answer and a "
    "citation of a gold article."
)
_UPLOAD_HINT = (
    "Or upload your own questions: JSON lines, one question per line with `id`, `question`, `type`, "
    "`expected`, `articles`, `answerable` (and optionally `history`, `current`)."
)

_HIGHLIGHT = "background-color: var(--color-accent-soft); font-weight: 600"
_NUMBER_CELL = "text-align: right; font-variant-numeric: tabular-nums"

# ---------------------------------------------------------------- pure formatting


_MARKDOWN_MARK = re.compile(r"([\\`*_\[\]{}#+!|~])")


def escape_markdown(text: object) -> str:
    """Text shown literally by gr.Markdown: HTML-escaped and Markdown's marks backslash-escaped."""
    plain = html.escape(" ".join(str(text).split()), quote=False)
    return _MARKDOWN_MARK.sub(r"\\\1", plain)


def format_value(key: str, value: Any) -> str:
    """A metric as shown: counts as integers, milliseconds to 0.1, other numbers to 3 decimals."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value:  # NaN
            return "–"
        return f"{value:.1f}" if key.endswith("_ms") else f"{value:.3f}"
    return str(value)


def method_label(method: str, system: str | None) -> str:
    """Column title of a method: the shipped one says so."""
    return f"{method} (shipped)" if method == system else method


def metrics_headers(result: Mapping[str, Any]) -> list[str]:
    return ["metric", *(method_label(m, result.get("system")) for m in result["methods"])]


def metric_keys(result: Mapping[str, Any]) -> list[str]:
    """The metrics evaluate() returned, in its order (the first method's keys, then any others)."""
    keys: list[str] = []
    for metrics in result["methods"].values():
        keys += [k for k in metrics if k not in keys and k not in NOT_SHOWN]
    return keys


def metrics_table(result: Mapping[str, Any]) -> list[list]:
    """One row per metric: [name, value of each method...], values formatted as text."""
    methods = result["methods"]
    return [[key, *(format_value(key, methods[m].get(key)) for m in methods)] for key in metric_keys(result)]


def _recall_key(row: Mapping[str, Any]) -> str | None:
    for cell in row.values():
        if isinstance(cell, Mapping):
            return next((k for k in cell if k.startswith("recall@")), None)
    return None


def by_type_headers(result: Mapping[str, Any]) -> list[str]:
    rows = list(result.get("by_type", {}).values())
    recall = (_recall_key(rows[0]) if rows else None) or "recall@5"
    headers = ["type", "n"]
    for m in result["methods"]:
        label = method_label(m, result.get("system"))
        headers += [f"{label} answer@1", f"{label} {recall}"]
    return headers


def by_type_table(result: Mapping[str, Any]) -> list[list]:
    """One row per question type: [type, n, answer@1 and recall@k of each method...].

    For unanswerable questions answer@1 is the share abstained on, as in the Markdown report.
    """
    rows = []
    for qtype, row in result.get("by_type", {}).items():
        cells: list[Any] = [qtype, str(row.get("n", ""))]
        for m in result["methods"]:
            scores = row.get(m) or {}
            correct = scores.get("answer@1")
            if correct is None:
                correct = scores.get("abstained")
            recall = next((v for k, v in scores.items() if k.startswith("recall@")), None)
            cells += [format_value("answer@1", correct), format_value("recall", recall)]
        rows.append(cells)
    return rows


def _cut(text: str, limit: int = MAX_CELL_CHARS) -> str:
    text = visible_controls(" ".join(str(text).split()))
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def failures_table(result: Mapping[str, Any]) -> list[list]:
    """One row per failure of the shipped method, as plain text (FAILURE_HEADERS)."""
    rows = []
    for f in result.get("failures", []):
        question = " → ".join([*f.get("history", []), f.get("question", "")])
        if f.get("answer"):
            answer = f["answer"]
        elif f.get("abstained"):
            answer = f"(abstained) {f.get('message') or ''}".strip()
        else:
            answer = f.get("message") or "–"
        rows.append([
            f.get("id", ""),
            f.get("type", ""),
            _cut(question),
            _cut("; ".join(f.get("expected", [])) or "– (unanswerable)"),
            _cut(answer),
            _cut(", ".join(f.get("cited", [])) or "–"),
            _cut(f.get("reason", "")),
        ])
    return rows


def summary_markdown(result: Mapping[str, Any], source: str) -> str:
    """One line: how many questions from where, and which method ships."""
    first = next(iter(result["methods"].values()))
    answerable, unanswerable = first.get("answerable"), first.get("unanswerable")
    split = (f" ({answerable} answerable, {unanswerable} unanswerable)"
             if answerable is not None and unanswerable is not None else "")
    methods = ", ".join(escape_markdown(m) for m in result["methods"])
    return (f"**{result['questions']} questions**{split} from {escape_markdown(source)}, "
            f"asked with {methods}. Shipped method: **{escape_markdown(result.get('system', ''))}** "
            f"(highlighted), with {len(result.get('failures', []))} failures listed below.")


def failures_heading(result: Mapping[str, Any]) -> str:
    return (f"### Failures of {escape_markdown(result.get('system', ''))} "
            f"({len(result.get('failures', []))})")


def error_markdown(message: str) -> str:
    return f'<span class="qa-eval-error">{escape_markdown(message)}</span>'


# ---------------------------------------------------------------- running


def default_questions_path(engine: Any) -> Path | None:
    """``<corpus>/questions.jsonl`` of the engine's settings, when there is one."""
    settings = getattr(engine, "settings", None)
    corpus_dir = getattr(settings, "corpus_dir", None)
    if corpus_dir is None:
        return None
    path = Path(corpus_dir) / QUESTIONS_FILE
    return path if path.is_file() else None


class _CountingEngine:
    """The engine, reporting each question asked (follow-ups ask their history too)."""

    def __init__(self, engine: Any, report: Callable[[str], None]):
        self._engine = engine
        self._report = report

    def ask(self, question: str, history: Any = (), *, method: str = "hybrid", top_k: int | None = None):
        try:
            return self._engine.ask(question, history, method=method, top_k=top_k)
        finally:
            self._report(method)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)


@dataclass(frozen=True)
class EvalRun:
    """An evaluation's result and the questions file it read."""

    result: dict[str, Any]
    source: str


def check_workload(questions: list, name: str) -> int:
    """The questions the engine will be asked for ``questions`` (every method, earlier turns included).

    Raises:
        UsageError: more questions, earlier turns or asks in all than the web page runs, naming the
            limit and `qa eval` for the file.
    """
    if len(questions) > MAX_EVAL_QUESTIONS:
        raise UsageError(f"{name} holds {len(questions)} questions; the web page evaluates at most "
                         f"{MAX_EVAL_QUESTIONS}. Run `qa eval {name}` for larger files.")
    for q in questions:
        if len(q.history) > MAX_EVAL_HISTORY_TURNS:
            raise UsageError(f"{name}: question {q.id!r} has {len(q.history)} earlier turns; the web page takes at "
                             f"most {MAX_EVAL_HISTORY_TURNS}. Run `qa eval {name}` for such files.")
    total = len(EVAL_METHODS) * sum(1 + len(q.history) for q in questions)
    if total > MAX_EVAL_ASKS:
        raise UsageError(f"{name} needs {total} answers ({len(EVAL_METHODS)} methods, earlier turns included); "
                         f"the web page gives at most {MAX_EVAL_ASKS}. Run `qa eval {name}` for larger files.")
    return total


def run_evaluation(engine: Any, path: str | Path, *, name: str | None = None,
                   progress: Callable[[int, int, str], None] | None = None) -> EvalRun:
    """Load a questions file and evaluate the engine on it with bm25, dense and hybrid.

    Args:
        engine: an open ``qa.pipeline.Engine``.
        path: the JSONL questions file.
        name: how to call the file in messages (an upload's own name, not its temp path).
        progress: called with (questions asked, total, method) after each question.

    Returns:
        The ``evaluate`` result and the file's name.

    Raises:
        UsageError: the file is unreadable or malformed, or over a limit of ``check_workload``.
    """
    from qa.evaluate import evaluate
    from qa.testset import load_questions

    path = Path(path)
    name = name or str(path)
    try:
        questions = load_questions(path)
    except UsageError as exc:
        raise UsageError(str(exc).replace(str(path), name)) from None
    total = check_workload(questions, name)
    asked = 0

    def report(method: str) -> None:
        nonlocal asked
        asked += 1
        if progress is not None:
            progress(min(asked, total), total, method)

    counting = _CountingEngine(engine, report)
    result = evaluate(counting, questions, methods=EVAL_METHODS, progress=False)
    return EvalRun(result, name)


ALREADY_RUNNING = ("An evaluation is already running on this server (one runs at a time): "
                   "try again when it has finished.")
LOW_PRIORITY = 19  # the evaluation thread's nice value: the chat's questions come first for the CPU


def _lower_this_thread() -> None:
    """Give the calling thread the lowest CPU priority (Linux: nice applies per thread)."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), LOW_PRIORITY)
    except (AttributeError, OSError):  # not Linux, or not allowed: the run is still one thread
        pass


class EvaluationRunner:
    """Runs one evaluation at a time on its own low-priority thread; refuses others at once.

    The thread is the evaluation's whole budget: one core at most, at the lowest priority, so the
    chat's questions (answered by other threads) are scheduled first whenever both want the CPU.

    Usage example:
        runner = EvaluationRunner(engine)
        run = runner.run(path, name="mine.jsonl", progress=lambda asked, total, method: ...)
    """

    def __init__(self, engine: Any, poll_s: float = 0.2):
        self.engine = engine
        self.poll_s = poll_s
        self._busy = threading.Lock()

    @property
    def running(self) -> bool:
        return self._busy.locked()

    def run(self, path: Path, *, name: str, progress: Callable[[int, int, str], None] | None = None) -> EvalRun:
        """Evaluate ``path`` and wait for the result; progress is reported from the calling thread.

        Raises:
            UsageError: another evaluation is running, or the file is not usable.
        """
        if not self._busy.acquire(blocking=False):
            raise UsageError(ALREADY_RUNNING)
        try:
            state: dict[str, Any] = {"progress": None}

            def work() -> None:
                _lower_this_thread()
                try:
                    state["run"] = run_evaluation(self.engine, path, name=name,
                                                  progress=lambda *p: state.__setitem__("progress", p))
                except BaseException as exc:  # handed to the waiting thread
                    state["error"] = exc

            log.info("Started evaluation of %s", name)
            worker = threading.Thread(target=work, name="qa-evaluation", daemon=True)
            worker.start()
            shown = None
            while worker.is_alive():
                worker.join(self.poll_s)
                if progress is not None and state["progress"] is not None and state["progress"] != shown:
                    shown = state["progress"]
                    progress(*shown)
            if "error" in state:
                raise state["error"]
            return state["run"]
        finally:
            self._busy.release()


# ---------------------------------------------------------------- the tab


def _styled(headers: list[str], rows: list[list], *, first_numeric: int, highlight: set[int]):
    """A pandas Styler: numbers right-aligned, the shipped method's columns highlighted."""
    import pandas as pd

    frame = pd.DataFrame(rows, columns=headers)

    def style(column: Any) -> list[str]:
        index = headers.index(column.name)
        props = [_NUMBER_CELL] if index >= first_numeric else []
        if index in highlight:
            props.append(_HIGHLIGHT)
        return ["; ".join(props)] * len(column)

    return frame.style.apply(style, axis=0)


def _shipped_columns(headers: list[str], result: Mapping[str, Any]) -> set[int]:
    label = method_label(str(result.get("system")), result.get("system"))
    return {i for i, h in enumerate(headers) if h == label or h.startswith(label + " ")}


def _shown_default(engine: Any) -> str:
    """How the Run button names the corpus's questions file."""
    path = default_questions_path(engine)
    if path is None:
        return f"{QUESTIONS_FILE} in the corpus folder"
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.name


def _outputs_for(run: EvalRun, seconds: float) -> tuple:
    """The tab's outputs for a finished run: status, results shown, summary, tables, plot, failures."""
    import gradio as gr

    from qa.evaluate import recall_plot

    result = run.result
    m_headers, t_headers = metrics_headers(result), by_type_headers(result)
    failures = failures_table(result)
    return (
        f"Finished in {seconds:.1f} s.",
        gr.update(visible=True),
        summary_markdown(result, run.source),
        _styled(m_headers, metrics_table(result), first_numeric=1, highlight=_shipped_columns(m_headers, result)),
        recall_plot(result),
        _styled(t_headers, by_type_table(result), first_numeric=1, highlight=_shipped_columns(t_headers, result)),
        failures_heading(result),
        gr.update(value={"headers": FAILURE_HEADERS, "data": failures}, visible=bool(failures)),
    )


def _failed(message: str) -> tuple:
    import gradio as gr

    return (error_markdown(message), gr.update(visible=False), *(gr.skip() for _ in range(6)))


@dataclass(frozen=True)
class EvalPage:
    """What the Evaluation tab's events run: one method per event.

    Usage example:
        page = EvalPage(engine, UploadStore(), EvaluationRunner(engine))
        status, *_ = page.run_upload(reference)   # the reference POST /gradio_api/upload replied
    """

    engine: Any
    uploads: Any  # qa.web.uploads.UploadStore: the only files an upload event reads
    runner: EvaluationRunner

    def _run(self, path: Path | None, name: str, progress: Any) -> tuple:
        def report(asked: int, total: int, method: str) -> None:
            progress((asked, total), desc=f"Asking with {method}", unit="questions")

        if path is None:
            return _failed(f"There is no {QUESTIONS_FILE} in the corpus folder: upload a questions file.")
        started = time.monotonic()
        try:
            progress(0, desc="Loading the questions")
            evaluated = self.runner.run(path, name=name, progress=report)
            return _outputs_for(evaluated, time.monotonic() - started)
        except QAError as exc:
            return _failed(str(exc))
        except Exception:
            log.exception("evaluation failed")
            return _failed("The evaluation failed; the details are in the server log.")

    def run_default(self, progress: Any) -> tuple:
        return self._run(default_questions_path(self.engine), _shown_default(self.engine), progress)

    def run_upload(self, reference: Any, progress: Any) -> tuple:
        if not reference or not isinstance(reference, str):
            return _failed("No file was uploaded.")
        if reference.startswith("!"):  # the upload route's refusal, as UPLOAD_JS received it
            return _failed(reference[1:])
        try:
            path = self.uploads.claim(reference)  # a plain string: only an upload waiting in this server's store
        except UsageError as exc:
            return _failed(str(exc))
        try:
            if path.suffix.lower() not in UPLOAD_TYPES:
                return _failed(f"{path.name} is not a questions file: upload JSON lines ({', '.join(UPLOAD_TYPES)}).")
            return self._run(path, path.name, progress)
        finally:
            self.uploads.discard(path)  # used once, then gone

    def start(self) -> tuple:
        import gradio as gr

        return ("Running the evaluation…", gr.update(interactive=False), gr.update(interactive=False))

    def finish(self) -> tuple:
        import gradio as gr

        return (gr.update(interactive=default_questions_path(self.engine) is not None), gr.update(interactive=True))


def _with_progress(page: EvalPage) -> tuple:
    """The two run events as Gradio wants them: it injects progress into a parameter whose default is
    a gr.Progress (gradio is imported inside functions only)."""
    import gradio as gr

    def run_default(progress=gr.Progress()) -> tuple:  # noqa: B008 (how Gradio injects progress)
        return page.run_default(progress)

    def run_upload(reference: Any, progress=gr.Progress()) -> tuple:  # noqa: B008
        return page.run_upload(reference, progress)

    return run_default, run_upload


def _results() -> dict[str, Any]:
    """The results column (hidden until a run finishes), by name."""
    import gradio as gr

    c: dict[str, Any] = {}
    with gr.Column(visible=False, elem_id="qa-eval-results") as c["results"]:
        c["summary"] = gr.Markdown(elem_id="qa-eval-summary", latex_delimiters=[])
        gr.Markdown("### Metrics per method")
        c["metrics"] = gr.Dataframe(elem_id="qa-eval-metrics", interactive=False, show_label=False,
                                    max_height=820, buttons=["copy"], latex_delimiters=[])
        gr.Markdown("### Recall@k")
        c["plot"] = gr.Plot(elem_id="qa-eval-plot", show_label=False, format="png")
        gr.Markdown("### By question type")
        c["by_type"] = gr.Dataframe(elem_id="qa-eval-by-type", interactive=False, show_label=False,
                                    max_height=520, wrap=True, buttons=["copy"], latex_delimiters=[])
        gr.Markdown("For unanswerable questions answer@1 is the share abstained on.", elem_classes=["qa-eval-note"])
        c["failures_title"] = gr.Markdown(elem_id="qa-eval-failures-title", latex_delimiters=[])
        c["failures"] = gr.Dataframe(
            headers=FAILURE_HEADERS, elem_id="qa-eval-failures", interactive=False, show_label=False,
            wrap=True, max_height=640, datatype="str", buttons=["copy"], latex_delimiters=[],
            column_widths=["6%", "11%", "23%", "13%", "21%", "13%", "13%"],
        )
    return c


def add_eval_tab(engine: Any, uploads: Any, runner: EvaluationRunner | None = None) -> None:
    """The "Evaluation" tab; call inside ``gr.Tabs()`` of the app's Blocks.

    Args:
        engine: an open ``qa.pipeline.Engine``.
        uploads: the server's ``qa.web.uploads.UploadStore``: the only files an upload event reads.
        runner: runs one evaluation at a time (default: a new one for this tab).

    Usage example:
        with gr.Blocks() as blocks, gr.Tabs():
            add_eval_tab(engine, UploadStore())
    """
    import gradio as gr

    page = EvalPage(engine, uploads, runner or EvaluationRunner(engine))
    run_default, run_upload = _with_progress(page)
    with gr.Tab("Evaluation", id="evaluation", elem_id="qa-eval"):
        gr.HTML(EVAL_STYLE, padding=False, container=False, elem_id="qa-eval-style")
        gr.Markdown(_INTRO.format(methods=", ".join(EVAL_METHODS)), elem_id="qa-eval-intro")
        with gr.Row(elem_id="qa-eval-actions"):
            run_button = gr.Button(f"Run on {_shown_default(engine)}", variant="primary", size="md",
                                   elem_id="qa-eval-run", interactive=default_questions_path(engine) is not None,
                                   scale=0)
            upload = gr.Button("Upload questions file…", variant="secondary", size="md", elem_id="qa-eval-upload",
                               scale=0)
            reference = gr.Textbox(visible=False, elem_id="qa-eval-reference")  # what UPLOAD_JS got back
        gr.Markdown(_UPLOAD_HINT, elem_id="qa-eval-hint")
        status = gr.Markdown("", elem_id="qa-eval-status", min_height=40, latex_delimiters=[])
        c = _results()
    event = dict(
        outputs=[status, c["results"], c["summary"], c["metrics"], c["plot"], c["by_type"], c["failures_title"],
                 c["failures"]],
        # Four may reach the handlers at once so that a second run is refused at once (by the
        # runner, which runs one) instead of waiting in Gradio's queue behind the first.
        api_visibility="private", concurrency_id="evaluation", concurrency_limit=4,
        show_progress="full", show_progress_on=[status],
    )
    buttons = [run_button, upload]
    # Buttons are off while a run goes on, so one page starts one run at a time; a run started from
    # another page meanwhile is refused with ALREADY_RUNNING.
    private = dict(api_visibility="private", queue=False)
    run_button.click(page.start, None, [status, *buttons], **private).then(
        run_default, None, **event).then(page.finish, None, buttons, **private)
    upload.click(None, None, [reference], js=UPLOAD_JS, api_visibility="private").then(
        page.start, None, [status, *buttons], **private).then(
        run_upload, [reference], **event).then(page.finish, None, buttons, **private)
