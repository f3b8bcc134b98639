"""Ride out transient faults: try an operation again, with backoff and jitter, until it
succeeds or the task's `timeout_seconds` is spent.

One mechanism for both backends: the source (Firestore) and the target (MongoDB) each
say which errors are transient and how to describe them (`Backend`), and run their
operations through a `Retrier`. Only operations that are safe to repeat may go through
it: each call site says why its operation is.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import tenacity

log = logging.getLogger(__name__)

T = TypeVar("T")

# The first wait is drawn from [0, FIRST_WAIT_SECONDS], each next one from a range twice
# as long ("full jitter": retrying clients spread out instead of coming back together),
# never longer than MAX_WAIT_SECONDS: a 20 s outage costs at most a few seconds more.
FIRST_WAIT_SECONDS = 0.5
MAX_WAIT_SECONDS = 5.0


def backoff_seconds(attempt: int) -> float:
    """The pause before try `attempt + 1` after `attempt` failed: the schedule the Retrier
    follows, for loops that retry by themselves (a Listen stream opened again)."""
    return random.uniform(0, min(MAX_WAIT_SECONDS, FIRST_WAIT_SECONDS * 2 ** (attempt - 1)))


def faults_note(name: str, count: int) -> str:
    """The summary's note on a collection's `retried_faults`."""
    return (
        f"{name}: rode out {count:,} transient {'fault' if count == 1 else 'faults'} (a closed connection, "
        "no primary, ...) inside its tasks; each is a warning in its task's log"
    )


@dataclass(frozen=True)
class Backend:
    """What a Retrier needs to know of one backend."""

    name: str  # "MongoDB", "Firestore"
    # The fault in plain words ("connection closed by the server") when it is transient,
    # else None: the error is raised at once.
    transient: Callable[[BaseException], str | None]
    # The error raised when faults go on for the whole timeout (message, last fault).
    unavailable: Callable[[str], Exception]


class FaultCount:
    """How many faults were ridden out: the `retried_faults` figure. Shared by the
    threads of one task (a prefetching reader and the writer)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = 0

    def add(self) -> None:
        with self._lock:
            self._count += 1

    @property
    def count(self) -> int:
        with self._lock:
            return self._count


class Retrier:
    """Runs operations of one backend, trying again on transient faults until
    `timeout_seconds` (from the operation's first try) is spent.

    Each fault ridden out is logged once, at warning (the operation, the attempt, the
    wait, the fault in plain words: never a URI or a document), and counted in `faults`.
    When the time is spent, the backend's `unavailable` error is raised, from the last
    fault: the task fails and Airflow's retry takes over.
    """

    def __init__(
        self,
        backend: Backend,
        timeout_seconds: float,
        faults: FaultCount | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.backend = backend
        self.timeout_seconds = timeout_seconds
        self.faults = faults if faults is not None else FaultCount()
        self._sleep = sleep

    def call(self, what: str, operation: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`operation(*args, **kwargs)`, tried again on transient faults. `what` names it
        for the log ("writing a batch of messages")."""
        return self._run(what, lambda: operation(*args, **kwargs))

    def resume(self, what: str, fault: BaseException, operation: Callable[[], T]) -> T:
        """Go on after `fault`, which a long operation (a cursor walked document by
        document) met part-way: raise it if it is not transient, else wait and run
        `operation` (which picks up where the first one stopped) as a retry of it."""
        pending = [fault]

        def attempt() -> T:
            if pending:
                raise pending.pop()
            return operation()

        return self._run(what, attempt)

    def _run(self, what: str, attempt: Callable[[], T]) -> T:
        backoff = tenacity.wait_random_exponential(multiplier=FIRST_WAIT_SECONDS, max=MAX_WAIT_SECONDS)

        def wait(state: tenacity.RetryCallState) -> float:
            # The last wait ends at the deadline, where one more try is made: the task gives
            # up only when the whole timeout is spent, not a wait's length before it.
            return min(backoff(state), max(0.0, self.timeout_seconds - (state.seconds_since_start or 0.0)))

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception(lambda error: self.backend.transient(error) is not None),
            stop=tenacity.stop_after_delay(self.timeout_seconds),
            wait=wait,
            before_sleep=lambda state: self._note(what, state),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            return retrying(attempt)
        except Exception as error:
            reason = self.backend.transient(error)
            if reason is None:
                raise
            attempts = retrying.statistics.get("attempt_number", 1)
            raise self.backend.unavailable(
                f"{self.backend.name} {what}: {reason}; gave up after {attempts} "
                f"{'try' if attempts == 1 else 'tries'} (timeout_seconds {self.timeout_seconds:g})"
            ) from error

    def _note(self, what: str, state: tenacity.RetryCallState) -> None:
        self.faults.add()
        error = state.outcome.exception() if state.outcome is not None else None
        reason = self.backend.transient(error) if error is not None else "fault"
        log.warning(
            "%s %s: %s (try %d); trying again in %.1f s",
            self.backend.name,
            what,
            reason,
            state.attempt_number,
            state.upcoming_sleep,
        )
