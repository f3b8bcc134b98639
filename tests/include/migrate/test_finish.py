"""include.firestore_to_mongo.migrate.finish.combine_partitions: a collection's report from its
partitions' figures, as they come through XCom: counts and reasons add up, the rate is over
the collection's wall clock, the per-partition rate over the partitions' own time."""

from __future__ import annotations

import json

from include.firestore_to_mongo.migrate.config import RunConfig
from include.firestore_to_mongo.migrate.finish import combine_partitions
from include.firestore_to_mongo.migrate.report import CollectionReport

PLAN = {"mode": "full", "watermark_before": None}


def part(index: int, started: str, ended: str, seconds: float, read: int) -> dict:
    report = CollectionReport(
        collection="messages",
        target="avatar_conversations",
        dry_run=False,
        read=read,
        inserted=read - 1,
        seconds=seconds,
        started_at=started,
        ended_at=ended,
        status="ok",
    )
    report.record_warning(f"m/{index}", f"timestamp: unparseable date string 'v{index}': x; kept unchanged")
    report.record_failure(f"m/f{index}", "message_id must be a string or an integer, not list")
    return json.loads(json.dumps(report.to_dict() | {"partition": index}))


def test_partitions_add_up_over_the_wall_clock() -> None:
    parts = [
        part(0, "2026-11-29T12:00:00+00:00", "2026-11-29T12:00:08+00:00", 8.0, 400),
        part(1, "2026-11-29T12:00:01+00:00", "2026-11-29T12:00:10+00:00", 9.0, 400),
        part(2, "2026-11-29T12:00:02+00:00", "2026-11-29T12:00:05+00:00", 3.0, 200),
    ]
    report = combine_partitions("messages", RunConfig.from_params({}), PLAN, parts)
    figures = report.to_dict()
    assert (figures["read"], figures["failed"], figures["warnings"], figures["partitions"]) == (1000, 3, 3, 3)
    assert (figures["started_at"], figures["ended_at"]) == (
        "2026-11-29T12:00:00+00:00",
        "2026-11-29T12:00:10+00:00",
    )
    assert (figures["seconds"], figures["wall_seconds"]) == (20.0, 10.0)
    # 1,000 documents in 10 s of wall clock; each partition read 50 a second of its own time.
    assert (figures["docs_per_second"], figures["docs_per_second_per_partition"]) == (100.0, 50.0)
    assert figures["warning_reasons"]["reasons"] == [
        {"reason": "timestamp: unparseable date string …: x; kept unchanged", "count": 3, "example": "m/0"}
    ]
    assert figures["failure_reasons"]["reasons"] == [
        {"reason": "message_id must be a string or an integer, not list", "count": 3, "example": "m/f0"}
    ]
