"""Unit tests for include.firestore_to_mongo.capture.figures: the lag's percentiles, the keys
the contract drops, in capture's stored figures and in its log table (the applier's counting is tested in
test_applier.py)."""

from __future__ import annotations

import json

import pytest

from include.firestore_to_mongo.capture.figures import CaptureFigures, percentile
from include.firestore_to_mongo.contract.dropped import SHOWN
from include.firestore_to_mongo.contract.specs import COLLECTION_NAMES

NOTHING = {"names": [], "more": 0, "more_at_least": False}
TEN = [5.0, 1.0, 4.0, 2.0, 3.0, 10.0, 7.0, 6.0, 9.0, 8.0]


# Nearest rank: the smallest value with at least that fraction of the values at or below it.
@pytest.mark.parametrize(
    ("values", "fraction", "expected"),
    [
        pytest.param([], 0.5, None, id="no-values"),
        pytest.param([3.0], 0.95, 3.0, id="one-value"),
        pytest.param(TEN, 0.5, 5.0, id="p50-of-ten"),
        pytest.param(TEN, 0.95, 10.0, id="p95-of-ten-is-the-max"),
        pytest.param(TEN, 0.01, 1.0, id="a-small-fraction-is-the-min"),
        pytest.param(TEN, 1.0, 10.0, id="p100"),
        pytest.param([*range(1, 101)], 0.95, 95, id="p95-of-a-hundred"),
        pytest.param([*range(1, 101)], 0.951, 96, id="a-rank-between-values-rounds-up"),
    ],
)
def test_percentile_is_the_nearest_rank(values, fraction, expected):
    assert percentile(values, fraction) == expected


@pytest.mark.parametrize(
    ("documents", "stored", "logged"),
    [
        pytest.param([], NOTHING, [], id="nothing-dropped"),
        pytest.param(
            [("digital_twins/t2", ["voice_id"]), ("digital_twins/t1", ["voice_id", "mood"])],
            {
                "names": [
                    {"name": "voice_id", "documents": 2, "example": "digital_twins/t1"},
                    {"name": "mood", "documents": 1, "example": "digital_twins/t1"},
                ],
                "more": 0,
                "more_at_least": False,
            },
            [
                "- digital_twins: dropped by the contract: `voice_id` in 2 documents (e.g. digital_twins/t1); "
                "`mood` in 1 document (e.g. digital_twins/t1)"
            ],
            id="counted-with-examples",
        ),
        pytest.param(
            [("digital_twins/t1", [f"k{number:03d}" for number in range(SHOWN + 4)])],
            None,
            None,
            id="past-the-cap-stored-as-a-number",
        ),
    ],
)
def test_dropped_keys_in_the_figures_and_the_table(documents, stored, logged) -> None:
    figures = CaptureFigures(list(COLLECTION_NAMES))
    for path, keys in documents:
        figures["digital_twins"].dropped_keys.add(path, keys)

    as_dict = figures.as_dict()
    twins = as_dict["collections"]["digital_twins"]["dropped_keys"]
    if stored is not None:
        assert twins == stored
    else:
        # Capture never merges: the names past the cap are stored as their number, no digests.
        assert (len(twins["names"]), twins["more"], "more_digests" in twins) == (SHOWN, 4, False)
    assert as_dict["collections"]["users"]["dropped_keys"] == NOTHING
    assert json.loads(json.dumps(twins)) == twins

    table = figures.table(None).splitlines()
    notes = [line for line in table if line.startswith("- ")]
    if logged is not None:
        assert notes == logged
    else:
        assert notes[0].endswith("; and 4 more names")
