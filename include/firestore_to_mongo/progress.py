"""Log a long task's progress at a steady pace: every N documents or every T seconds."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

EVERY_DOCUMENTS = 5_000
EVERY_SECONDS = 30.0


class ProgressLog:
    def __init__(
        self,
        label: str,
        log: logging.Logger,
        every_documents: int = EVERY_DOCUMENTS,
        every_seconds: float = EVERY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label = label
        self.log = log
        self.every_documents = every_documents
        self.every_seconds = every_seconds
        self.clock = clock
        self.started = clock()
        self._last_time = self.started
        self._last_count = 0

    def elapsed(self) -> float:
        return self.clock() - self.started

    def update(self, count: int) -> None:
        """Log when `count` has grown by the step, or time has run by the interval."""
        now = self.clock()
        if count - self._last_count >= self.every_documents or now - self._last_time >= self.every_seconds:
            self._emit(count, now)

    def done(self, count: int) -> None:
        self._emit(count, self.clock(), final=True)

    def _emit(self, count: int, now: float, final: bool = False) -> None:
        elapsed = now - self.started
        rate = count / elapsed if elapsed > 0 else 0.0
        self.log.info(
            "%s: %s %d documents read, %.1f docs/s, %.1f s elapsed",
            self.label,
            "done," if final else "progress,",
            count,
            rate,
            elapsed,
        )
        self._last_time, self._last_count = now, count
