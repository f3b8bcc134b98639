"""Fixtures the integration tests share."""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest
from google.cloud.firestore_v1.query import Query


class Reads(Counter):
    """Documents Firestore returned to queries, by collection id, counted as they stream;
    `paths` has each collection id's full-document reads by path, in the order they came."""

    def __init__(self) -> None:
        super().__init__()
        self.paths: defaultdict[str, list[str]] = defaultdict(list)

    def clear(self) -> None:
        super().clear()
        self.paths.clear()


@pytest.fixture
def reads(monkeypatch) -> Reads:
    """Documents Firestore returned to queries, by collection id, counted as they stream.

    Reads of ids only (the full run's check for deleted sources, and the twin
    list the partitioning splits at) count under "<collection id> ids".
    """
    counts = Reads()
    original = Query.stream

    def counting_stream(self, *args, **kwargs):
        suffix = " ids" if self._projection is not None else ""
        for snapshot in original(self, *args, **kwargs):
            counts[snapshot.reference.parent.id + suffix] += 1
            if not suffix:
                counts.paths[snapshot.reference.parent.id].append(snapshot.reference.path)
            yield snapshot

    monkeypatch.setattr(Query, "stream", counting_stream)
    return counts
