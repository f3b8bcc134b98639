"""Log a long task's progress at a steady pace: every N documents or every T seconds.

Inside `heartbeat()`, a timer thread also logs every T seconds when nothing else did, so a
page that takes minutes to read or write never leaves the log silent.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator

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
        self._count = 0
        # Where the read stands: the last document read (the next page starts after it).
        self._position: str | None = None
        self._lock = threading.Lock()

    def elapsed(self) -> float:
        return self.clock() - self.started

    def update(self, count: int, position: str | None = None) -> None:
        """Log when `count` has grown by the step, or time has run by the interval."""
        with self._lock:
            self._count = count
            if position is not None:
                self._position = position
            now = self.clock()
            if (
                count - self._last_count >= self.every_documents
                or now - self._last_time >= self.every_seconds
            ):
                self._emit(count, now)

    def done(self, count: int) -> None:
        with self._lock:
            self._emit(count, self.clock(), final=True)

    def beat(self) -> None:
        """What the timer does: log unless a line went out within the interval."""
        with self._lock:
            now = self.clock()
            if now - self._last_time >= self.every_seconds:
                self._emit(self._count, now)

    @contextlib.contextmanager
    def heartbeat(self) -> Iterator[ProgressLog]:
        """A timer that calls beat() every interval until the block ends."""
        stop = threading.Event()

        def run() -> None:
            while not stop.wait(self.every_seconds):
                self.beat()

        timer = threading.Thread(target=run, name=f"progress-{self.label}", daemon=True)
        timer.start()
        try:
            yield self
        finally:
            stop.set()
            timer.join()

    def _emit(self, count: int, now: float, final: bool = False) -> None:
        elapsed = now - self.started
        rate = count / elapsed if elapsed > 0 else 0.0
        where = f", the next page after {self._position}" if self._position and not final else ""
        self.log.info(
            "%s: %s %d documents read, %.1f docs/s, %.1f s elapsed%s",
            self.label,
            "done," if final else "progress,",
            count,
            rate,
            elapsed,
            where,
        )
        self._last_time, self._last_count = now, count
