"""Tests for include.firestore_to_mongo.ui.state: `load_state`, how the sync stands per
collection from the runs' records, the watermarks and change capture's status and figures
alone (on the wire server, or TEST_MONGODB_URI)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pymongo
import pytest

from include.firestore_to_mongo.contract.specs import COLLECTION_NAMES
from include.firestore_to_mongo.migrate.report import missing_report
from include.firestore_to_mongo.target.capture_state import CaptureState
from include.firestore_to_mongo.target.run_history import MIGRATION, RUNS, VERIFY, run_record
from include.firestore_to_mongo.target.run_state import WATERMARKS
from include.firestore_to_mongo.ui.state import CAPTURE_CHART_POINTS, CHART_RUNS, load_state

# More runs of other collections than any look-back would cover.
LOOK_BACK = 120

ENDED = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
ALL = COLLECTION_NAMES
NOTHING_DROPPED = {"names": [], "more": 0, "more_at_least": False}


def row(collection: str, **figures) -> dict:
    return {
        "collection": collection,
        "status": "ok",
        "mode": "incremental",
        "dry_run": False,
        "read": 10,
        "inserted": 1,
        "updated": 2,
        "unchanged": 7,
        "seconds": 1.0,
    } | figures


def add(
    database, kind: str, run_id: str, hour: float, rows: list[dict], run_seconds: float | None = None
) -> None:
    """A run record ending `hour` hours after ENDED; `run_seconds`: started that long before."""
    dag_id = "firestore_to_mongo" if kind == MIGRATION else "firestore_to_mongo_verify"
    ended = ENDED + timedelta(hours=hour)
    started = ended - timedelta(seconds=run_seconds) if run_seconds is not None else None
    database[RUNS].insert_one(run_record(kind, dag_id, run_id, rows, ended, started))


def by_name(state: dict) -> dict[str, dict]:
    return {item["name"]: item for item in state["collections"]}


# --- the last run per collection -----------------------------------------------------------

# Runs as (run_id, hour, collections run), recorded in this order; expected: each collection's
# last run id (None: never).
LAST_RUN_CASES = [
    pytest.param(
        [("r1", 0, ALL), ("r2", 1, ALL)],
        dict.fromkeys(ALL, "r2"),
        id="the-newest-run",
    ),
    pytest.param(
        [("r2", 1, ALL), ("r1", 0, ALL)],
        dict.fromkeys(ALL, "r2"),
        id="by-end-not-by-recording-order",
    ),
    pytest.param(
        [("r1", 0, ALL), ("r2", 1, ("messages",))],
        {"users": "r1", "digital_twins": "r1", "conversations": "r1", "messages": "r2"},
        id="a-partial-run-hides-no-other-collection",
    ),
    pytest.param(
        [("r1", 0, ("users",)), ("r2", 1, ("messages",)), ("r3", 2, ("conversations",))],
        {"users": "r1", "digital_twins": None, "conversations": "r3", "messages": "r2"},
        id="each-its-own",
    ),
    pytest.param(
        [("r1", 0, ("messages",))],
        {"users": None, "digital_twins": None, "conversations": None, "messages": "r1"},
        id="never-run",
    ),
    pytest.param([], dict.fromkeys(ALL), id="no-runs"),
]


@pytest.mark.parametrize(("runs", "expected"), LAST_RUN_CASES)
def test_each_collection_shows_its_latest_migration_run(mongo_db, runs, expected) -> None:
    for run_id, hour, names in runs:
        add(mongo_db, MIGRATION, run_id, hour, [row(name) for name in names])

    state = load_state(mongo_db, NOW)

    shown = {name: item["last_run"] and item["last_run"]["run_id"] for name, item in by_name(state).items()}
    assert shown == expected


def test_a_skipped_collection_keeps_its_earlier_run(mongo_db) -> None:
    add(mongo_db, MIGRATION, "r1", 0, [row(name, read=1) for name in ALL])
    add(mongo_db, MIGRATION, "r2", 1, [row("users", read=2), missing_report("messages", "skipped")])

    messages = by_name(load_state(mongo_db, NOW))["messages"]

    assert messages["last_run"]["run_id"] == "r1"
    assert messages["figures"]["read"] == 1


def test_verify_runs_are_not_migration_runs(mongo_db) -> None:
    add(mongo_db, VERIFY, "v1", 5, [row(name, depth="full", status="verified") for name in ALL])

    state = load_state(mongo_db, NOW)

    assert all(item["last_run"] is None and item["figures"] is None for item in state["collections"])
    assert state["chart"] == []


def test_a_collection_run_long_ago_is_still_found(mongo_db) -> None:
    """Records are kept for 500 runs: a collection whose latest run is older than the last
    LOOK_BACK runs of the others still has that latest run."""
    add(mongo_db, MIGRATION, "users_once", 0, [row("users")])
    for number in range(LOOK_BACK):
        add(mongo_db, MIGRATION, f"messages_{number}", 1 + number, [row("messages")])

    users = by_name(load_state(mongo_db, NOW))["users"]

    assert users["last_run"] is not None
    assert users["last_run"]["run_id"] == "users_once"


@pytest.mark.parametrize(
    ("rows", "run_dry_run", "expected"),
    [
        pytest.param(
            [row("users", mode="full", status="ok")],
            False,
            {"mode": "full", "status": "ok", "dry_run": False},
            id="full",
        ),
        pytest.param(
            [row("users", mode="incremental", status="failed")],
            False,
            {"mode": "incremental", "status": "failed", "dry_run": False},
            id="the-collections-status",
        ),
        pytest.param(
            [row("users", status="ok"), row("messages", status="failed")],
            False,
            {"mode": "incremental", "status": "ok", "dry_run": False},
            id="not-the-runs-status",
        ),
        pytest.param(
            [row("users", dry_run=True)],
            True,
            {"mode": "incremental", "status": "ok", "dry_run": True},
            id="dry",
        ),
        pytest.param(
            [missing_report("users", "failed")],
            False,
            {"mode": None, "status": "failed", "dry_run": False},
            id="crashed-task",
        ),
    ],
)
def test_the_last_runs_summary(mongo_db, rows, run_dry_run: bool, expected: dict) -> None:
    add(mongo_db, MIGRATION, "manual__1", 2, rows)

    last_run = by_name(load_state(mongo_db, NOW))["users"]["last_run"]

    assert (
        last_run
        == {
            "dag_id": "firestore_to_mongo",
            "run_id": "manual__1",
            "ended_at": "2026-11-29T11:00:00+00:00",
        }
        | expected
    )
    assert mongo_db[RUNS].find_one()["dry_run"] is run_dry_run


# --- figures ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "figures"),
    [
        pytest.param(
            {
                "read": 9,
                "inserted": 1,
                "updated": 2,
                "unchanged": 3,
                "skipped": 4,
                "failed": 5,
                "stale": 6,
                "deleted": 7,
            },
            {
                "read": 9,
                "inserted": 1,
                "updated": 2,
                "unchanged": 3,
                "skipped": 4,
                "failed": 5,
                "gone": 6,
                "deleted": 7,
            },
            id="gone-is-stale",
        ),
        pytest.param(
            {"read": 9, "inserted": None, "updated": None, "unchanged": None, "stale": None},
            {
                "read": 9,
                "inserted": None,
                "updated": None,
                "unchanged": None,
                "skipped": None,
                "failed": None,
                "gone": None,
                "deleted": None,
            },
            id="unknown-figures",
        ),
        pytest.param(
            {"stale": 0, "deleted": 0, "conflicts": 8, "docs_per_second": 3.0},
            {
                "read": 10,
                "inserted": 1,
                "updated": 2,
                "unchanged": 7,
                "skipped": None,
                "failed": None,
                "gone": 0,
                "deleted": 0,
            },
            id="only-the-pages-figures",
        ),
    ],
)
def test_figures(mongo_db, given: dict, figures: dict) -> None:
    add(mongo_db, MIGRATION, "r1", 0, [row("users", **given)])

    assert by_name(load_state(mongo_db, NOW))["users"]["figures"] == figures


@pytest.mark.parametrize(
    ("given", "failed_examples", "without_cursor"),
    [
        pytest.param({}, [], None, id="none"),
        pytest.param({"failed_examples": ["users/u1: bad"]}, ["users/u1: bad"], None, id="examples"),
        pytest.param({"without_cursor": 0}, [], 0, id="no-gap"),
        pytest.param({"without_cursor": 7}, [], 7, id="a-gap"),
    ],
)
def test_failed_examples_and_the_incremental_gap(mongo_db, given, failed_examples, without_cursor) -> None:
    add(mongo_db, MIGRATION, "r1", 0, [row("users", **given)])

    users = by_name(load_state(mongo_db, NOW))["users"]

    assert users["failed_examples"] == failed_examples
    assert users["without_cursor"] == without_cursor


def test_a_collection_never_run_has_no_figures(mongo_db) -> None:
    add(mongo_db, MIGRATION, "r1", 0, [row("users")])

    assert by_name(load_state(mongo_db, NOW))["messages"] | {"name": None} == {
        "name": None,
        "last_run": None,
        "watermark": None,
        "lag_seconds": None,
        "figures": None,
        "failed_examples": [],
        "without_cursor": None,
        "retried_faults": None,
        "dropped_keys": NOTHING_DROPPED,
        "last_verify": None,
        "capture": None,
    }


# --- the last verify ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("runs", "expected"),
    [
        pytest.param(
            [("v1", 0, ALL, 0), ("v2", 1, ALL, 3)],
            dict.fromkeys(ALL, ("v2", 3)),
            id="the-newest-verify",
        ),
        pytest.param(
            [("v2", 1, ALL, 3), ("v1", 0, ALL, 0)],
            dict.fromkeys(ALL, ("v2", 3)),
            id="by-end-not-by-recording-order",
        ),
        pytest.param(
            [("v1", 0, ALL, 2), ("v2", 1, ("messages",), 0)],
            {
                "users": ("v1", 2),
                "digital_twins": ("v1", 2),
                "conversations": ("v1", 2),
                "messages": ("v2", 0),
            },
            id="a-partial-verify-hides-no-other-collection",
        ),
        pytest.param(
            [("v1", 0, ("users",), None)],
            {"users": ("v1", None), "digital_twins": None, "conversations": None, "messages": None},
            id="never-verified",
        ),
    ],
)
def test_each_collection_shows_its_latest_verify(mongo_db, runs, expected) -> None:
    for run_id, hour, names, remaining in runs:
        add(
            mongo_db,
            VERIFY,
            run_id,
            hour,
            [row(name, depth="full", status="verified", remaining=remaining) for name in names],
        )
    add(mongo_db, MIGRATION, "newer_migration", 10, [row(name) for name in ALL])

    shown = {
        name: item["last_verify"] and (item["last_verify"]["run_id"], item["last_verify"]["differences"])
        for name, item in by_name(load_state(mongo_db, NOW)).items()
    }
    assert shown == expected


def test_the_last_verifys_summary(mongo_db) -> None:
    add(
        mongo_db,
        VERIFY,
        "manual__v",
        1,
        [row("messages", depth="sample", status="differences", remaining=5, mode=None)],
    )

    assert by_name(load_state(mongo_db, NOW))["messages"]["last_verify"] == {
        "dag_id": "firestore_to_mongo_verify",
        "run_id": "manual__v",
        "ended_at": "2026-11-29T10:00:00+00:00",
        "depth": "sample",
        "status": "differences",
        "dry_run": False,
        "differences": 5,
    }


# --- watermark and lag ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("watermark", "lag_seconds"),
    [
        pytest.param(NOW, 0, id="now"),
        pytest.param(NOW - timedelta(minutes=95), 95 * 60, id="95-minutes"),
        pytest.param(NOW - timedelta(days=2, seconds=1), 2 * 86400 + 1, id="two-days"),
        pytest.param(NOW - timedelta(milliseconds=1500), 2, id="rounded"),
        pytest.param(NOW + timedelta(minutes=1), -60, id="ahead-of-now"),
        pytest.param(datetime(2026, 11, 30, 11, 0), 3600, id="naive-is-utc"),
    ],
)
def test_lag_from_the_watermark(mongo_db, watermark: datetime, lag_seconds: int) -> None:
    mongo_db[WATERMARKS].insert_one({"_id": "users", "watermark": watermark, "source": "p/(default)"})

    users = by_name(load_state(mongo_db, NOW))["users"]

    assert users["lag_seconds"] == lag_seconds
    assert datetime.fromisoformat(users["watermark"]) == (
        watermark if watermark.tzinfo else watermark.replace(tzinfo=UTC)
    )
    assert by_name(load_state(mongo_db, NOW))["messages"]["lag_seconds"] is None


def test_without_a_watermark_there_is_no_lag(mongo_db) -> None:
    mongo_db[WATERMARKS].insert_one({"_id": "users", "source": "p/(default)"})
    add(mongo_db, MIGRATION, "r1", 0, [row("users")])

    users = by_name(load_state(mongo_db, NOW))["users"]

    assert (users["watermark"], users["lag_seconds"]) == (None, None)


def test_naive_datetimes_from_the_driver_are_utc(mongo_uri, mongo_db) -> None:
    """A client without tz_aware hands back naive datetimes: they are UTC."""
    mongo_db[WATERMARKS].insert_one({"_id": "users", "watermark": NOW - timedelta(hours=1)})
    add(mongo_db, MIGRATION, "r1", 0, [row("users")])
    add(mongo_db, VERIFY, "v1", 1, [row("users", depth="full")])
    naive = pymongo.MongoClient(mongo_uri, tz_aware=False, serverSelectionTimeoutMS=10_000)
    try:
        assert naive[mongo_db.name][WATERMARKS].find_one()["watermark"].tzinfo is None
        state = load_state(naive[mongo_db.name], NOW)
    finally:
        naive.close()

    users = by_name(state)["users"]
    assert users["lag_seconds"] == 3600
    assert users["watermark"] == "2026-11-30T11:00:00+00:00"
    assert users["last_run"]["ended_at"] == "2026-11-29T09:00:00+00:00"
    assert users["last_verify"]["ended_at"] == "2026-11-29T10:00:00+00:00"
    assert state["chart"][0]["ended_at"] == "2026-11-29T09:00:00+00:00"


# --- chart -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rows", "read", "written", "docs_per_second", "mode"),
    [
        pytest.param([row("users", inserted=3, updated=4)], 10, 7, 10.0, "incremental", id="one-collection"),
        # Collections run side by side: without the run's start, the longest one's time.
        pytest.param(
            [row("users", inserted=3, updated=4), row("messages", inserted=10, updated=0)],
            20,
            17,
            20.0,
            "incremental",
            id="summed-over-collections",
        ),
        # 100 docs in 1 s and 300 in 6 s, side by side: 400 / 6, not over the summed 7 s.
        pytest.param(
            [row("users", read=100, seconds=1.0), row("messages", read=300, seconds=6.0)],
            400,
            6,
            66.7,
            "incremental",
            id="total-read-over-the-longest",
        ),
        # A collection's wall time, where its partitions recorded it, beats their summed time.
        pytest.param(
            [row("messages", read=300, seconds=6.0, wall_seconds=2.0)],
            300,
            3,
            150.0,
            "incremental",
            id="wall-seconds",
        ),
        pytest.param([row("users", read=5, seconds=0.0)], 5, 3, 0.0, "incremental", id="no-seconds"),
        pytest.param([row("users", read=5, seconds=None)], 5, 3, 0.0, "incremental", id="seconds-unknown"),
        pytest.param([missing_report("users", "failed")], 0, 0, 0.0, None, id="crashed-task"),
        pytest.param(
            [row("users", inserted=None, updated=9)], 10, 9, 10.0, "incremental", id="inserted-unknown"
        ),
        pytest.param([missing_report("users", "skipped")], 0, 0, 0.0, None, id="all-skipped"),
        pytest.param(
            [row("users", mode="full"), row("messages"), row("conversations", mode="full")],
            30,
            9,
            30.0,
            "full, incremental",
            id="modes-mixed",
        ),
    ],
)
def test_chart_point(mongo_db, rows, read: int, written: int, docs_per_second: float, mode) -> None:
    add(mongo_db, MIGRATION, "manual__1", 0, rows)

    assert load_state(mongo_db, NOW)["chart"] == [
        {
            "run_id": "manual__1",
            "ended_at": "2026-11-29T09:00:00+00:00",
            "mode": mode,
            "read": read,
            "written": written,
            "docs_per_second": docs_per_second,
        }
    ]


def test_the_chart_rate_is_over_the_runs_wall_time(mongo_db) -> None:
    # Started 40 s before it ended: 400 documents / 40 s, whatever the collections' times.
    rows = [row("users", read=100, seconds=1.0), row("messages", read=300, seconds=6.0)]
    add(mongo_db, MIGRATION, "manual__1", 0, rows, run_seconds=40)
    assert load_state(mongo_db, NOW)["chart"][0]["docs_per_second"] == 10.0


@pytest.mark.parametrize(
    ("runs", "charted"),
    [
        pytest.param(0, [], id="none"),
        pytest.param(1, [0], id="one"),
        pytest.param(3, [0, 1, 2], id="oldest-first"),
        pytest.param(CHART_RUNS, list(range(CHART_RUNS)), id="thirty"),
        pytest.param(CHART_RUNS + 5, list(range(5, CHART_RUNS + 5)), id="the-last-thirty"),
    ],
)
def test_chart_has_the_last_migration_runs_oldest_first(mongo_db, runs: int, charted: list[int]) -> None:
    order = list(range(runs))
    order = order[1::2] + order[::2]  # recorded out of order
    for number in order:
        add(mongo_db, MIGRATION, f"run_{number}", number, [row("users")])
    add(mongo_db, VERIFY, "verify", runs + 1, [row("users")])

    assert [point["run_id"] for point in load_state(mongo_db, NOW)["chart"]] == [
        f"run_{number}" for number in charted
    ]


# --- the whole state ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kinds", "has_runs"),
    [
        pytest.param([], False, id="empty"),
        pytest.param([MIGRATION], True, id="a-migration"),
        pytest.param([VERIFY], True, id="only-a-verify"),
        pytest.param([MIGRATION, VERIFY], True, id="both"),
    ],
)
def test_has_runs(mongo_db, kinds: list[str], has_runs: bool) -> None:
    for number, kind in enumerate(kinds):
        add(mongo_db, kind, f"run_{number}", number, [row("users")])

    assert load_state(mongo_db, NOW)["has_runs"] is has_runs


def test_an_empty_database(mongo_db) -> None:
    mongo_db[WATERMARKS].insert_one({"_id": "messages", "watermark": NOW - timedelta(minutes=5)})

    state = load_state(mongo_db, NOW)

    assert set(state) == {
        "database",
        "generated_at",
        "has_runs",
        "collections",
        "chart",
        "capture",
        "capture_chart",
    }
    assert state["database"] == mongo_db.name
    assert state["generated_at"] == "2026-11-30T12:00:00+00:00"
    assert state["has_runs"] is False
    assert state["chart"] == []
    assert [item["name"] for item in state["collections"]] == list(COLLECTION_NAMES)
    assert by_name(state)["messages"]["lag_seconds"] == 300


def test_now_defaults_to_the_current_time(mongo_db) -> None:
    mongo_db[WATERMARKS].insert_one({"_id": "users", "watermark": datetime.now(UTC) - timedelta(hours=1)})

    state = load_state(mongo_db)

    assert abs(datetime.fromisoformat(state["generated_at"]) - datetime.now(UTC)) < timedelta(seconds=10)
    assert 3600 <= by_name(state)["users"]["lag_seconds"] < 3610


# --- change capture ------------------------------------------------------------------------------


def capture_status(**changes) -> dict:
    """A capture's status document as capture writes it (datetimes as the driver returns them)."""
    return {
        "state": "running",
        "run_id": "manual__capture",
        "dag_id": "firestore_to_mongo_capture",
        "started_at": NOW - timedelta(hours=2),
        "heartbeat_at": NOW - timedelta(seconds=10),
        "checkpoint": NOW - timedelta(seconds=4, milliseconds=250),
        "checkpoint_saved_at": NOW - timedelta(seconds=4),
        "journal_since": NOW - timedelta(hours=2),
        "documents": 1234,
        "resets": 1,
        "retried_faults": 2,
        "lag": {"p50": 0.4, "p95": 1.5, "max": 9.25},
        "collections": {
            "users": {
                "seen": 10,
                "inserted": 1,
                "updated": 2,
                "unchanged": 3,
                "deleted": 4,
                "failed": 0,
                "lag_p50": 0.3,
                "lag_p95": 1.2,
                "lag_max": 2.0,
                "last_change_at": NOW - timedelta(seconds=30),
            }
        },
    } | changes


def test_without_capture_there_is_nothing_to_show(mongo_db) -> None:
    add(mongo_db, MIGRATION, "r1", 0, [row("users")])

    state = load_state(mongo_db, NOW)

    assert state["capture"] is None
    assert state["capture_chart"] == []
    assert all(item["capture"] is None for item in state["collections"])


def test_the_captures_summary(mongo_db) -> None:
    CaptureState(mongo_db).update_status(capture_status())

    assert load_state(mongo_db, NOW)["capture"] == {
        "state": "running",
        "run_id": "manual__capture",
        "dag_id": "firestore_to_mongo_capture",
        "heartbeat_at": "2026-11-30T11:59:50+00:00",
        "checkpoint": "2026-11-30T11:59:55.750000+00:00",
        "checkpoint_lag_seconds": 4.2,
        "documents": 1234,
        "resets": 1,
        "retried_faults": 2,
        "lag": {"p50": 0.4, "p95": 1.5, "max": 9.25},
        "journal_since": "2026-11-30T10:00:00+00:00",
    }


def test_each_collections_capture_figures(mongo_db) -> None:
    CaptureState(mongo_db).update_status(capture_status())

    collections = by_name(load_state(mongo_db, NOW))

    assert collections["users"]["capture"] == {
        "state": "running",
        "lag_p50": 0.3,
        "lag_p95": 1.2,
        "lag_max": 2.0,
        "seen": 10,
        "inserted": 1,
        "updated": 2,
        "unchanged": 3,
        "deleted": 4,
        "failed": 0,
        "last_change_at": "2026-11-30T11:59:30+00:00",
        "dropped_keys": NOTHING_DROPPED,
    }
    # A collection capture has seen nothing of yet: its state, no figures.
    assert collections["messages"]["capture"] == {"state": "running"} | dict.fromkeys(
        ("lag_p50", "lag_p95", "lag_max", "seen", "inserted", "updated", "unchanged", "deleted", "failed"),
        None,
    ) | {"last_change_at": None, "dropped_keys": NOTHING_DROPPED}


@pytest.mark.parametrize(
    ("stored", "heartbeat", "shown"),
    [
        pytest.param("running", NOW - timedelta(seconds=10), "running", id="running"),
        pytest.param("waiting", NOW - timedelta(seconds=120), "waiting", id="waiting-at-the-limit"),
        pytest.param("yielded", NOW - timedelta(seconds=30), "yielded", id="yielded"),
        pytest.param("running", NOW - timedelta(seconds=121), "stopped", id="stale-heartbeat"),
        pytest.param("waiting", NOW - timedelta(days=3), "stopped", id="long-gone"),
        pytest.param("running", None, "stopped", id="no-heartbeat"),
        pytest.param("running", "yesterday", "stopped", id="heartbeat-not-a-datetime"),
        pytest.param("running", NOW + timedelta(seconds=5), "running", id="heartbeat-ahead-of-now"),
        pytest.param("running", datetime(2026, 11, 30, 11, 59, 30), "running", id="naive-is-utc"),
        pytest.param("stopped", NOW - timedelta(seconds=5), "stopped", id="stopped"),
        pytest.param("failed", NOW - timedelta(seconds=5), "failed", id="failed"),
        # A failed capture stops sending heartbeats: it stays failed, not merely stopped.
        pytest.param("failed", NOW - timedelta(hours=1), "failed", id="failed-stays-failed"),
        pytest.param(None, NOW - timedelta(seconds=5), None, id="no-state-yet"),
    ],
)
def test_the_state_shown(mongo_db, stored, heartbeat, shown) -> None:
    CaptureState(mongo_db).update_status(capture_status(state=stored, heartbeat_at=heartbeat))

    state = load_state(mongo_db, NOW)

    assert state["capture"]["state"] == shown
    assert {item["capture"]["state"] for item in state["collections"]} == {shown}


def test_a_capture_that_only_saved_a_checkpoint(mongo_db) -> None:
    """Every field may be missing: here only what `save_checkpoint` and
    `set_journal_since` write."""
    capture = CaptureState(mongo_db)
    capture.save_checkpoint(NOW - timedelta(minutes=2), "firestore_to_mongo_capture/manual__c/1")
    capture.set_journal_since(NOW - timedelta(hours=1))

    state = load_state(mongo_db, NOW)

    assert state["capture"] == {
        "state": "stopped",
        # The session that saved it is no run id to link to.
        "run_id": None,
        "dag_id": "firestore_to_mongo_capture",
        "heartbeat_at": None,
        "checkpoint": "2026-11-30T11:58:00+00:00",
        "checkpoint_lag_seconds": 120.0,
        "documents": None,
        "resets": None,
        "retried_faults": None,
        "lag": None,
        "journal_since": "2026-11-30T11:00:00+00:00",
    }
    assert by_name(state)["users"]["capture"]["seen"] is None


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"lag": "fast", "collections": ["users"]}, id="not-mappings"),
        pytest.param({"collections": {"users": 7}}, id="a-collection-not-a-mapping"),
        pytest.param({"checkpoint": "now", "journal_since": 0}, id="datetimes-not-datetimes"),
        pytest.param({"lag": {"p95": 1.0}}, id="part-of-the-lag"),
    ],
)
def test_a_status_written_wrong_still_loads(mongo_db, changes) -> None:
    CaptureState(mongo_db).update_status(capture_status(**changes))

    state = load_state(mongo_db, NOW)

    assert state["capture"]["state"] == "running"
    assert by_name(state)["messages"]["capture"]["seen"] is None


def figures_record(at: datetime, **changes) -> dict:
    return {
        "at": at,
        "run_id": "manual__capture",
        "checkpoint": at - timedelta(seconds=3),
        "collections": {},
        "documents": 5,
        "resets": 0,
        "lag": {"p50": 0.5, "p95": 1.5, "max": 4.0},
    } | changes


@pytest.mark.parametrize(
    ("changes", "point"),
    [
        pytest.param(
            {},
            {"lag_p95": 1.5, "lag_max": 4.0, "checkpoint_lag_seconds": 3.0},
            id="figures",
        ),
        pytest.param(
            {"lag": {"p50": 0.1}, "checkpoint": None},
            {"lag_p95": None, "lag_max": None, "checkpoint_lag_seconds": None},
            id="figures-missing",
        ),
        pytest.param(
            {"lag": None, "checkpoint": NOW - timedelta(minutes=1, milliseconds=40)},
            {"lag_p95": None, "lag_max": None, "checkpoint_lag_seconds": 60.0},
            id="no-lag",
        ),
    ],
)
def test_capture_chart_point(mongo_db, changes: dict, point: dict) -> None:
    CaptureState(mongo_db).append_figures(figures_record(NOW, **changes))

    assert load_state(mongo_db, NOW)["capture_chart"] == [{"at": "2026-11-30T12:00:00+00:00"} | point]


@pytest.mark.parametrize(
    ("records", "charted"),
    [
        pytest.param(0, [], id="none"),
        pytest.param(1, [0], id="one"),
        pytest.param(3, [0, 1, 2], id="oldest-first"),
        pytest.param(CAPTURE_CHART_POINTS + 5, list(range(5, CAPTURE_CHART_POINTS + 5)), id="the-last-hour"),
    ],
)
def test_capture_chart_has_the_last_records_oldest_first(mongo_db, records: int, charted: list[int]) -> None:
    capture = CaptureState(mongo_db)
    order = list(range(records))
    for number in order[1::2] + order[::2]:  # recorded out of order
        capture.append_figures(figures_record(NOW + timedelta(seconds=30 * number)))

    assert [point["at"] for point in load_state(mongo_db, NOW)["capture_chart"]] == [
        (NOW + timedelta(seconds=30 * number)).isoformat() for number in charted
    ]


# --- the keys the contract drops ---------------------------------------------------------------

VOICE = {"name": "voice_id", "documents": 20, "example": "digital_twins/t1"}


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        pytest.param(None, NOTHING_DROPPED, id="not-recorded"),
        pytest.param(
            {"names": [VOICE], "more": 2}, {"names": [VOICE], "more": 2, "more_at_least": False}, id="some"
        ),
        pytest.param({"names": "garbage", "more": "x"}, NOTHING_DROPPED, id="malformed-reads-as-none"),
    ],
)
def test_the_keys_the_contract_dropped_from_the_runs_record(mongo_db, stored, shown) -> None:
    figures = {} if stored is None else {"dropped_keys": stored}
    add(mongo_db, MIGRATION, "r1", 0, [row("digital_twins", **figures)])
    CaptureState(mongo_db).update_status(
        capture_status() | {"collections": {"digital_twins": {"seen": 3, "dropped_keys": stored}}}
    )

    twins = by_name(load_state(mongo_db, NOW))["digital_twins"]

    assert twins["dropped_keys"] == shown
    assert twins["capture"]["dropped_keys"] == shown
