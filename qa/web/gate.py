"""The engine as the web layer shares it: a bounded pool answering QA_CONCURRENCY questions at once
with a bounded wait, and a background thread that swaps in a newer index (never blocking a question)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

from qa.errors import QAError
from qa.web.limits import RELOAD_INTERVAL_S

log = logging.getLogger(__name__)

BUSY_RETRY_AFTER_S = 1  # what a refused caller is told to wait


class WebIndex(Protocol):
    """What the web layer reads of the index in use (``qa.index.backend.Store`` is one)."""

    path: Path  # the generation's folder
    manifest: dict

    def entries(self) -> tuple: ...  # ArticleEntry per live article, no text read
    def publishers(self) -> list[str]: ...


class WebEngine(Protocol):
    """What the web layer needs from the engine: ``qa.pipeline.Engine`` is one.

    Usage example:
        def build_app(engine: WebEngine, ...): ...
    """

    settings: Any  # qa.config.Settings: where the index lives (the reload check)

    @property
    def index(self) -> WebIndex: ...
    @property
    def articles(self) -> Mapping[str, Any]: ...  # qa.types.Article by id

    def ask(self, question: str, history: Iterable = (), *, method: str = "hybrid", top_k: int | None = None,
            filter: Any = None) -> Any: ...  # qa.types.Answer
    def reload(self) -> list[str]: ...
    def warm_up(self) -> None: ...


class Busy(QAError):
    """Every answer slot and every waiting place is taken: try again shortly (HTTP 503)."""

    def __init__(self, waiting: int):
        super().__init__(f"the server is answering as many questions as it can ({waiting} waiting): "
                         f"try again in {BUSY_RETRY_AFTER_S} s.")


class EngineGate:
    """Every question of the chat and of /api/ goes through here.

    ``concurrency`` worker threads answer (QA_CONCURRENCY); at most ``max_waiting`` more questions
    wait for one. Beyond that ``submit`` raises ``Busy`` at once instead of letting the wait grow.
    The engine is thread-safe and takes one index snapshot per question, so a reload needs no slot.

    Usage example:
        gate = EngineGate(engine, concurrency=2, max_waiting=32)
        answer = gate.ask("Who led the inspection?", [])        # blocking, Answer.to_dict()
        future = gate.submit(engine.ask, "Who led it?")          # from async code: asyncio.wrap_future
    """

    def __init__(self, engine: WebEngine, concurrency: int = 1, max_waiting: int = 32):
        self.engine = engine
        self.concurrency = concurrency
        self.max_waiting = max_waiting
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="qa-answer")
        self._lock = threading.Lock()
        self._admitted = 0  # answering + waiting

    @property
    def admitted(self) -> int:
        """Questions being answered or waiting now."""
        return self._admitted

    @property
    def full(self) -> bool:
        return self._admitted >= self.concurrency + self.max_waiting

    def _release(self, _: Future) -> None:
        with self._lock:
            self._admitted -= 1

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        """Run ``fn(*args, **kwargs)`` on an answer thread.

        Raises:
            Busy: the pool and its wait queue are full.
        """
        with self._lock:
            if self._admitted >= self.concurrency + self.max_waiting:
                raise Busy(self._admitted - self.concurrency)
            self._admitted += 1
        try:
            future = self._pool.submit(fn, *args, **kwargs)
        except BaseException:
            with self._lock:
                self._admitted -= 1
            raise
        future.add_done_callback(self._release)
        return future

    def ask(self, question: str, history: list[dict[str, str]], *, method: str = "hybrid",
            top_k: int | None = None, filter: dict | None = None) -> dict[str, Any]:
        """The answer as ``Answer.to_dict()``, waiting for a worker (for Gradio's handler threads).

        Raises:
            Busy: see ``submit``; QAError: from the engine.
        """
        return self.submit(self._answer, question, history, method, top_k, filter).result()

    def _answer(self, question: str, history: list[dict[str, str]], method: str, top_k: int | None,
                filter: dict | None = None) -> dict:
        extra = {"filter": filter} if filter else {}
        if method == "hybrid" and top_k is None:
            return self.engine.ask(question, history=history, **extra).to_dict()
        return self.engine.ask(question, history=history, method=method, top_k=top_k, **extra).to_dict()

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


class ReloadWatcher:
    """Checks every ``interval`` seconds, on its own thread, whether ``qa index`` published a newer
    index generation (index/CURRENT names another folder) and swaps it into the engine.

    Questions keep being answered meanwhile: ``Engine.reload`` loads the new generation beside the
    loaded one and replaces it in one step, and each question reads one snapshot.
    """

    def __init__(self, engine: WebEngine, interval: float = RELOAD_INTERVAL_S,
                 on_reload: Callable[[], None] | None = None):
        self.engine = engine
        self.interval = max(0.05, float(interval))
        self.on_reload = on_reload
        self.newer_on_disk = False
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _on_disk(self) -> Path | None:
        from qa.index import current_dir

        return current_dir(self.engine.settings.index_dir)

    def newer_index_on_disk(self) -> bool:
        """True when CURRENT names another generation than the one loaded (one small file read)."""
        index = getattr(self.engine, "index", None)
        if getattr(self.engine, "settings", None) is None or getattr(index, "path", None) is None:
            return False
        try:
            on_disk = self._on_disk()
        except QAError as exc:
            self._warn(str(exc))
            return False
        return on_disk is not None and Path(on_disk).resolve() != Path(index.path).resolve()

    def _warn(self, message: str) -> None:
        if message != self.last_error:
            self.last_error = message
            log.warning("index not reloaded: %s", message)

    def check(self) -> list[str]:
        """One check; returns what the reload changed ([] when nothing was newer)."""
        measurable = getattr(self.engine, "settings", None) is not None and \
            getattr(getattr(self.engine, "index", None), "path", None) is not None
        self.newer_on_disk = self.newer_index_on_disk()
        if measurable and not self.newer_on_disk:
            return []
        try:
            reasons = self.engine.reload()
        except QAError as exc:  # e.g. a newer manifest naming damaged files: keep the loaded index
            self._warn(str(exc))
            return []
        if reasons and any(r.startswith("kept the index in memory") for r in reasons):
            self._warn("; ".join(reasons))
            return reasons
        if reasons:
            self.last_error = None
            self.newer_on_disk = self.newer_index_on_disk()
            log.info("index reloaded: %s", "; ".join(reasons))
            if self.on_reload is not None:
                self.on_reload()
        return reasons

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.check()
            except Exception:  # never let the watcher die: the next check may succeed
                log.exception("index check failed")

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="qa-reload", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
