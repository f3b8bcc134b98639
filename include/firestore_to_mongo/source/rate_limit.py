"""Keep Firestore reads under a rate that ramps up the way Firestore asks new traffic to.

Firestore's guidance for new traffic: start at no more than 500 operations per
second and grow by at most 50% every 5 minutes (the "500/50/5" rule).
"""

from __future__ import annotations

import time
from collections.abc import Callable

START_RATE = 500.0
GROWTH = 1.5
GROWTH_EVERY_SECONDS = 300.0


class ReadRateLimiter:
    """Allow `documents` reads at a time, sleeping to stay under the ramped rate.

    `share` is this reader's part of the run's budget (1/partitions), so that
    partitions running side by side together stay under `max_per_second`.
    """

    def __init__(
        self,
        max_per_second: float,
        share: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.max_per_second = max_per_second
        self.share = share
        self.clock = clock
        self.sleep = sleep
        self.started = clock()
        self.allowed_so_far = 0.0

    def rate_at(self, elapsed: float) -> float:
        """The run's allowed reads per second after `elapsed` seconds."""
        ramped = START_RATE * GROWTH ** int(elapsed // GROWTH_EVERY_SECONDS)
        return min(self.max_per_second, ramped)

    def acquire(self, documents: int) -> None:
        """Wait until `documents` more reads fit under the ramp, then count them."""
        self.allowed_so_far += documents
        while True:
            elapsed = self.clock() - self.started
            budget = self._budget(elapsed)
            if self.allowed_so_far <= budget:
                return
            rate = self.rate_at(elapsed) * self.share
            self.sleep(min((self.allowed_so_far - budget) / rate, 1.0))

    def _budget(self, elapsed: float) -> float:
        """Reads allowed in `elapsed` seconds: the integral of the stepped rate."""
        budget, start = 0.0, 0.0
        while start < elapsed:
            end = min(elapsed, start + GROWTH_EVERY_SECONDS)
            budget += self.rate_at(start) * self.share * (end - start)
            start = end
        return budget


def read_limiter(max_reads_per_second: int | None, partitions: int) -> ReadRateLimiter | None:
    """A reader's limiter: its 1/partitions share of the run's read rate, if one is set."""
    if max_reads_per_second is None:
        return None
    return ReadRateLimiter(max_reads_per_second, share=1 / partitions)
