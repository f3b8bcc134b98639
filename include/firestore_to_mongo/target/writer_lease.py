"""One writer at a time: capture, or the runs and repairs, never both at once.

Capture applies what the Listen stream sends as the current version of each document. A
migration run or a verify repair reads a document and writes it a little later; should
capture apply a newer version in between, the run's write would put the older one back.
So they take turns, through one document in the target database, `{_id: "writers"}` in
`_firestore_to_mongo_writers`:

- capture holds a lease (`capture_until`, renewed before every batch it writes). It can
  take the lease only while no run holds a ticket, and it hands the lease back as soon
  as a run asks for it (`wanted_until`), after writing what it has and checkpointing.
- a run (a partition, a `_done` task, a repair) holds a ticket (`tickets.<id>`) from
  before its first read to after its last write, renewed before every write; it gets
  one only while capture holds no lease, and asks capture to yield until then.

Every change is conditional on the document's `version`, so a decision made on what was
read is never applied over a change someone made since. Whoever fails to renew has lost
its turn and writes nothing more: capture resumes from its checkpoint, a run's task fails
and Airflow retries it. A holder killed outright holds on until its lease or ticket
lapses. Times are the writers' own clocks (keep them in sync, as NTP does).
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from include.firestore_to_mongo.target.capture_state import as_utc

WRITERS = "_firestore_to_mongo_writers"
LEASE_ID = "writers"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# How long a run's request for its turn keeps capture from taking the lease again.
WANT_SECONDS = 15


class LostTurnError(RuntimeError):
    """A writer's lease or ticket lapsed, or was taken: it must not write again."""


class TurnTimeoutError(RuntimeError):
    """A writer waited longer than it may for its turn."""


def _utc(value: datetime | None) -> datetime:
    """A stored time as UTC; never set reads as long past."""
    return as_utc(value) or EPOCH


class WriterTurns:
    """The shared document, read and changed conditionally on its version."""

    def __init__(self, database: Database, clock: Callable[[], datetime] | None = None) -> None:
        self.collection = database[WRITERS]
        self.clock = clock or (lambda: datetime.now(UTC))

    def read(self) -> dict[str, Any]:
        found = self.collection.find_one({"_id": LEASE_ID})
        if found is None:
            with contextlib.suppress(DuplicateKeyError):
                self.collection.insert_one({"_id": LEASE_ID, "version": 0, "tickets": {}})
            found = self.collection.find_one({"_id": LEASE_ID})
        return found

    def change(self, read: dict[str, Any], update: dict[str, Any]) -> bool:
        """Apply `update` only if nobody changed the document since `read`.

        Each change carries an id of its own. The update is retried on transient faults
        (target.retrying); if a try landed but its answer was lost, the retry matches
        nothing (the version moved on), and the id tells that the change is ours. Should
        another change come in between, this one reports False although it landed: the
        caller reads again and decides anew, and at worst a lease runs to its end."""
        change_id = uuid.uuid4().hex
        update = {**update, "$inc": {"version": 1}}
        update["$set"] = {**update.get("$set", {}), "change_id": change_id}
        if self.collection.update_one({"_id": LEASE_ID, "version": read["version"]}, update).modified_count:
            return True
        return self.collection.find_one({"_id": LEASE_ID, "change_id": change_id}, {"_id": 1}) is not None

    def live_tickets(self, found: dict[str, Any]) -> dict[str, datetime]:
        now = self.clock()
        return {
            ticket: _utc(until) for ticket, until in (found.get("tickets") or {}).items() if _utc(until) > now
        }

    def capture_holds(self, found: dict[str, Any]) -> bool:
        return _utc(found.get("capture_until")) > self.clock()


class CaptureLease:
    """Capture's side: `acquire()` (when no run writes), `renew()` before each batch,
    `release()`. `renew()` returns False when a run wants its turn: write nothing more
    after the current batch, checkpoint, release."""

    def __init__(self, turns: WriterTurns, holder: str, seconds: float) -> None:
        self.turns = turns
        self.holder = holder
        self.seconds = seconds

    def acquire(self) -> bool:
        """Take the lease if no run holds a ticket or asked for a turn; False otherwise."""
        while True:
            found = self.turns.read()
            now = self.turns.clock()
            if self.turns.live_tickets(found) or _utc(found.get("wanted_until")) > now:
                return False
            if self.turns.capture_holds(found) and found.get("capture_holder") != self.holder:
                # Another capture (a run Airflow thinks is gone but isn't yet) holds it.
                return False
            update: dict[str, Any] = {
                "$set": {
                    "capture_until": now + timedelta(seconds=self.seconds),
                    "capture_holder": self.holder,
                }
            }
            # What is left are the tickets of runs killed outright, lapsed: tidy them away.
            if lapsed := list(found.get("tickets") or {}):
                update["$unset"] = {
                    f"{name}.{ticket}": "" for ticket in lapsed for name in ("tickets", "holders")
                }
            if self.turns.change(found, update):
                return True

    def renew(self) -> bool:
        """Extend the lease. False: a run wants its turn (the lease still holds until it
        lapses, long enough for the batch in hand). Raises LostTurnError if the lease is
        gone: nothing more may be written."""
        while True:
            found = self.turns.read()
            now = self.turns.clock()
            if found.get("capture_holder") != self.holder or not self.turns.capture_holds(found):
                raise LostTurnError(
                    f"capture's writer lease lapsed or was taken ({found.get('capture_holder')})"
                )
            if _utc(found.get("wanted_until")) > now:
                return False
            update = {"$set": {"capture_until": now + timedelta(seconds=self.seconds)}}
            if self.turns.change(found, update):
                return True

    def release(self) -> None:
        while True:
            found = self.turns.read()
            if found.get("capture_holder") != self.holder:
                return
            if self.turns.change(found, {"$set": {"capture_until": EPOCH, "capture_holder": None}}):
                return


class WriterTicket:
    """A run's side, as a context manager: waits (at most `wait_seconds`) until capture
    has handed its lease back, holds a ticket while inside, and `renew()` before each
    write raises LostTurnError if the ticket lapsed."""

    def __init__(
        self,
        database: Database,
        holder: str,
        hold_seconds: float,
        wait_seconds: float,
        clock: Callable[[], datetime] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        on_wait: Callable[[str], None] | None = None,
    ) -> None:
        self.turns = WriterTurns(database, clock)
        self.holder = holder
        self.id = uuid.uuid4().hex
        self.hold = timedelta(seconds=hold_seconds)
        self.wait_seconds = wait_seconds
        self.sleep = sleep
        self.on_wait = on_wait

    def __enter__(self) -> WriterTicket:
        deadline = time.monotonic() + self.wait_seconds
        while True:
            found = self.turns.read()
            now = self.turns.clock()
            if not self.turns.capture_holds(found):
                # The ticket keeps capture away from here on: the request has done its job.
                update = {
                    "$set": {f"tickets.{self.id}": now + self.hold, f"holders.{self.id}": self.holder},
                    "$unset": {"wanted_until": ""},
                }
                if self.turns.change(found, update):
                    return self
                continue
            # Capture holds the lease: ask it to yield (and not to take it again meanwhile).
            # Asked again every second while waiting; it lapses soon after a run gives up.
            self.turns.change(found, {"$max": {"wanted_until": now + timedelta(seconds=WANT_SECONDS)}})
            if time.monotonic() >= deadline:
                raise TurnTimeoutError(
                    f"{self.holder}: change capture did not hand over its writer lease within "
                    f"{self.wait_seconds:.0f} s (held by {found.get('capture_holder')})"
                )
            if self.on_wait is not None:
                self.on_wait(str(found.get("capture_holder")))
            self.sleep(1.0)

    def renew(self) -> None:
        while True:
            found = self.turns.read()
            now = self.turns.clock()
            until = _utc((found.get("tickets") or {}).get(self.id))
            if until <= now or self.turns.capture_holds(found):
                raise LostTurnError(f"{self.holder}: its writer ticket lapsed; it must not write again")
            if self.turns.change(found, {"$set": {f"tickets.{self.id}": now + self.hold}}):
                return

    def __exit__(self, *exc_info) -> None:
        while True:
            found = self.turns.read()
            if self.id not in (found.get("tickets") or {}):
                return
            if self.turns.change(found, {"$unset": {f"tickets.{self.id}": "", f"holders.{self.id}": ""}}):
                return


class TicketedWriter:
    """A writer that renews its ticket before every write: a run whose turn lapsed writes
    nothing more (its task fails, and its retry takes a new turn)."""

    def __init__(self, writer, ticket: WriterTicket) -> None:
        self.writer = writer
        self.ticket = ticket

    def prepare(self) -> None:
        self.writer.prepare()

    def write(self, documents):
        self.ticket.renew()
        return self.writer.write(documents)

    def __getattr__(self, name: str):
        # Everything else (the comparison, the collection) is the wrapped writer's.
        return getattr(self.writer, name)


@contextlib.contextmanager
def writer_turn(database: Database, holder: str, timeout_seconds: float, log=None):
    """A run's turn to write (a `WriterTicket`), for the length of the `with`: waits until
    change capture, if it runs, has handed its lease back. A ticket outlives a stalled
    page write (three timeouts and a minute) and is renewed before every write."""
    import logging

    logger = log or logging.getLogger(__name__)
    waited = []

    def on_wait(capture: str) -> None:
        if not waited:
            logger.info("%s: waiting for change capture (%s) to hand over its writer lease", holder, capture)
        waited.append(capture)

    ticket = WriterTicket(
        database,
        holder,
        hold_seconds=3 * timeout_seconds + 60,
        wait_seconds=300 + timeout_seconds,
        on_wait=on_wait,
    )
    with ticket:
        yield ticket


def turn_for(writes: bool, database: Database, holder: str, timeout_seconds: float, log=None):
    """`writer_turn` for a task that writes (a repair, say), else nothing to wait for."""
    if not writes:
        return contextlib.nullcontext()
    return writer_turn(database, holder, timeout_seconds, log)


def ticketed(writer, ticket: WriterTicket | None):
    """`writer`, renewing `ticket` before every write when there is one."""
    return writer if ticket is None or writer is None else TicketedWriter(writer, ticket)
