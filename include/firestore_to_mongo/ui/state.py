"""How the sync stands, per collection, from the target database alone: the runs'
records (`_firestore_to_mongo_runs`), the watermarks and change capture's status and
figures (target.capture_state). What the sync page shows, and what its JSON endpoint
returns."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pymongo import DESCENDING
from pymongo.database import Database

from include.firestore_to_mongo.contract.dropped import DroppedKeys
from include.firestore_to_mongo.contract.specs import COLLECTION_NAMES
from include.firestore_to_mongo.target.capture_state import CaptureState
from include.firestore_to_mongo.target.run_history import MIGRATION, RUNS, VERIFY
from include.firestore_to_mongo.target.run_state import WATERMARKS

CHART_RUNS = 30
# The capture's figures are recorded every 30 s: the chart covers the last hour.
CAPTURE_CHART_POINTS = 120
# A capture that hasn't sent a heartbeat for this long (it sends one at least every 30 s)
# isn't running, whatever its stored state says.
CAPTURE_STALE_SECONDS = 120
CAPTURE_DAG_ID = "firestore_to_mongo_capture"
# Per collection, the capture's figures the page shows.
CAPTURE_FIGURES = ("seen", "inserted", "updated", "unchanged", "deleted", "failed")
CAPTURE_LAGS = ("lag_p50", "lag_p95", "lag_max")
# The last run's figures the page shows, as (label, key in the run record). Listed here,
# not taken from the summary table's columns: the table may merge or drop some (its
# `written` is inserted + updated) while the record keeps each one.
RUN_FIGURES = (
    ("read", "read"),
    ("inserted", "inserted"),
    ("updated", "updated"),
    ("unchanged", "unchanged"),
    ("skipped", "skipped"),
    ("failed", "failed"),
    ("gone", "stale"),
    ("deleted", "deleted"),
)


def load_state(database: Database, now: datetime | None = None) -> dict[str, Any]:
    """The sync's state, JSON-safe (datetimes as ISO strings)."""
    now = now or datetime.now(UTC)
    migrations = _runs(database, MIGRATION, CHART_RUNS)
    watermarks = {found["_id"]: found for found in database[WATERMARKS].find()}
    capture = CaptureState(database)
    status = capture.read_status()
    capture_state = _capture_state(status, now) if status else None
    collections = []
    for name in COLLECTION_NAMES:
        # Each collection's own latest: a run of other collections doesn't hide it.
        last = _latest(database, MIGRATION, name)
        verify = _latest(database, VERIFY, name)
        watermark = _utc(watermarks.get(name, {}).get("watermark"))
        figures = last["collections"][name] if last else {}
        collections.append(
            {
                "name": name,
                "last_run": _run_summary(last, figures, "mode") if last else None,
                "watermark": _iso(watermark),
                "lag_seconds": round((now - watermark).total_seconds()) if watermark else None,
                "figures": {label: figures.get(key) for label, key in RUN_FIGURES} if last else None,
                "failed_examples": figures.get("failed_examples", []),
                "without_cursor": figures.get("without_cursor"),
                "retried_faults": figures.get("retried_faults"),
                "dropped_keys": _dropped(figures),
                "last_verify": (
                    _run_summary(verify, verify["collections"][name], "depth")
                    | {"differences": verify["collections"][name].get("remaining")}
                    if verify
                    else None
                ),
                "capture": _capture_collection(status, capture_state, name) if status else None,
            }
        )
    return {
        "database": database.name,
        "generated_at": _iso(now),
        "has_runs": database[RUNS].find_one({}, {"_id": 1}) is not None,
        "collections": collections,
        "chart": [_chart_point(run) for run in reversed(migrations)],
        "capture": _capture_summary(status, capture_state, now) if status else None,
        "capture_chart": [_capture_point(record) for record in capture.figures_history(CAPTURE_CHART_POINTS)],
    }


def _latest(database: Database, kind: str, collection: str) -> dict[str, Any] | None:
    return database[RUNS].find_one(
        {"kind": kind, f"collections.{collection}": {"$exists": True}}, sort=[("ended_at", DESCENDING)]
    )


def _runs(database: Database, kind: str, limit: int) -> list[dict[str, Any]]:
    return list(database[RUNS].find({"kind": kind}).sort("ended_at", DESCENDING).limit(limit))


def _run_summary(run: dict[str, Any], figures: dict[str, Any], mode_key: str) -> dict[str, Any]:
    return {
        "dag_id": run["dag_id"],
        "run_id": run["run_id"],
        "ended_at": _iso(_utc(run["ended_at"])),
        mode_key: figures.get(mode_key),
        "status": figures.get("status"),
        "dry_run": bool(run.get("dry_run")),
    }


def _chart_point(run: dict[str, Any]) -> dict[str, Any]:
    """A run on the chart: documents read and written (inserted + updated), its mode
    ("full", "incremental", or both, comma-separated) and documents read per second of the
    run's wall time (from its start to its end; older records without a start: the longest
    collection's wall time), never per second of the partitions' summed time."""
    figures = run["collections"].values()
    read = sum(item.get("read") or 0 for item in figures)
    started, ended = _utc(run.get("started_at")), _utc(run["ended_at"])
    seconds = (
        (ended - started).total_seconds()
        if started and ended and ended > started
        else max((item.get("wall_seconds") or item.get("seconds") or 0 for item in figures), default=0)
    )
    modes = sorted({str(item["mode"]) for item in figures if item.get("mode")})
    return {
        "run_id": run["run_id"],
        "ended_at": _iso(_utc(run["ended_at"])),
        "mode": ", ".join(modes) or None,
        "read": read,
        "written": sum((item.get("inserted") or 0) + (item.get("updated") or 0) for item in figures),
        "docs_per_second": round(read / seconds, 1) if seconds else 0.0,
    }


def _capture_state(status: dict[str, Any], now: datetime) -> str | None:
    """The stored state, or "stopped" when the heartbeat is missing or stale: a capture
    that died can't say so. A failed capture stays "failed"."""
    heartbeat = _utc(status.get("heartbeat_at"))
    stored = status.get("state")
    if stored == "failed" or (heartbeat and (now - heartbeat).total_seconds() <= CAPTURE_STALE_SECONDS):
        return stored
    return "stopped"


def _capture_summary(status: dict[str, Any], state: str | None, now: datetime) -> dict[str, Any]:
    checkpoint = _utc(status.get("checkpoint"))
    lag = status.get("lag")
    return {
        "state": state,
        "run_id": status.get("run_id"),
        "dag_id": status.get("dag_id") or CAPTURE_DAG_ID,
        "heartbeat_at": _iso(_utc(status.get("heartbeat_at"))),
        "checkpoint": _iso(checkpoint),
        "checkpoint_lag_seconds": _seconds(now, checkpoint),
        "documents": status.get("documents"),
        "resets": status.get("resets"),
        "retried_faults": status.get("retried_faults"),
        "lag": {key: lag.get(key) for key in ("p50", "p95", "max")} if isinstance(lag, dict) else None,
        "journal_since": _iso(_utc(status.get("journal_since"))),
    }


def _capture_collection(status: dict[str, Any], state: str | None, name: str) -> dict[str, Any]:
    collections = status.get("collections")
    figures = collections.get(name) if isinstance(collections, dict) else None
    figures = figures if isinstance(figures, dict) else {}
    return (
        {"state": state}
        | {key: figures.get(key) for key in (*CAPTURE_LAGS, *CAPTURE_FIGURES)}
        | {"last_change_at": _iso(_utc(figures.get("last_change_at")))}
        | {"dropped_keys": _dropped(figures)}
    )


def _dropped(figures: dict[str, Any]) -> dict[str, Any]:
    """The keys the contract dropped, as stored (anything malformed reads as none)."""
    return DroppedKeys.from_dict(figures.get("dropped_keys")).as_dict(mergeable=False)


def _capture_point(record: dict[str, Any]) -> dict[str, Any]:
    at = _utc(record.get("at"))
    lag = record.get("lag") if isinstance(record.get("lag"), dict) else {}
    return {
        "at": _iso(at),
        "lag_p95": lag.get("p95"),
        "lag_max": lag.get("max"),
        "checkpoint_lag_seconds": _seconds(at, _utc(record.get("checkpoint"))),
    }


def _seconds(later: datetime | None, earlier: datetime | None) -> float | None:
    if later is None or earlier is None:
        return None
    return round((later - earlier).total_seconds(), 1)


def _utc(value: Any) -> datetime | None:
    # Anything but a datetime (missing, or written wrong) is unknown.
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
