"""include.firestore_to_mongo.util.retry: the one way the project rides out transient faults."""

from __future__ import annotations

import logging

import pytest

from include.firestore_to_mongo.util.retry import (
    FIRST_WAIT_SECONDS,
    MAX_WAIT_SECONDS,
    Backend,
    FaultCount,
    Retrier,
    backoff_seconds,
    faults_note,
)


class TransientError(Exception):
    pass


class PermanentError(Exception):
    pass


class UnavailableError(RuntimeError):
    pass


BACKEND = Backend(
    "Store",
    lambda error: "connection closed" if isinstance(error, TransientError) else None,
    UnavailableError,
)


def failing(*errors: Exception, result: str = "done"):
    """An operation that raises `errors` one per call, then returns `result`."""
    pending = list(errors)
    calls = []

    def operation(*args, **kwargs):
        calls.append((args, kwargs))
        if pending:
            raise pending.pop(0)
        return result

    return operation, calls


def retrier(timeout: float = 60.0) -> tuple[Retrier, list[float]]:
    waits: list[float] = []
    return Retrier(BACKEND, timeout, sleep=waits.append), waits


@pytest.mark.parametrize("faults", [0, 1, 3, 6])
def test_transient_faults_are_tried_again_until_the_operation_succeeds(faults: int, caplog) -> None:
    caplog.set_level(logging.WARNING)
    subject, waits = retrier()
    operation, calls = failing(*(TransientError() for _ in range(faults)))
    assert subject.call("writing a batch", operation, 1, key="k") == "done"
    assert len(calls) == faults + 1
    assert all(call == ((1,), {"key": "k"}) for call in calls)
    assert subject.faults.count == faults
    # Full jitter, growing: the n-th wait lies in [0, min(MAX, FIRST * 2**(n-1))].
    assert len(waits) == faults
    for attempt, wait in enumerate(waits, start=1):
        assert 0 <= wait <= min(MAX_WAIT_SECONDS, FIRST_WAIT_SECONDS * 2 ** (attempt - 1))
    # Logged once per fault, at warning: the operation, the fault, the try and the wait.
    messages = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert len(messages) == faults
    for attempt, (message, wait) in enumerate(zip(messages, waits, strict=True), start=1):
        assert (
            message
            == f"Store writing a batch: connection closed (try {attempt}); trying again in {wait:.1f} s"
        )


def test_an_error_that_is_not_transient_is_raised_at_once() -> None:
    subject, waits = retrier()
    operation, calls = failing(PermanentError("bad query"))
    with pytest.raises(PermanentError, match="bad query"):
        subject.call("reading", operation)
    assert (len(calls), waits, subject.faults.count) == (1, [], 0)


def test_a_transient_fault_then_a_permanent_one_raises_the_permanent_one() -> None:
    subject, _ = retrier()
    operation, calls = failing(TransientError(), PermanentError("auth failed"))
    with pytest.raises(PermanentError, match="auth failed"):
        subject.call("reading", operation)
    assert (len(calls), subject.faults.count) == (2, 1)


def test_when_the_timeout_is_spent_the_backends_error_says_what_and_why() -> None:
    # A timeout of 0: no wait fits in it, so the first fault is the last.
    subject, waits = retrier(timeout=0)
    operation, calls = failing(TransientError("peer closed"))
    with pytest.raises(UnavailableError) as raised:
        subject.call("writing a batch of messages", operation)
    assert str(raised.value) == (
        "Store writing a batch of messages: connection closed; gave up after 1 try (timeout_seconds 0)"
    )
    assert isinstance(raised.value.__cause__, TransientError)
    assert (len(calls), waits) == (1, [])


def test_resume_goes_on_after_a_fault_met_part_way() -> None:
    subject, waits = retrier()
    operation, calls = failing(TransientError(), result="rest")
    assert subject.resume("walking a cursor", TransientError(), operation) == "rest"
    # The fault it was given and the one the first resumption met: two waits, two faults.
    assert (len(calls), len(waits), subject.faults.count) == (2, 2, 2)


def test_resume_raises_a_fault_that_is_not_transient_without_trying() -> None:
    subject, _ = retrier()
    operation, calls = failing()
    with pytest.raises(PermanentError):
        subject.resume("walking a cursor", PermanentError(), operation)
    assert calls == []


def test_retriers_can_share_one_count() -> None:
    shared = FaultCount()
    for _ in range(2):
        operation, _ = failing(TransientError())
        Retrier(BACKEND, 60, shared, sleep=lambda _: None).call("x", operation)
    assert shared.count == 2


@pytest.mark.parametrize("attempt", [1, 2, 3, 5, 10, 30])
def test_backoff_seconds_follows_the_retriers_schedule(attempt: int) -> None:
    bound = min(MAX_WAIT_SECONDS, FIRST_WAIT_SECONDS * 2 ** (attempt - 1))
    assert all(0 <= backoff_seconds(attempt) <= bound for _ in range(200))


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        (1, "users: rode out 1 transient fault (a closed connection, no primary, ...) inside its tasks"),
        (
            1200,
            "users: rode out 1,200 transient faults (a closed connection, no primary, ...) inside its tasks",
        ),
    ],
)
def test_the_summary_note(count: int, expected: str) -> None:
    assert faults_note("users", count).startswith(expected)
