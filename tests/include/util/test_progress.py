"""Unit tests for include.firestore_to_mongo.util.progress: progress lines every N documents or T seconds."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from include.firestore_to_mongo.util.progress import EVERY_DOCUMENTS, EVERY_SECONDS, ProgressLog


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class RecordingLog:
    """Stands in for a logging.Logger; keeps each formatted info line.

    `enough` is set once `enough_lines` lines have arrived, so a test can wait for them
    instead of sleeping for a time it hopes is long enough.
    """

    def __init__(self, enough_lines: int = 1) -> None:
        self.lines: list[str] = []
        self.enough_lines = enough_lines
        self.enough = threading.Event()

    def info(self, message: str, *args: object) -> None:
        self.lines.append(message % args)
        if len(self.lines) >= self.enough_lines:
            self.enough.set()


def make_progress(
    every_documents: int = 10, every_seconds: float = 5.0
) -> tuple[ProgressLog, FakeClock, RecordingLog]:
    clock, log = FakeClock(), RecordingLog()
    progress = ProgressLog(
        "users", log, every_documents=every_documents, every_seconds=every_seconds, clock=clock
    )
    return progress, clock, log


def test_defaults() -> None:
    assert (EVERY_DOCUMENTS, EVERY_SECONDS) == (5_000, 30.0)
    progress = ProgressLog("users", logging.getLogger("test"))
    assert (progress.every_documents, progress.every_seconds) == (5_000, 30.0)


@pytest.mark.parametrize(
    ("updates", "expected_counts"),
    [
        # (seconds since start, count) per update → the counts that were logged
        pytest.param([(1, 5), (2, 9)], [], id="below-both-steps"),
        pytest.param([(1, 10)], [10], id="count-step-reached-exactly"),
        pytest.param([(1, 5), (2, 10), (3, 15), (4, 19), (4.5, 20)], [10, 20], id="every-10-documents"),
        pytest.param([(1, 25), (2, 34), (3, 35)], [25, 35], id="step-counts-from-last-logged"),
        pytest.param([(5, 1)], [1], id="time-step-reached-exactly"),
        pytest.param([(4.99, 1)], [], id="just-below-time-step"),
        pytest.param([(5, 1), (9, 2), (10, 3)], [1, 3], id="time-step-counts-from-last-log"),
        pytest.param([(1, 10), (5.5, 11), (6, 12)], [10, 12], id="count-log-resets-timer"),
        pytest.param([(6, 3), (7, 12), (8, 13)], [3, 13], id="time-log-resets-count"),
        pytest.param([(1, 0), (2, 0)], [], id="no-progress"),
        pytest.param([(100, 0)], [0], id="time-step-with-no-documents"),
    ],
)
def test_update_logs_on_count_or_time_step(
    updates: list[tuple[float, int]], expected_counts: list[int]
) -> None:
    progress, clock, log = make_progress()
    start = clock.now
    for offset, count in updates:
        clock.now = start + offset
        progress.update(count)
    assert [int(line.split(" progress, ")[1].split()[0]) for line in log.lines] == expected_counts


@pytest.mark.parametrize(
    ("seconds", "count", "expected"),
    [
        pytest.param(2.0, 10, "users: progress, 10 documents read, 5.0 docs/s, 2.0 s elapsed", id="rate"),
        pytest.param(
            3.0, 10, "users: progress, 10 documents read, 3.3 docs/s, 3.0 s elapsed", id="rate-rounded"
        ),
    ],
)
def test_progress_line(seconds: float, count: int, expected: str) -> None:
    progress, clock, log = make_progress()
    clock.now += seconds
    progress.update(count)
    assert log.lines == [expected]


@pytest.mark.parametrize(
    ("seconds", "count", "expected"),
    [
        pytest.param(4.0, 10, "users: done, 10 documents read, 2.5 docs/s, 4.0 s elapsed", id="rate"),
        pytest.param(
            0.0, 3, "users: done, 3 documents read, 0.0 docs/s, 0.0 s elapsed", id="no-time-no-rate"
        ),
        pytest.param(2.0, 0, "users: done, 0 documents read, 0.0 docs/s, 2.0 s elapsed", id="nothing-read"),
    ],
)
def test_done_always_logs(seconds: float, count: int, expected: str) -> None:
    progress, clock, log = make_progress()
    clock.now += seconds
    progress.done(count)
    assert log.lines == [expected]


def test_elapsed_follows_clock() -> None:
    progress, clock, _ = make_progress()
    assert progress.elapsed() == 0.0
    clock.now += 12.5
    assert progress.elapsed() == 12.5


def test_logs_to_a_real_logger(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    progress = ProgressLog("messages", logging.getLogger("ftm.test"), every_documents=1, clock=clock)
    clock.now += 1.0
    with caplog.at_level(logging.INFO, logger="ftm.test"):
        progress.update(1)
    assert caplog.messages == ["messages: progress, 1 documents read, 1.0 docs/s, 1.0 s elapsed"]


# --- the timer ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("since_last_line", "logged"),
    [(4.9, False), (5.0, True), (300.0, True)],
)
def test_a_beat_logs_only_when_the_interval_passed_without_a_line(
    since_last_line: float, logged: bool
) -> None:
    progress, clock, log = make_progress()
    progress.update(3, "users/u3")
    clock.now += since_last_line

    progress.beat()

    assert log.lines == (
        [
            f"users: progress, 3 documents read, {3 / since_last_line:.1f} docs/s, {since_last_line:.1f} s elapsed, the next page after users/u3"
        ]
        if logged
        else []
    )


def test_the_heartbeat_logs_while_one_page_takes_longer_than_the_interval() -> None:
    """A real timer and a real clock: a page that blocks past several intervals still gets lines."""
    log = RecordingLog(enough_lines=4)
    progress = ProgressLog("messages", log, every_seconds=0.05)
    progress.update(1_000, "digital_twins/t/conversations/c/messages/m")
    with progress.heartbeat():
        # One slow page: it lasts until the timer has logged four lines. The timeout is
        # only a guard against hanging, not a guess at how fast the timer runs.
        assert log.enough.wait(timeout=10)
    assert len(log.lines) >= 4
    assert all("1000 documents read" in line and line.endswith("messages/m") for line in log.lines)


def test_the_heartbeat_stops_with_its_block() -> None:
    """A fake clock that stands still in the block, then jumps: only a timer that outlived
    its block could log, whatever the scheduler did."""
    progress, clock, log = make_progress(every_seconds=0.02)
    with progress.heartbeat():
        pass
    clock.now += 100.0  # many intervals: any beat from here on would log
    time.sleep(0.1)  # time for a timer that was not stopped to tick
    assert log.lines == []
    assert not [thread for thread in threading.enumerate() if thread.name == "progress-users"]
