"""The engine as the web layer shares it: at most QA_CONCURRENCY questions at once, and index reloads."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from qa.errors import QAError
from qa.web.limits import RELOAD_INTERVAL_S

log = logging.getLogger(__name__)


class EngineGate:
    """Lets ``concurrency`` questions at a time reach the engine and re-reads the index when it
    changed; a reload waits until no question is being answered."""

    def __init__(self, engine: Any, reload_interval: float = RELOAD_INTERVAL_S, concurrency: int = 1):
        self.engine = engine
        self.reload_interval = reload_interval
        self.concurrency = concurrency
        self._slots = threading.BoundedSemaphore(concurrency)
        self._reload_lock = threading.Lock()
        self._checked = time.monotonic()

    def _maybe_reload(self) -> None:
        if not hasattr(self.engine, "reload") or time.monotonic() - self._checked < self.reload_interval:
            return
        with self._reload_lock:
            if time.monotonic() - self._checked < self.reload_interval:
                return
            self._checked = time.monotonic()
            for _ in range(self.concurrency):  # all slots: no question sees half a swap
                self._slots.acquire()
            try:
                reasons = self.engine.reload()
            except QAError as exc:  # e.g. an index being rebuilt: keep answering from the loaded one
                log.warning("index not reloaded: %s", exc)
                return
            finally:
                for _ in range(self.concurrency):
                    self._slots.release()
        if reasons:
            log.info("index check: %s", "; ".join(reasons))

    def ask(self, question: str, history: list[dict[str, str]]) -> dict[str, Any]:
        self._maybe_reload()
        with self._slots:
            return self.engine.ask(question, history=history).to_dict()
