"""Partition: JSON round trip; time windows cover the read without gaps or overlaps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from google.api_core.exceptions import PermissionDenied, ServiceUnavailable

from include.firestore_to_mongo.contract.specs import MESSAGES, USERS
from include.firestore_to_mongo.source.errors import SourceUnavailableError
from include.firestore_to_mongo.source.partitions import Partition, _time_windows, plan_partitions, split

SINCE = datetime(2026, 11, 1, tzinfo=UTC)
NOW = datetime(2026, 11, 1, 4, tzinfo=UTC)


@pytest.mark.parametrize(
    "partition",
    [
        Partition(0, 1, "single"),
        Partition(1, 3, "twin ranges", start="digital_twins/a", end="digital_twins/m"),
        Partition(2, 4, "time windows", since=SINCE, until=NOW),
    ],
)
def test_round_trip(partition):
    assert Partition.from_dict(partition.to_dict()) == partition


def test_time_windows_are_contiguous_and_the_last_is_open():
    windows = _time_windows(4, SINCE, NOW)
    assert [w.since for w in windows] == [SINCE + timedelta(hours=h) for h in range(4)]
    assert [w.until for w in windows] == [SINCE + timedelta(hours=h) for h in (1, 2, 3)] + [None]
    assert {(w.count, w.method) for w in windows} == {(4, "time windows")}
    assert [w.index for w in windows] == [0, 1, 2, 3]


def test_no_window_to_split_when_since_is_not_in_the_past():
    assert _time_windows(4, NOW, NOW) == [Partition(0, 1, "time windows")]


@pytest.mark.parametrize(
    ("spec", "wanted"),
    [pytest.param(USERS, 8, id="plain-collection"), pytest.param(MESSAGES, 1, id="one-wanted")],
)
def test_one_partition_without_a_query(spec, wanted):
    # No client needed: nothing to ask Firestore.
    assert plan_partitions(None, spec, wanted, None, NOW, 5) == [Partition(0, 1, "single")]


def test_incremental_group_reads_split_by_time():
    parts = plan_partitions(None, MESSAGES, 3, SINCE, NOW, 5)
    assert [p.method for p in parts] == ["time windows"] * 3


class FailingGroup:
    def __init__(self, errors: list[Exception]) -> None:
        self.errors = errors

    def get_partitions(self, *args, **kwargs):
        if self.errors:
            raise self.errors.pop(0)
        return iter([SimpleNamespace(start_at=None, end_at=None)])


class FailingClient:
    def __init__(self, *errors: Exception) -> None:
        self.group = FailingGroup(list(errors))

    def collection_group(self, name: str) -> FailingGroup:
        return self.group


def test_a_failing_split_says_what_it_was_doing() -> None:
    with pytest.raises(SourceUnavailableError) as raised:
        split(FailingClient(PermissionDenied("no access")), MESSAGES, 4, None, datetime.now(UTC), timeout=5)
    assert str(raised.value) == "splitting messages into partitions: Firestore failed: 403 no access"
    assert isinstance(raised.value.__cause__, PermissionDenied)


def test_a_split_rides_out_a_transient_fault() -> None:
    from include.firestore_to_mongo.source.faults import faults_of

    client = FailingClient(ServiceUnavailable("the backend is restarting"))
    # PartitionQuery answered (one part: the whole group) after one fault.
    assert [p.method for p in split(client, MESSAGES, 4, None, datetime.now(UTC), timeout=30)] == [
        "PartitionQuery"
    ]
    assert faults_of(client).count == 1


def test_a_split_that_needs_no_query_asks_nothing() -> None:
    assert split(FailingClient(), USERS, 4, None, datetime.now(UTC), timeout=5) == [Partition(0, 1, "single")]
