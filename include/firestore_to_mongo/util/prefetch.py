"""Read the next page while the current one is written."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

# A TypeVar, not `def prefetched[T]`: the DAG package runs on Python 3.11 too.
T = TypeVar("T")
_DONE = object()


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def prefetched(items: Iterator[T], name: str = "firestore-prefetch") -> Iterator[T]:
    """Yield what `items` yields, producing the next item in a background thread.

    At most two items exist at a time: the one the caller holds and the one read
    ahead. The reader only starts on another item once the caller has asked for
    the next one, so memory stays bounded by two batches and throughput
    approaches the slower of reading and writing instead of their sum. An error
    in the reader is raised in the caller, at the item where it happened.
    """
    slots = threading.Semaphore(2)
    handoff: queue.Queue = queue.Queue()
    stop = threading.Event()

    def read() -> None:
        try:
            while True:
                slots.acquire()
                if stop.is_set():
                    return
                try:
                    item = next(items)
                except StopIteration:
                    handoff.put(_DONE)
                    return
                handoff.put(item)
        except BaseException as error:  # handed to the caller, who decides
            handoff.put(_Failed(error))

    reader = threading.Thread(target=read, name=name, daemon=True)
    reader.start()
    try:
        while True:
            item = handoff.get()
            if item is _DONE:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item
            # The caller is done with `item`: its slot is free for the read-ahead.
            slots.release()
    finally:
        stop.set()
        slots.release()
        reader.join(timeout=60)
