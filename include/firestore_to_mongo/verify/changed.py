"""Verify only what changed: the documents change capture journaled since a time.

`verify_changed` is the whole job for one collection, in one process. The verify DAG's
`<name>` task runs it when `changed_since` is set (the plan makes one partition per
collection), and the cut-over calls it for each collection in a single task.

- The change journal (`target.change_journal`) lists the collection's paths changed
  since then; each one on the migrated paths is read from Firestore by path
  (`get_all`, a batch at a time, under the run's read rate and timeout). No other
  document is read in full: there is no scan of the collection, and no scan of
  MongoDB for extra documents.
- A document that exists is compared by the full verify's `PartitionVerifier`: first
  sight, re-check, repair, records and figures alike. Its key is claimed next to every
  other path change capture knows as live with that key
  (`_firestore_to_mongo_capture_paths`), so a changed document is compared only when
  it wins its key, as the full verify would judge it.
- A path whose document is gone: capture's record of it gives its key. Unless another
  live path claims that key (a changed document read now, or one capture lists as
  live), MongoDB must not hold it; if it does, it is `extra`, re-checked and pruned as
  the full verify's extra documents are (`verifier.judge_extras`).
- Both sides are counted, as depth `counts` does.

The journal vouches only from `journal_since` on (`journal_covers`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from include.firestore_to_mongo.contract.claims import Claim, decode_key
from include.firestore_to_mongo.contract.mapping import encode_key, owns_its_key
from include.firestore_to_mongo.contract.paths import ids_from_path
from include.firestore_to_mongo.contract.specs import SPECS, CollectionSpec
from include.firestore_to_mongo.keys.ledger import LocalKeyLedger
from include.firestore_to_mongo.run.tasks import now_iso, seconds_between
from include.firestore_to_mongo.util.scratch import ScratchSqlite
from include.firestore_to_mongo.verify.errors import JournalGapError
from include.firestore_to_mongo.verify.report import VerifyReport

log = logging.getLogger(__name__)

# The method of the one partition a collection gets in a `changed_since` run.
CHANGED_METHOD = "changed"


def iso(moment: datetime) -> str:
    """A time as the status shows it: ISO 8601 in UTC, `Z`, milliseconds when it has them."""
    moment = moment.astimezone(UTC)
    text = moment.isoformat(timespec="milliseconds" if moment.microsecond else "seconds")
    return text.replace("+00:00", "Z")


def journal_covers(database, since: datetime) -> None:
    """Raise JournalGapError unless change capture's journal is complete since `since`."""
    from include.firestore_to_mongo.target.capture_state import CaptureState

    start = CaptureState(database).journal_since()
    if start is None:
        raise JournalGapError(
            f"changed_since {iso(since)}: change capture has never run against this database, so "
            "no change journal says what changed; run a full verify (changed_since empty)"
        )
    if start > since:
        raise JournalGapError(
            f"changed_since {iso(since)} is before {iso(start)}, the start of the change journal "
            "(capture started then, or retention dropped older entries): changes before it are "
            f"not all journaled; use a time at or after {iso(start)}, or run a full verify"
        )


def run_id_of(run_key: str) -> str:
    """The run id in a run key (`<dag_id>/<run_id>`, `run.tasks.run_key_of`): what the
    findings are stored under, as the DAG's summary reads them."""
    return run_key.partition("/")[2] or run_key


def verify_changed(config, collection: str, since: datetime, run_key: str) -> dict[str, Any]:
    """Verify the documents of `collection` that changed since `since`, and repair (and
    prune) them as `config` (a `VerifyConfig`) asks; return the collection's summary row.

    Raises JournalGapError when the change journal can't vouch for `since`, ValueError
    for a config this mode can't follow (depth `counts`, a sample)."""
    from include.firestore_to_mongo.run.faults import faults_ridden_out
    from include.firestore_to_mongo.source.hook import open_source
    from include.firestore_to_mongo.target.connection import TargetSession
    from include.firestore_to_mongo.target.writer_lease import turn_for

    if config.depth == "counts" or config.sample_size is not None:
        raise ValueError("changed documents are verified at depth keys or full, without a sample")
    spec = SPECS[collection]
    client, _ = open_source(config.firestore_conn_id)
    started, started_at = time.monotonic(), now_iso()
    with TargetSession(config) as target:
        journal_covers(target.database, since)
        # A repair writes what it read: capture, if it runs, hands over meanwhile.
        holder = f"{run_key}/{collection}"
        with turn_for(config.repair, target.database, holder, config.timeout_seconds, log) as ticket:
            report = _verify(spec, config, since, client, target.database, run_id_of(run_key), ticket)
        report.retried_faults = faults_ridden_out(client, target)
    report.seconds = round(time.monotonic() - started, 3)
    report.started_at, report.ended_at = started_at, now_iso()
    report.wall_seconds = seconds_between(report.started_at, report.ended_at)
    report.settle()
    log.info("%s: %s", collection, report.status)
    return report.to_dict()


class Seen(ScratchSqlite):
    """The journaled paths read so far, and whether each one exists, on local disk."""

    def __init__(self) -> None:
        super().__init__("seen", "CREATE TABLE seen (path TEXT PRIMARY KEY, live INTEGER) WITHOUT ROWID")

    def add(self, paths: list[str], live: bool) -> None:
        self.db.executemany(
            "INSERT OR REPLACE INTO seen VALUES (?, ?)", ((path, int(live)) for path in paths)
        )

    def among(self, paths: list[str], live: bool) -> set[str]:
        rows = self.where_in(f"SELECT path FROM seen WHERE live = {int(live)} AND path", paths)
        return {row[0] for row in rows}

    def gone(self, size: int) -> Iterator[list[str]]:
        after = ""
        while rows := self.db.execute(
            "SELECT path FROM seen WHERE live = 0 AND path > ? ORDER BY path LIMIT ?", (after, size)
        ).fetchall():
            yield [row[0] for row in rows]
            after = rows[-1][0]


class CapturedClaims:
    """A claim ledger (`keys.ledger.ClaimLedger`) for the changed documents: their claims
    on local disk, with every other path that change capture lists as live with one of
    their keys (and this run didn't find gone), so the conflict rule sees them all."""

    def __init__(self, spec: CollectionSpec, local: LocalKeyLedger, paths, seen: Seen) -> None:
        self.spec = spec
        self.local = local
        # The capture's per-path versions: {_id: path, collection, key, deleted, ...}.
        self.paths = paths
        self.seen = seen

    def claim(self, claims: list[tuple[str, Claim]]) -> dict[str, list[Claim]]:
        self.local.record(self.live_claims(list({key for key, _ in claims})))
        return self.local.claim(claims)

    def conflicts(self):
        return self.local.conflicts()

    def live_claims(self, keys: list[str]) -> list[tuple[str, Claim]]:
        """(encoded key, claim) of each path capture lists as live with one of `keys`,
        leaving out those this run found gone."""
        found = {
            record["_id"]: record["key"]
            for record in self.paths.find(
                {"collection": self.spec.name, "key": {"$in": keys}, "deleted": {"$ne": True}},
                {"key": 1},
            )
        }
        gone = self.seen.among(list(found), live=False) if found else set()
        return [
            (key, Claim(path, owns_its_key(self.spec, path, decode_key(self.spec, key))))
            for path, key in found.items()
            if path not in gone
        ]


def _verify(
    spec: CollectionSpec, config, since: datetime, client, database, run_id: str, ticket
) -> VerifyReport:
    from include.firestore_to_mongo.keys.conflicts import ConflictGuard, rewrite_winners
    from include.firestore_to_mongo.source.rate_limit import read_limiter
    from include.firestore_to_mongo.source.reader import Page, ReadPosition, count_on_paths
    from include.firestore_to_mongo.target.capture_state import CAPTURE_PATHS
    from include.firestore_to_mongo.target.change_journal import ChangeJournal
    from include.firestore_to_mongo.target.writer import Comparer, UpsertWriter
    from include.firestore_to_mongo.target.writer_lease import ticketed
    from include.firestore_to_mongo.verify.store import DifferenceStore
    from include.firestore_to_mongo.verify.verifier import PartitionVerifier, settle_conflicts

    collection = database[spec.target]
    store = DifferenceStore(database, run_id, spec.name, 0)
    store.prepare()
    # It starts over, the collection's findings so far included: the cut-over runs it
    # without the DAG's plan, and a retry repeats it whole.
    store.clear_run()
    writer = None
    if config.repair:
        writer = ticketed(UpsertWriter(collection, spec), ticket)
        writer.prepare()
    report = VerifyReport(spec.name, spec.target, config.depth, changed_since=iso(since), partitions=1)
    seen, ledger = Seen(), LocalKeyLedger()
    claims = CapturedClaims(spec, ledger, database[CAPTURE_PATHS], seen)
    verifier = PartitionVerifier(
        spec,
        config.depth == "full",
        Comparer(collection, spec),
        ConflictGuard(spec, claims),
        datetime.now(UTC),
        store,
        report,
        writer,
    )
    limiter = read_limiter(config.max_reads_per_second, 1)
    log.info(
        "%s: verifying the documents changed since %s against %s.%s, depth %s%s",
        spec.name,
        iso(since),
        database.name,
        spec.target,
        config.depth,
        " with repair" if config.repair else "",
    )
    try:
        for paths in ChangeJournal(database).changed_paths(spec.name, since, config.batch_size):
            wanted = [path for path in paths if ids_from_path(path, spec.path_shape) is not None]
            report.out_of_scope += len(paths) - len(wanted)
            if not wanted:
                continue
            documents, gone = _read(client, spec, wanted, limiter, config.timeout_seconds)
            seen.add([document.path for document in documents], live=True)
            seen.add(gone, live=False)
            if documents:
                verifier.check_page(Page(documents, 0, ReadPosition(documents[-1].path)))
        verifier.recheck(client, config.batch_size, config.timeout_seconds)
        winners = settle_conflicts(spec, ledger, store, report)
        if writer is not None and winners:
            # Only a changed winner can have been overwritten by a loser judged before it
            # was known; a winner capture listed was known from the start.
            read = seen.among([winner.path for winner in winners], live=True)
            rewrite_winners(
                spec,
                [winner for winner in winners if winner.path in read],
                client,
                writer,
                report,
                config.batch_size,
                config.timeout_seconds,
            )
        _judge_deleted(spec, collection, claims, seen, client, store, report, config)
        report.source_count = count_on_paths(client, spec, config.timeout_seconds)
        report.target_count = collection.count_documents({})
    finally:
        verifier.close()
        ledger.close()
        seen.close()
    return report


def _read(client, spec: CollectionSpec, paths: list[str], limiter, timeout: float):
    """The documents at `paths` that exist (SourceDocuments), and the paths that don't."""
    from include.firestore_to_mongo.source.reader import SourceDocument, read_by_paths

    if limiter is not None:
        limiter.acquire(len(paths))
    snapshots = {
        snapshot.reference.path: snapshot
        for snapshot in read_by_paths(client, paths, timeout, f"reading {spec.name}'s changed documents")
    }
    documents, gone = [], []
    for path in paths:
        snapshot = snapshots.get(path)
        if snapshot is None or not snapshot.exists:
            gone.append(path)
        else:
            documents.append(SourceDocument(path, snapshot.to_dict() or {}, snapshot.update_time))
    return documents, gone


def _judge_deleted(
    spec, collection, claims: CapturedClaims, seen: Seen, client, store, report, config
) -> None:
    """The keys of the journaled paths found gone: MongoDB must not hold one unless another
    live path claims it. Those it holds are judged as extra documents (and pruned)."""
    from include.firestore_to_mongo.target.writer import Comparer
    from include.firestore_to_mongo.verify.verifier import judge_extras, present_keys

    comparer = Comparer(collection, spec)
    unknown = 0
    for paths in seen.gone(config.batch_size):
        records = list(claims.paths.find({"_id": {"$in": paths}, "collection": spec.name}, {"key": 1}))
        keys = list(dict.fromkeys(record["key"] for record in records if record.get("key")))
        unknown += len(paths) - len([record for record in records if record.get("key")])
        if not keys:
            continue
        # Claimed by a changed document that exists (the ledger), or by a path capture
        # lists as live.
        unclaimed = claims.local.missing([tuple(decode_key(spec, key).values()) for key in keys])
        claimed = {key for key, _ in claims.live_claims(keys)}
        candidates = [
            dict(zip(spec.key_fields, values, strict=True))
            for values in unclaimed
            if encode_key(values) not in claimed
        ]
        # Only the keys MongoDB holds are looked at again (by path, in Firestore).
        held = present_keys(comparer, spec, candidates) if candidates else set()
        extra = [key for key in candidates if encode_key(key.values()) in held]
        if extra:
            judge_extras(spec, collection, extra, client, store, report, config.timeout_seconds, config.prune)
    if unknown:
        log.info(
            "%s: %d deleted paths have no key in change capture's records (never mapped): not checked",
            spec.name,
            unknown,
        )
