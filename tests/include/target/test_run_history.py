"""Tests for include.firestore_to_mongo.target.run_history: the record of one run (`run_record`),
storing it with a bounded history (`record_run`, on the wire server or TEST_MONGODB_URI),
and the summary tasks' entry point (`record_summary`), which never fails a run."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from include.firestore_to_mongo.migrate.report import missing_report
from include.firestore_to_mongo.target.run_history import (
    FIGURES,
    KEEP_RUNS,
    MIGRATION,
    RUNS,
    VERIFY,
    record_run,
    record_summary,
    run_record,
)
from include.firestore_to_mongo.verify.report import failed_row
from tests.backends import airflow_mongo_connection

ENDED = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)


def row(collection: str, **figures) -> dict:
    """A migration summary row, as a collection task reports it (CollectionReport.to_dict)."""
    return {
        "collection": collection,
        "status": "ok",
        "mode": "incremental",
        "dry_run": False,
        "read": 10,
        "inserted": 1,
        "updated": 2,
        "unchanged": 7,
        "seconds": 1.5,
        "docs_per_second": 6.7,
    } | figures


def record(run_id: str, ended_at: datetime, **figures) -> dict:
    return run_record(MIGRATION, "firestore_to_mongo", run_id, [row("users", **figures)], ended_at)


# --- run_record: what is kept per collection ---------------------------------------------


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        pytest.param({"read": 5}, {"read": 5}, id="a-figure-is-kept"),
        pytest.param({"read": 0}, {"read": 0}, id="zero-is-kept"),
        pytest.param({"dry_run": False}, {"dry_run": False}, id="false-is-kept"),
        pytest.param({"failed_examples": []}, {"failed_examples": []}, id="empty-list-is-kept"),
        pytest.param({"read": None}, {}, id="none-is-dropped"),
        pytest.param({"stale": None, "deleted": 0}, {"deleted": 0}, id="none-dropped-others-kept"),
        pytest.param({"watermark_before": "2026-11-01T00:00:00+00:00"}, {}, id="not-a-figure"),
        pytest.param({"warnings": 3, "pages": 9, "stale_samples": [{"a": 1}]}, {}, id="report-only-keys"),
        pytest.param({"collection": "users"}, {}, id="the-collection-key-itself"),
        pytest.param(
            {"remaining": 4, "depth": "full"}, {"remaining": 4, "depth": "full"}, id="verify-figures"
        ),
        pytest.param(
            {name: index + 1 for index, name in enumerate(FIGURES)},
            {name: index + 1 for index, name in enumerate(FIGURES)},
            id="every-figure",
        ),
    ],
)
def test_run_record_keeps_only_the_figures_that_are_set(given: dict, kept: dict) -> None:
    made = run_record(MIGRATION, "d", "r", [{"collection": "users"} | given], ENDED)

    assert made["collections"] == {"users": kept}


@pytest.mark.parametrize(
    ("rows", "collections"),
    [
        pytest.param([row("users"), row("messages")], ["users", "messages"], id="all-kept"),
        pytest.param([row("users"), missing_report("messages", "skipped")], ["users"], id="skipped-left-out"),
        pytest.param(
            [missing_report("users", "skipped"), missing_report("messages", "skipped")], [], id="all-skipped"
        ),
        pytest.param(
            [row("users"), missing_report("messages", "failed")], ["users", "messages"], id="failed-kept"
        ),
        pytest.param(
            [failed_row("users", "skipped"), failed_row("messages")], ["messages"], id="verify-rows"
        ),
    ],
)
def test_run_record_leaves_skipped_collections_out(rows: list[dict], collections: list[str]) -> None:
    assert list(run_record(MIGRATION, "d", "r", rows, ENDED)["collections"]) == collections


@pytest.mark.parametrize(
    ("rows", "status"),
    [
        pytest.param([row("users"), row("messages")], "success", id="all-ok"),
        pytest.param([row("users"), row("messages", status="failed")], "failed", id="one-failed"),
        pytest.param([row("users"), missing_report("messages", "failed")], "failed", id="one-crashed"),
        pytest.param([failed_row("users")], "failed", id="verify-task-crashed"),
        pytest.param([row("users", failed=3)], "success", id="failed-documents-are-not-a-failed-run"),
        pytest.param([row("users", status="differences", remaining=2)], "failed", id="differences-remain"),
        pytest.param([row("users", status="verified", remaining=0)], "success", id="nothing-remains"),
        pytest.param([row("users", status="differences", remaining=0)], "success", id="all-repaired"),
        pytest.param([row("users", remaining=None)], "success", id="remaining-unknown"),
        pytest.param([row("users"), row("messages", remaining=1)], "failed", id="one-of-two-remains"),
        pytest.param([row("users"), missing_report("messages", "skipped")], "success", id="skipped-is-fine"),
        pytest.param([missing_report("users", "skipped")], "success", id="nothing-run"),
        pytest.param([], "success", id="no-rows"),
    ],
)
def test_run_record_status(rows: list[dict], status: str) -> None:
    assert run_record(MIGRATION, "d", "r", rows, ENDED)["status"] == status


@pytest.mark.parametrize(
    ("rows", "dry_run"),
    [
        pytest.param([row("users"), row("messages")], False, id="none"),
        pytest.param([row("users"), row("messages", dry_run=True)], True, id="one"),
        pytest.param([row("users", dry_run=True), row("messages", dry_run=True)], True, id="all"),
        pytest.param([missing_report("users", "failed")], False, id="unknown"),
        pytest.param([], False, id="no-rows"),
    ],
)
def test_run_record_dry_run(rows: list[dict], dry_run: bool) -> None:
    assert run_record(MIGRATION, "d", "r", rows, ENDED)["dry_run"] is dry_run


@pytest.mark.parametrize(
    ("kind", "dag_id", "run_id", "expected_id"),
    [
        pytest.param(
            MIGRATION, "firestore_to_mongo", "scheduled__1", "firestore_to_mongo/scheduled__1", id="migration"
        ),
        pytest.param(
            VERIFY,
            "firestore_to_mongo_verify",
            "manual__2026-11-29T08:00:00+00:00",
            "firestore_to_mongo_verify/manual__2026-11-29T08:00:00+00:00",
            id="verify",
        ),
    ],
)
def test_run_record_names_the_run(kind: str, dag_id: str, run_id: str, expected_id: str) -> None:
    started = ENDED - timedelta(minutes=5)
    made = run_record(kind, dag_id, run_id, [row("users")], ENDED, started)

    assert {key: made[key] for key in ("_id", "kind", "dag_id", "run_id", "started_at", "ended_at")} == {
        "_id": expected_id,
        "kind": kind,
        "dag_id": dag_id,
        "run_id": run_id,
        # The start: where the cut-over's verify of what changed begins.
        "started_at": started,
        "ended_at": ENDED,
    }
    assert set(made) == {
        "_id",
        "kind",
        "dag_id",
        "run_id",
        "started_at",
        "ended_at",
        "status",
        "dry_run",
        "collections",
    }


# --- record_run ----------------------------------------------------------------------------


def test_record_run_stores_the_record(mongo_db) -> None:
    made = record("scheduled__1", ENDED, read=42)

    record_run(mongo_db, made)

    assert list(mongo_db[RUNS].find()) == [made]


@pytest.mark.parametrize(
    "figures",
    [
        pytest.param([{"read": 1}, {"read": 2}], id="retried-summary"),
        pytest.param([{"read": 1}, {"read": 2}, {"read": 3}], id="retried-twice"),
        pytest.param([{"status": "failed"}, {"status": "ok"}], id="failed-then-ok"),
    ],
)
def test_record_run_replaces_the_same_run(mongo_db, figures: list[dict]) -> None:
    for number, these in enumerate(figures):
        record_run(mongo_db, record("scheduled__1", ENDED + timedelta(minutes=number), **these))

    stored = list(mongo_db[RUNS].find())
    assert len(stored) == 1
    assert stored[0] == record("scheduled__1", ENDED + timedelta(minutes=len(figures) - 1), **figures[-1])


@pytest.mark.parametrize(
    ("hours", "keep", "kept"),
    [
        pytest.param([0, 1, 2], 5, [0, 1, 2], id="under-the-limit"),
        pytest.param([0, 1, 2], 3, [0, 1, 2], id="at-the-limit"),
        pytest.param([0, 1, 2, 3], 3, [1, 2, 3], id="one-over"),
        pytest.param([0, 1, 2, 3, 4], 2, [3, 4], id="several-over"),
        pytest.param([0, 1, 2], 1, [2], id="keep-one"),
        # Recorded out of order: the newest by ended_at stay, not the last recorded.
        pytest.param([3, 0, 4, 1, 2], 2, [3, 4], id="recorded-out-of-order"),
        pytest.param([4, 3, 2, 1, 0], 3, [2, 3, 4], id="recorded-newest-first"),
    ],
)
def test_record_run_keeps_the_newest(mongo_db, hours: list[int], keep: int, kept: list[int]) -> None:
    for hour in hours:
        record_run(mongo_db, record(f"run_{hour}", ENDED + timedelta(hours=hour)), keep=keep)

    stored = sorted(found["run_id"] for found in mongo_db[RUNS].find())
    assert stored == [f"run_{hour}" for hour in kept]


def test_record_run_keeps_other_kinds_within_the_same_limit(mongo_db) -> None:
    record_run(mongo_db, record("old", ENDED), keep=2)
    record_run(
        mongo_db,
        run_record(VERIFY, "firestore_to_mongo_verify", "verify", [row("users")], ENDED + timedelta(hours=1)),
        keep=2,
    )
    record_run(mongo_db, record("new", ENDED + timedelta(hours=2)), keep=2)

    assert sorted(found["run_id"] for found in mongo_db[RUNS].find()) == ["new", "verify"]


def test_record_run_keeps_the_last_500_by_default(mongo_db) -> None:
    mongo_db[RUNS].insert_many(
        [record(f"run_{number}", ENDED + timedelta(hours=number)) for number in range(KEEP_RUNS)]
    )

    record_run(mongo_db, record("newest", ENDED + timedelta(hours=KEEP_RUNS)))

    assert KEEP_RUNS == 500
    assert mongo_db[RUNS].count_documents({}) == KEEP_RUNS
    assert mongo_db[RUNS].count_documents({"run_id": "run_0"}) == 0
    assert mongo_db[RUNS].count_documents({"run_id": {"$in": ["run_1", "newest"]}}) == 2


# --- record_summary ------------------------------------------------------------------------


def config(mongo_db: str | None) -> SimpleNamespace:
    return SimpleNamespace(mongo_conn_id="mongo_default", mongo_db=mongo_db, timeout_seconds=1)


TI = SimpleNamespace(dag_id="firestore_to_mongo", run_id="manual__1")


@pytest.mark.parametrize("kind", [MIGRATION, VERIFY])
def test_record_summary_stores_the_run(mongo_uri, mongo_db, monkeypatch, kind: str) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_MONGO_DEFAULT", airflow_mongo_connection(mongo_uri, "not_this_one"))
    before = datetime.now(UTC)

    record_summary(config(mongo_db.name), kind, TI, [row("users"), missing_report("messages", "skipped")])

    (stored,) = mongo_db[RUNS].find()
    assert stored["_id"] == "firestore_to_mongo/manual__1"
    assert stored["kind"] == kind
    assert list(stored["collections"]) == ["users"]
    assert before - timedelta(seconds=1) <= stored["ended_at"] <= datetime.now(UTC) + timedelta(seconds=1)


def test_a_dry_run_is_not_recorded(mongo_uri, mongo_db, monkeypatch) -> None:
    """A dry run writes nothing to MongoDB, not even the page's record."""
    monkeypatch.setenv("AIRFLOW_CONN_MONGO_DEFAULT", airflow_mongo_connection(mongo_uri, mongo_db.name))
    dry = SimpleNamespace(mongo_conn_id="mongo_default", mongo_db=None, timeout_seconds=1, dry_run=True)

    record_summary(dry, MIGRATION, TI, [row("users")])

    assert mongo_db.list_collection_names() == []


@pytest.mark.parametrize(
    "uri",
    [
        pytest.param("mongo://127.0.0.1:{port}/app", id="no-credentials"),
        pytest.param("mongo://ftm:s3cret-pw@127.0.0.1:{port}/app", id="with-credentials"),
    ],
)
def test_record_summary_warns_when_mongo_is_unreachable(monkeypatch, caplog, closed_port, uri: str) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_MONGO_DEFAULT", uri.format(port=closed_port))
    caplog.set_level(logging.WARNING, logger="include.firestore_to_mongo.target.run_history")

    started = time.monotonic()
    record_summary(config(None), MIGRATION, TI, [row("users")])

    assert time.monotonic() - started < 10
    warnings = [
        found for found in caplog.records if found.name == "include.firestore_to_mongo.target.run_history"
    ]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING
    # Wrapped within the summary's 120 characters a line.
    assert max(len(line) for line in warnings[0].getMessage().splitlines()) <= 120
    message = " ".join(warnings[0].getMessage().split())
    assert f"could not store this run in {RUNS}" in message
    assert "connection refused; gave up after" in message
    assert "(timeout_seconds 1)" in message
    assert "s3cret-pw" not in caplog.text
