"""bench/capture.py's pure helpers: lag statistics, the change mix, the settings' parsing, keys."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bench.capture import (
    MIX,
    Write,
    app_messages_at,
    change_kinds,
    commit_time,
    lag_stats,
    lag_trend,
    message_key,
    parse_sizes,
    user_version,
)


def test_lag_stats():
    assert lag_stats([1.0, 3.0, 2.0]) == {"count": 3, "p50": 2.0, "p95": 3.0, "max": 3.0}
    assert lag_stats([]) == {"count": 0, "p50": None, "p95": None, "max": None}


def test_change_kinds_are_deterministic_and_follow_the_mix():
    kinds = change_kinds(2_000)
    assert kinds == change_kinds(2_000)
    assert kinds != change_kinds(2_000, seed=1)
    total = sum(weight for _, weight in MIX)
    for kind, weight in MIX:
        assert abs(kinds.count(kind) / len(kinds) - weight / total) < 0.04, kind


def test_parse_sizes():
    assert parse_sizes("3000,30000") == (3_000, 30_000)
    assert parse_sizes(" 3_000 , 30_000, ") == (3_000, 30_000)
    for bad in ("", "0", "3000,-1", "many"):
        with pytest.raises(ValueError, match=r"not a number|must be positive|no sizes"):
            parse_sizes(bad)


def test_message_key_and_user_version():
    assert message_key("digital_twins/twin003/conversations/conv0003/messages/msg00001") == {
        "digital_twin_id": "twin003",
        "conversation_id": "conv0003",
        "message_id": "msg00001",
    }
    assert user_version("user003 #17") == 17
    assert user_version("user003") == -1
    assert user_version(None) == -1
    assert user_version("a #b") == -1


def test_app_messages_at_counts_creates_and_deletes_up_to_the_write():
    def write(kind: str) -> Write:
        return Write(0, kind, "messages", "p", "t", {}, lambda doc: True)

    writes = [write("new message"), write("delete message"), write("delete message"), write("edit user")]
    assert [app_messages_at(writes, 100, each) for each in writes] == [101, 100, 99, 99]


def test_commit_time_of_a_write_result_and_of_a_timestamp():
    moment = datetime(2026, 12, 5, 12, 0, 1, 500_000, tzinfo=UTC)

    class Result:
        update_time = moment

    class Timestamp:
        def timestamp(self) -> float:
            return moment.timestamp()

    assert commit_time(Result()) == moment
    assert commit_time(moment.replace(tzinfo=None)) == moment
    assert commit_time(Timestamp()) == moment


def test_lag_trend():
    assert lag_trend([0.5, 0.6, 0.7]).startswith("steady")
    assert lag_trend([1.6, 10.4, 15.0]).startswith("growing")
    assert lag_trend([None, 1.0, 2.0]).startswith("unknown")
