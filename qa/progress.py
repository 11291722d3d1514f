"""Progress of long work: a tqdm bar on a terminal, a plain line every few seconds otherwise (a log,
CI, `qa index > log`), each with the rate and the time left. Quiet for work done within the first seconds."""

from __future__ import annotations

import sys
import time
from typing import TextIO

LINE_EVERY_S = 5.0
QUIET_FOR_S = 3.0


class Progress:
    """Usage example:
        with Progress(total=len(texts), unit="texts", label="embedding") as bar:
            for batch in batches:
                ...
                bar.update(len(batch))
    """

    def __init__(self, total: int, *, unit: str, label: str, enabled: bool = True, stream: TextIO | None = None,
                 every: float = LINE_EVERY_S, quiet_for: float = QUIET_FOR_S):
        self.total, self.unit, self.label = total, unit, label
        self.stream = stream or sys.stderr
        self.enabled = enabled and total > 0
        self.every, self.quiet_for = every, quiet_for
        self.done = 0
        self.started = self._last = time.monotonic()
        self._bar = None
        if self.enabled and getattr(self.stream, "isatty", lambda: False)():
            from tqdm import tqdm

            self._bar = tqdm(total=total, unit=f" {unit}", desc=label, file=self.stream, delay=quiet_for,
                             dynamic_ncols=True, leave=False)

    def update(self, n: int) -> None:
        self.done += n
        if self._bar is not None:
            self._bar.update(n)
            return
        now = time.monotonic()
        if self.enabled and now - self.started >= self.quiet_for and now - self._last >= self.every:
            self._last = now
            print(self.line(now), file=self.stream, flush=True)

    def line(self, now: float | None = None) -> str:
        elapsed = (now or time.monotonic()) - self.started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        left = (self.total - self.done) / rate if rate > 0 else float("inf")
        eta = "?" if left == float("inf") else time.strftime("%H:%M:%S", time.gmtime(left))
        return (f"{self.label}: {self.done:,}/{self.total:,} {self.unit} ({100 * self.done / self.total:.0f}%, "
                f"{rate:,.1f} {self.unit}/s, {eta} left)")

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
