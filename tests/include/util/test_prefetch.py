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
        self._changed = threading.Condition()

    def __iter__(self):
        return self

    def __next__(self) -> int:
        with self._changed:
            if self.produced == self.fail_at:
                raise RuntimeError(f"read {self.produced} failed")
            if self.produced == self.count:
                raise StopIteration
            self.produced += 1
            self._changed.notify_all()
            return self.produced

    def wait_until_produced(self, count: int) -> None:
        """Block until `count` items have been read; the timeout only guards against a hang."""
        with self._changed:
            assert self._changed.wait_for(lambda: self.produced >= count, timeout=10), (
                f"the reader stopped at {self.produced}, expected {count}"
            )


@pytest.mark.parametrize("count", [0, 1, 2, 7])
def test_yields_every_item_in_order(count):
    assert list(prefetched(Source(count))) == list(range(1, count + 1))


def test_reads_at_most_one_item_ahead():
    source = Source(10)
    seen = []
    for item in prefetched(source):
        seen.append(item)
        # The reader does read ahead: wait (no guess at its speed) for the one item it may.
        source.wait_until_produced(min(item + 1, source.count))
        # Then give it every chance to run further ahead than it may. Only a faulty reader
        # could be caught here; a slow one can never make this fail.
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
    for item in prefetched(source, name="prefetch-stopping-early"):
        if item == 2:
            break
    # Leaving the loop closes the generator, which joins its reader: no waiting needed.
    assert not [thread for thread in threading.enumerate() if thread.name == "prefetch-stopping-early"]
    assert source.produced <= 3
