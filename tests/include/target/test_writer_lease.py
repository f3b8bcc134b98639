"""include.firestore_to_mongo.target.writer_lease: capture and the runs take turns writing.
On the Mongo test server (or TEST_MONGODB_URI), with a clock the test moves, never waits on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from include.firestore_to_mongo.target.writer_lease import (
    WANT_SECONDS,
    CaptureLease,
    LostTurnError,
    TicketedWriter,
    TurnTimeoutError,
    WriterTicket,
    WriterTurns,
)

pytestmark = pytest.mark.integration


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def capture(mongo_db, clock, holder="capture/run-1") -> CaptureLease:
    return CaptureLease(WriterTurns(mongo_db, clock), holder, seconds=60)


def ticket(mongo_db, clock, wait_seconds=0.0, sleeps=None) -> WriterTicket:
    def sleep(seconds: float) -> None:
        # The run's wait, without waiting: the test's clock moves instead.
        if sleeps is not None:
            sleeps.append(seconds)
        clock.advance(seconds)

    return WriterTicket(
        mongo_db, "run/users", hold_seconds=120, wait_seconds=wait_seconds, clock=clock, sleep=sleep
    )


def test_capture_takes_the_lease_when_nobody_writes_and_renews_it(mongo_db, clock):
    lease = capture(mongo_db, clock)
    assert lease.acquire()
    clock.advance(50)
    assert lease.renew()
    clock.advance(50)  # 100 s after taking it, 50 after renewing: still held
    assert lease.renew()


def test_a_run_gets_no_ticket_while_capture_holds_the_lease_and_asks_it_to_yield(mongo_db, clock):
    lease = capture(mongo_db, clock)
    assert lease.acquire()
    with pytest.raises(TurnTimeoutError, match="did not hand over"), ticket(mongo_db, clock, wait_seconds=0):
        pass
    # Asked to yield: capture's renewal says so (the lease still holds for the batch in hand).
    assert lease.renew() is False
    lease.release()
    # The run gave up; its request keeps capture away a little longer, then lapses.
    assert capture(mongo_db, clock).acquire() is False
    clock.advance(WANT_SECONDS + 1)
    assert lease.acquire()
    lease.release()
    with ticket(mongo_db, clock) as held:
        held.renew()
        # While the run holds a ticket, capture can't take the lease back.
        assert capture(mongo_db, clock).acquire() is False
    # The run is done: capture takes the lease back at once.
    assert capture(mongo_db, clock).acquire()


def test_a_lapsed_capture_lease_can_no_longer_write_and_a_run_takes_its_turn(mongo_db, clock):
    lease = capture(mongo_db, clock)
    assert lease.acquire()
    clock.advance(61)  # the capture process stalled (or was killed) past its lease
    with ticket(mongo_db, clock), pytest.raises(LostTurnError):
        lease.renew()


def test_a_lapsed_ticket_can_no_longer_write_and_capture_takes_the_lease(mongo_db, clock):
    with ticket(mongo_db, clock) as held:
        clock.advance(121)  # the run stalled (or was killed) past its ticket
        assert capture(mongo_db, clock).acquire()
        with pytest.raises(LostTurnError):
            held.renew()


def test_a_second_capture_gets_no_lease_while_the_first_holds_it(mongo_db, clock):
    assert capture(mongo_db, clock, "capture/run-1").acquire()
    assert capture(mongo_db, clock, "capture/run-2").acquire() is False
    clock.advance(61)  # the first one is gone: its lease lapsed
    assert capture(mongo_db, clock, "capture/run-2").acquire()


def test_a_run_waits_for_capture_to_yield(mongo_db, clock):
    lease = capture(mongo_db, clock)
    assert lease.acquire()
    sleeps: list[float] = []
    # Capture never renews: after its lease lapses (60 s), the run's turn comes.
    with ticket(mongo_db, clock, wait_seconds=300, sleeps=sleeps) as held:
        held.renew()
    assert 60 <= len(sleeps) <= 62


def test_tickets_of_several_runs_hold_together_and_each_leaves_alone(mongo_db, clock):
    first, second = ticket(mongo_db, clock), ticket(mongo_db, clock)
    with first, second:
        first.renew()
        second.renew()
        assert set(WriterTurns(mongo_db, clock).live_tickets(WriterTurns(mongo_db, clock).read())) == {
            first.id,
            second.id,
        }
    assert WriterTurns(mongo_db, clock).read()["tickets"] == {}


def test_a_ticketed_writer_renews_before_every_write_and_stops_once_its_turn_lapsed(mongo_db, clock):
    class Writer:
        def __init__(self) -> None:
            self.batches = []

        def prepare(self) -> None:
            pass

        def write(self, documents):
            self.batches.append(documents)

    inner = Writer()
    with ticket(mongo_db, clock) as held:
        writer = TicketedWriter(inner, held)
        writer.write(["a"])
        clock.advance(100)
        writer.write(["b"])  # renewed before: 100 s after the first renewal, still held
        clock.advance(121)
        with pytest.raises(LostTurnError):
            writer.write(["c"])
    assert inner.batches == [["a"], ["b"]]
