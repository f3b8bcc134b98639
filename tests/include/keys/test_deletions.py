"""The question deletions asks a run's key ledger (`LocalKeyLedger.missing`): which of these
MongoDB keys did no source document claim? On local disk.

stale_keys and find_and_prune need a MongoDB collection: the integration tests cover them.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from include.firestore_to_mongo.contract.claims import Claim
from include.firestore_to_mongo.contract.mapping import encode_key
from include.firestore_to_mongo.keys.deletions import SAMPLE_KEYS
from include.firestore_to_mongo.keys.ledger import LocalKeyLedger
from include.firestore_to_mongo.run.params import MAX_BATCH_SIZE


def add(ledger: LocalKeyLedger, keys) -> None:
    """Claim each key, as a document of its own would."""
    ledger.record([(encode_key(key), Claim(f"c/{index}", True)) for index, key in enumerate(keys)])


@pytest.fixture
def ledger():
    with LocalKeyLedger() as key_ledger:
        yield key_ledger


@pytest.mark.parametrize(
    ("added", "asked", "missing"),
    [
        pytest.param([], [("a",)], [("a",)], id="empty-ledger"),
        pytest.param([("a",)], [("a",)], [], id="present"),
        pytest.param([("a",), ("b",)], [("a",), ("c",), ("b",), ("d",)], [("c",), ("d",)], id="mixed"),
        pytest.param([("a",)], [("d",), ("c",), ("b",)], [("d",), ("c",), ("b",)], id="order-kept"),
        pytest.param([("1",)], [(1,), ("1",)], [(1,)], id="string-one-is-not-int-one"),
        pytest.param([(1,)], [("1",), (1,)], [("1",)], id="int-one-is-not-string-one"),
        pytest.param([(1,)], [(1.0,)], [(1.0,)], id="float-is-not-int"),
        pytest.param([("a",)], [("A",)], [("A",)], id="case-sensitive"),
        pytest.param([("a",)], [("a ",)], [("a ",)], id="whitespace-significant"),
        pytest.param([("zoë",), ("日本",)], [("zoë",), ("日本",), ("zoe",)], [("zoe",)], id="unicode"),
        pytest.param([("",)], [("",)], [], id="empty-string-key"),
        pytest.param([(0,), (-5,), (2**62,)], [(0,), (-5,), (2**62,), (2**63,)], [(2**63,)], id="ints"),
        pytest.param(
            [("t1", "c1", "m1")],
            [("t1", "c1", "m1"), ("t1", "c1", "m2"), ("c1", "t1", "m1"), ("t1", "c1")],
            [("t1", "c1", "m2"), ("c1", "t1", "m1"), ("t1", "c1")],
            id="compound-order-and-length-matter",
        ),
        pytest.param([("a,b",)], [("a", "b"), ("a,b",)], [("a", "b")], id="no-join-collision"),
        pytest.param([('a"', "b")], [('a"', "b"), ("a", '"b')], [("a", '"b')], id="quotes-escaped"),
        pytest.param([("t1", 1)], [("t1", 1), ("t1", "1")], [("t1", "1")], id="compound-mixed-types"),
        pytest.param([("a",), ("a",)], [("a",)], [], id="duplicates-ignored"),
        pytest.param([("a",)], [("b",), ("b",)], [("b",), ("b",)], id="duplicate-question"),
    ],
)
def test_missing(
    ledger: LocalKeyLedger, added: list[tuple], asked: list[tuple], missing: list[tuple]
) -> None:
    add(ledger, added)
    assert ledger.missing(asked) == missing


def test_missing_of_nothing(ledger: LocalKeyLedger) -> None:
    add(ledger, [("a",)])
    assert ledger.missing([]) == []


def test_add_takes_any_iterable(ledger: LocalKeyLedger) -> None:
    add(ledger, (key for key in [("a",), ("b",)]))
    add(ledger, iter([("c",)]))
    add(ledger, [])
    assert ledger.missing([("a",), ("b",), ("c",), ("d",)]) == [("d",)]


def test_add_accumulates(ledger: LocalKeyLedger) -> None:
    for i in range(5):
        add(ledger, [(f"k{i}",)])
    assert ledger.missing([(f"k{i}",) for i in range(6)]) == [("k5",)]


def test_many_keys(ledger: LocalKeyLedger) -> None:
    add(ledger, ((f"t{i % 10}", f"c{i}", i) for i in range(20_000)))
    asked = [(f"t{i % 10}", f"c{i}", i) for i in range(19_990, 20_010)]
    assert ledger.missing(asked) == asked[10:]


def test_missing_takes_a_whole_batch(ledger: LocalKeyLedger) -> None:
    # find_and_prune asks about up to batch_size keys in one query.
    add(ledger, ((i,) for i in range(0, MAX_BATCH_SIZE, 2)))
    missing = ledger.missing([(i,) for i in range(MAX_BATCH_SIZE)])
    assert missing == [(i,) for i in range(1, MAX_BATCH_SIZE, 2)]


def test_ledgers_are_independent() -> None:
    with LocalKeyLedger() as first, LocalKeyLedger() as second:
        add(first, [("a",)])
        assert second.missing([("a",)]) == [("a",)]


def test_context_manager_removes_the_file() -> None:
    with LocalKeyLedger() as ledger:
        directory = Path(ledger._directory.name)
        add(ledger, [("a",)])
        assert (directory / "claims.sqlite").exists()
    assert not directory.exists()
    with pytest.raises(sqlite3.ProgrammingError):
        ledger.missing([("a",)])


def test_context_manager_closes_on_error() -> None:
    ledger = LocalKeyLedger()
    directory = Path(ledger._directory.name)

    def fail_inside() -> None:
        with ledger:
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        fail_inside()
    assert not directory.exists()


def test_close() -> None:
    ledger = LocalKeyLedger()
    directory = Path(ledger._directory.name)
    ledger.close()
    assert not directory.exists()


def test_sample_keys() -> None:
    assert SAMPLE_KEYS == 5
