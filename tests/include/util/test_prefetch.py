"""prefetched(): same items, in order, read ahead by at most one, errors passed on."""

from __future__ import annotations

import threading

import pytest

from include.firestore_to_mongo.util.prefetch import prefetched


class Source:
    """An iterator that records how far it has been read, and when."""

    def __init__(self, count: int, fail_at: int | None = None) -> None:
        self.count = count
        self.fail_at = fail_at
        self.produced = 0
        self.reading = threading.Event()

    def __iter__(self):
        return self

    def __next__(self) -> int:
        if self.produced == self.fail_at:
            raise RuntimeError(f"read {self.produced} failed")
        if self.produced == self.count:
            raise StopIteration
        self.produced += 1
        return self.produced


@pytest.mark.parametrize("count", [0, 1, 2, 7])
def test_yields_every_item_in_order(count):
    assert list(prefetched(Source(count))) == list(range(1, count + 1))


def test_reads_at_most_one_item_ahead():
    source = Source(10)
    seen = []
    for item in prefetched(source):
        seen.append(item)
        # Give the reader every chance to run further ahead than it may.
        for _ in range(50):
            threading.Event().wait(0.001)
        assert source.produced <= item + 1
    assert seen == list(range(1, 11))


def test_a_read_error_reaches_the_caller_after_the_items_before_it():
    items = prefetched(Source(10, fail_at=3))
    assert [next(items), next(items), next(items)] == [1, 2, 3]
    with pytest.raises(RuntimeError, match="read 3 failed"):
        next(items)


def test_stopping_early_stops_the_reader():
    source = Source(1000)
    for item in prefetched(source):
        if item == 2:
            break
    threading.Event().wait(0.05)
    assert source.produced <= 3
