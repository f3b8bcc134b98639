"""How the sync stands, per collection, from the target database alone: the runs'
records (`_firestore_to_mongo_runs`) and the watermarks. What the sync page shows,
and what its JSON endpoint returns."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pymongo import DESCENDING
from pymongo.database import Database

from include.firestore_to_mongo.contract.specs import COLLECTION_NAMES
from include.firestore_to_mongo.migrate.report import COLUMNS
from include.firestore_to_mongo.target.run_history import MIGRATION, RUNS, VERIFY
from include.firestore_to_mongo.target.run_state import WATERMARKS

CHART_RUNS = 30
# The last run's figures the page shows, as (label, key in the run record): the summary
# table's own columns, under the same headings.
SHOWN = {"read", "inserted", "updated", "unchanged", "skipped", "failed", "stale", "deleted"}
RUN_FIGURES = tuple((label, key) for label, key in COLUMNS if key in SHOWN)


def load_state(database: Database, now: datetime | None = None) -> dict[str, Any]:
    """The sync's state, JSON-safe (datetimes as ISO strings)."""
    now = now or datetime.now(UTC)
    migrations = _runs(database, MIGRATION, CHART_RUNS)
    watermarks = {found["_id"]: found for found in database[WATERMARKS].find()}
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
                "last_verify": (
                    _run_summary(verify, verify["collections"][name], "depth")
                    | {"differences": verify["collections"][name].get("remaining")}
                    if verify
                    else None
                ),
            }
        )
    return {
        "database": database.name,
        "generated_at": _iso(now),
        "has_runs": database[RUNS].find_one({}, {"_id": 1}) is not None,
        "collections": collections,
        "chart": [_chart_point(run) for run in reversed(migrations)],
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
    figures = run["collections"].values()
    read = sum(item.get("read") or 0 for item in figures)
    seconds = sum(item.get("seconds") or 0 for item in figures)
    return {
        "run_id": run["run_id"],
        "ended_at": _iso(_utc(run["ended_at"])),
        "written": sum((item.get("inserted") or 0) + (item.get("updated") or 0) for item in figures),
        "docs_per_second": round(read / seconds, 1) if seconds else 0.0,
    }


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
