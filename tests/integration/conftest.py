"""Fixtures the integration tests share."""

from __future__ import annotations

from collections import Counter

import pytest
from google.cloud.firestore_v1.query import Query


@pytest.fixture
def reads(monkeypatch) -> Counter:
    """Documents Firestore returned to queries, by collection id, counted as they stream.

    Reads of ids only (the full run's check for deleted sources, and the twin
    list the partitioning splits at) count under "<collection id> ids".
    """
    counts: Counter = Counter()
    original = Query.stream

    def counting_stream(self, *args, **kwargs):
        suffix = " ids" if self._projection is not None else ""
        for snapshot in original(self, *args, **kwargs):
            counts[snapshot.reference.parent.id + suffix] += 1
            yield snapshot

    monkeypatch.setattr(Query, "stream", counting_stream)
    return counts
