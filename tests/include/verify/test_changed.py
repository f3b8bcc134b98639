"""Unit tests for include.firestore_to_mongo.verify.changed: how its times read, the run id its
findings go under, whether the change journal vouches for a time (on the wire server, or
TEST_MONGODB_URI), and its list of paths read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from include.firestore_to_mongo.target.capture_state import CaptureState
from include.firestore_to_mongo.verify.changed import Seen, iso, journal_covers, run_id_of, verify_changed
from include.firestore_to_mongo.verify.config import VerifyConfig
from include.firestore_to_mongo.verify.errors import JournalGapError

NOV_1 = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        pytest.param(NOV_1, "2026-11-01T00:00:00Z", id="utc"),
        pytest.param(NOV_1.replace(microsecond=123000), "2026-11-01T00:00:00.123Z", id="milliseconds"),
        pytest.param(
            datetime(2026, 11, 1, 2, tzinfo=timezone(timedelta(hours=2))), "2026-11-01T00:00:00Z", id="offset"
        ),
    ],
)
def test_iso(moment: datetime, expected: str) -> None:
    assert iso(moment) == expected


@pytest.mark.parametrize(
    ("run_key", "run_id"),
    [
        pytest.param(
            "firestore_to_mongo_verify/manual__2026-11-01T00:00:00+00:00",
            "manual__2026-11-01T00:00:00+00:00",
            id="verify-dag",
        ),
        pytest.param("cutover/scheduled__x", "scheduled__x", id="another-dag"),
        pytest.param("a/b/c", "b/c", id="only-the-first-slash-divides"),
        pytest.param("plain", "plain", id="no-dag-id"),
    ],
)
def test_run_id_of(run_key: str, run_id: str) -> None:
    assert run_id_of(run_key) == run_id


# --- journal_covers --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("journal_since", "since", "problem"),
    [
        pytest.param(
            None,
            NOV_1,
            "changed_since 2026-11-01T00:00:00Z: change capture has never run against this database",
            id="capture-never-ran",
        ),
        pytest.param(
            NOV_1 + timedelta(seconds=1),
            NOV_1,
            "changed_since 2026-11-01T00:00:00Z is before 2026-11-01T00:00:01Z, the start of the change "
            "journal",
            id="journal-starts-later",
        ),
        pytest.param(NOV_1, NOV_1, None, id="journal-starts-then"),
        pytest.param(NOV_1 - timedelta(days=3), NOV_1, None, id="journal-starts-before"),
        pytest.param(NOV_1, NOV_1 + timedelta(days=30), None, id="a-time-in-the-future"),
    ],
)
def test_journal_covers(
    mongo_db, journal_since: datetime | None, since: datetime, problem: str | None
) -> None:
    state = CaptureState(mongo_db)
    if journal_since is not None:
        state.set_journal_since(journal_since)
    if problem is None:
        journal_covers(mongo_db, since)
        return
    with pytest.raises(JournalGapError) as excinfo:
        journal_covers(mongo_db, since)
    assert str(excinfo.value).startswith(problem)


def test_a_capture_status_without_journal_since_vouches_for_nothing(mongo_db) -> None:
    CaptureState(mongo_db).update_status({"state": "running"})
    with pytest.raises(JournalGapError, match="never run"):
        journal_covers(mongo_db, NOV_1)


@pytest.mark.parametrize(
    "params",
    [
        pytest.param({"depth": "counts"}, id="counts"),
        pytest.param({"sample_size": 5}, id="a-sample"),
    ],
)
def test_verify_changed_refuses_what_it_cant_do_before_any_work(params: dict) -> None:
    config = VerifyConfig.from_params(params | {"firestore_conn_id": "none", "mongo_conn_id": "none"})
    with pytest.raises(ValueError, match="depth keys or full, without a sample"):
        verify_changed(config, "users", NOV_1, "dag/run")


# --- Seen ------------------------------------------------------------------------------


def test_seen_tells_live_from_gone_and_lists_the_gone_in_batches() -> None:
    with Seen() as seen:
        seen.add(["users/a", "users/b"], live=True)
        seen.add(["users/c", "users/d", "users/e"], live=False)
        # Read again, now gone.
        seen.add(["users/b"], live=False)
        assert seen.among(["users/a", "users/b", "users/z"], live=True) == {"users/a"}
        assert seen.among(["users/a", "users/b", "users/c"], live=False) == {"users/b", "users/c"}
        assert list(seen.gone(2)) == [["users/b", "users/c"], ["users/d", "users/e"]]
