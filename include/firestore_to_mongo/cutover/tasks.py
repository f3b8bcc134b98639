"""The cut-over's three tasks: `catch_up` (capture applied everything up to a read time
after the trigger), `verify_changes` (a verify of what changed since the last full verify,
repaired when asked), and `verdict` (`safe_to_switch` or `blocked`, with the reasons, and
`freeze_seconds`: how long the app waited, from the trigger to the verdict).

Each task that finds a reason to block pushes it (XCom `blocked`) and fails; `verdict`
runs whatever happened before it and gathers them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from include.firestore_to_mongo.contract.specs import COLLECTION_NAMES
from include.firestore_to_mongo.cutover.config import CutoverConfig
from include.firestore_to_mongo.verify.report import CHANGING, VERIFIED, render_verify_table

log = logging.getLogger(__name__)

BLOCKED = "blocked"
SAFE_TO_SWITCH, BLOCKED_VERDICT = "safe_to_switch", "blocked"


class CutoverBlockedError(RuntimeError):
    """The cut-over can't say it is safe to switch; the message says why."""


def _config(params: Mapping[str, Any]) -> CutoverConfig:
    from airflow.sdk.exceptions import AirflowFailException

    from include.firestore_to_mongo.run.params import ParamError

    try:
        return CutoverConfig.from_params(params)
    except ParamError as error:
        raise AirflowFailException(str(error)) from error


def _block(ti, reason: str) -> None:
    ti.xcom_push(key=BLOCKED, value=reason)
    raise CutoverBlockedError(reason)


def triggered_at(ti) -> datetime:
    """When the run was triggered (the app stopped writing before that)."""
    from include.firestore_to_mongo.run.tasks import current_dag_run

    run = current_dag_run()
    for name in ("run_after", "queued_at", "start_date"):
        value = getattr(run, name, None)
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.now(UTC)


def catch_up_task(params: Mapping[str, Any], ti, poll_seconds: float = 1.0) -> dict[str, Any]:
    """Wait until capture's checkpoint reaches a read time taken now, after the trigger."""
    from include.firestore_to_mongo.target.capture_state import CaptureState
    from include.firestore_to_mongo.target.connection import TargetSession

    config = _config(params)
    started = time.monotonic()
    with TargetSession(config) as target:
        state = CaptureState(target.database)
        wanted = datetime.now(UTC)
        # A quiet source brings no consistent point by itself: capture listens anew for one.
        state.request_sync(wanted)
        log.info("waiting until change capture has applied everything up to %s", wanted.isoformat())
        while True:
            checkpoint = state.checkpoint()
            if checkpoint is not None and checkpoint >= wanted:
                waited = round(time.monotonic() - started, 3)
                log.info("capture caught up: checkpoint %s, after %.1f s", checkpoint.isoformat(), waited)
                return {
                    "read_time": wanted.isoformat(),
                    "checkpoint": checkpoint.isoformat(),
                    "waited_seconds": waited,
                }
            status = state.read_status() or {}
            if state.live_status() is None:
                _block(
                    ti,
                    "change capture is not running (state "
                    f"{status.get('state', 'never ran')}, last heartbeat {_iso(status.get('heartbeat_at'))}): "
                    "unpause firestore_to_mongo_capture and let it catch up",
                )
            if time.monotonic() - started > config.timeout_minutes * 60:
                _block(
                    ti,
                    f"change capture did not catch up within {config.timeout_minutes} minutes: its checkpoint "
                    f"is {_iso(checkpoint)}, {wanted.isoformat()} was wanted (state {status.get('state')})",
                )
            time.sleep(poll_seconds)


def last_full_verify(database) -> dict[str, Any] | None:
    """The newest verify run that compared every collection in full (no sample, not only
    what changed)."""
    from pymongo import DESCENDING

    from include.firestore_to_mongo.target.run_history import RUNS, VERIFY

    for record in database[RUNS].find({"kind": VERIFY}).sort("ended_at", DESCENDING).limit(50):
        rows = record.get("collections", {})
        if set(rows) == set(COLLECTION_NAMES) and all(
            row.get("depth") == "full" and not row.get("sampled") and not row.get("changed_since")
            for row in rows.values()
        ):
            return record
    return None


def verify_changes_task(params: Mapping[str, Any], ti) -> dict[str, Any]:
    """Verify (and repair, when asked) what changed since the start of the last full verify."""
    from include.firestore_to_mongo.run.tasks import run_key_of
    from include.firestore_to_mongo.target.connection import TargetSession
    from include.firestore_to_mongo.verify.changed import verify_changed
    from include.firestore_to_mongo.verify.errors import JournalGapError

    config = _config(params)
    with TargetSession(config) as target:
        record = last_full_verify(target.database)
    if record is None:
        _block(
            ti,
            "no full verify of every collection has run: run firestore_to_mongo_verify first, while the app runs",
        )
    statuses = {name: row.get("status") for name, row in record["collections"].items()}
    unsettled = {name: status for name, status in statuses.items() if status not in (VERIFIED, CHANGING)}
    if unsettled:
        _block(
            ti,
            f"the last full verify ({record['run_id']}) ended {unsettled}, not verified or changing: "
            "repair it (firestore_to_mongo_verify with repair) and verify again before the cut-over",
        )
    since = _start_of(record)
    log.info(
        "verifying what changed since %s, the start of the full verify %s",
        since.isoformat(),
        record["run_id"],
    )
    rows = []
    for name in COLLECTION_NAMES:
        try:
            rows.append(verify_changed(config.verify_config(since), name, since, run_key_of(ti)))
        except JournalGapError as error:
            _block(ti, str(error))
    log.info("what changed since %s:\n%s", since.isoformat(), render_verify_table(rows))
    return {"since": since.isoformat(), "full_verify": record["run_id"], "collections": rows}


def _start_of(record: dict[str, Any]) -> datetime:
    started = record.get("started_at")
    if started is None:
        # Recorded before runs kept their start: the end, less the longest collection, less
        # a minute. Earlier than the start is safe (more is verified), later is not.
        longest = max((row.get("seconds") or 0) for row in record["collections"].values())
        started = record["ended_at"] - timedelta(seconds=longest + 60)
    return started if started.tzinfo else started.replace(tzinfo=UTC)


def verdict_task(params: Mapping[str, Any], ti) -> dict[str, Any]:
    """Gather what the tasks found: the verdict, its reasons, and `freeze_seconds`."""
    caught_up = ti.xcom_pull(task_ids="catch_up")
    verified = ti.xcom_pull(task_ids="verify_changes")
    reasons = []
    for task_id, result in (("catch_up", caught_up), ("verify_changes", verified)):
        if reason := ti.xcom_pull(task_ids=task_id, key=BLOCKED):
            reasons.append(reason)
        elif result is None:
            reasons.append(f"{task_id} did not finish (see its log)")
        if result is None:
            break  # what follows a task that didn't finish never ran
    notes = []
    for row in (verified or {}).get("collections", []):
        name = row["collection"]
        if row.get("changed_during_verify"):
            reasons.append(
                f"{name}: {row['changed_during_verify']} documents changed during the verify: the app has not stopped writing"
            )
        if row.get("remaining"):
            reasons.append(
                f"{name}: {row['remaining']} differences remain (missing {row.get('missing')}, extra "
                f"{row.get('extra')}, different {row.get('different')}; repaired {row.get('repaired')})"
            )
        if row.get("status") == "failed":
            reasons.append(f"{name}: the verify failed")
        if row.get("source_count") is not None and row.get("source_count") != row.get("target_count"):
            notes.append(
                f"{name}: Firestore holds {row['source_count']:,} documents on the migrated paths, MongoDB "
                f"{row.get('target_count'):,} (unmappable documents, key conflicts' losers and documents other "
                "applications wrote account for a difference; the last full verify named them)"
            )
    decided = datetime.now(UTC)
    started = triggered_at(ti)
    result = {
        "verdict": BLOCKED_VERDICT if reasons else SAFE_TO_SWITCH,
        "reasons": reasons,
        "notes": notes,
        "freeze_seconds": round((decided - started).total_seconds(), 3),
        "triggered_at": started.isoformat(),
        "decided_at": decided.isoformat(),
        "caught_up": caught_up,
        "since": (verified or {}).get("since"),
        "full_verify": (verified or {}).get("full_verify"),
        "collections": {row["collection"]: row for row in (verified or {}).get("collections", [])},
    }
    lines = [f"cut-over verdict: {result['verdict']}, freeze {result['freeze_seconds']:.1f} s"]
    lines += [f"- blocked: {reason}" for reason in reasons] + [f"- note: {note}" for note in notes]
    log.info("\n".join(lines))
    ti.xcom_push(key="return_value", value=result)
    if reasons:
        raise CutoverBlockedError("; ".join(reasons))
    return result


def _iso(value) -> str:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    return "never"
