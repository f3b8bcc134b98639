"""Tests for include.firestore_to_mongo.source.sampling: the id boundaries, the ranges that cover the
name space once, and sample_pages against the Firestore emulator.

Seeded documents get ids shaped like Firestore's auto ids (20 characters of the auto-id
alphabet) from a seeded generator, so every run reads the same spread.
"""

from __future__ import annotations

import random

import pytest

from include.firestore_to_mongo.contract.specs import (
    CONVERSATIONS,
    DIGITAL_TWINS,
    MESSAGES,
    USERS,
    CollectionSpec,
)
from include.firestore_to_mongo.source.sampling import (
    ALPHABET,
    BOUNDARY_LENGTH,
    MAX_PROBES,
    boundary,
    sample_pages,
    sample_ranges,
)

TIMEOUT = 30
SPECS = [
    pytest.param(USERS, "users", id="users"),
    pytest.param(DIGITAL_TWINS, "digital_twins", id="digital-twins"),
    pytest.param(CONVERSATIONS, "digital_twins", id="conversations-group"),
    pytest.param(MESSAGES, "digital_twins", id="messages-group"),
]


# --- boundary --------------------------------------------------------------------------


def test_alphabet_is_in_firestores_byte_order() -> None:
    assert list(ALPHABET) == sorted(ALPHABET)
    assert len(ALPHABET) == len(set(ALPHABET)) == 62


@pytest.mark.parametrize(
    ("fraction", "expected"),
    [
        pytest.param(0.0, "0000", id="start"),
        pytest.param(1 / 62, "1000", id="second-digit"),
        pytest.param(10 / 62, "A000", id="first-capital"),
        pytest.param(0.5, "V000", id="half"),
        pytest.param(36 / 62, "a000", id="first-small-letter"),
        pytest.param(1 / 62**2, "0100", id="second-place"),
        pytest.param(1 / 62**4, "0001", id="last-place"),
        pytest.param(1 - 1e-12, "zzzz", id="just-under-one"),
    ],
)
def test_boundary(fraction: float, expected: str) -> None:
    assert boundary(fraction) == expected


@pytest.mark.parametrize("steps", [pytest.param(62, id="alphabet"), pytest.param(1000, id="fine")])
def test_boundary_is_monotonic_and_four_alphabet_characters(steps: int) -> None:
    boundaries = [boundary(step / steps) for step in range(steps)]
    assert all(len(value) == BOUNDARY_LENGTH == 4 for value in boundaries)
    assert all(set(value) <= set(ALPHABET) for value in boundaries)
    # Fractions further apart than the last place's step give strictly increasing ids.
    assert boundaries == sorted(set(boundaries))


# --- sample_ranges ---------------------------------------------------------------------


def contains(partition, name: str) -> bool:
    return (partition.start is None or partition.start <= name) and (
        partition.end is None or name < partition.end
    )


@pytest.mark.parametrize(("spec", "parent"), SPECS)
@pytest.mark.parametrize("probes", [1, 2, 7, MAX_PROBES])
@pytest.mark.parametrize("offset", [0.0, 0.37, 0.999])
def test_sample_ranges_chain_over_the_parent(
    spec: CollectionSpec, parent: str, probes: int, offset: float
) -> None:
    ranges = sample_ranges(spec, probes, offset)
    cuts = [partition.start for partition in ranges[:-1]]
    assert len(ranges) == probes + 1
    assert cuts == sorted(cuts)
    assert all(cut.startswith(f"{parent}/") and len(cut) == len(parent) + 1 + 4 for cut in cuts)
    # The first range starts at the first cut; each range ends where the next starts; the
    # range after the last cut is open; the last range is everything before the first cut.
    assert [partition.end for partition in ranges[:-2]] == cuts[1:]
    assert ranges[-2].end is None
    assert (ranges[-1].start, ranges[-1].end) == (None, cuts[0])
    assert [(partition.index, partition.count, partition.method) for partition in ranges] == [
        (index, probes + 1, "sample") for index in range(probes + 1)
    ]


@pytest.mark.parametrize(("spec", "parent"), SPECS)
@pytest.mark.parametrize("offset", [0.0, 0.5, 0.81])
def test_every_name_is_in_exactly_one_range(spec: CollectionSpec, parent: str, offset: float) -> None:
    ranges = sample_ranges(spec, 9, offset)
    rng = random.Random(7)
    names = [
        "",
        "a",
        f"{parent}",
        f"{parent}/",
        f"{parent}/0000",
        f"{parent}/zzzz",
        f"{parent}/zzzzzzzz",
        f"{parent}/-id",
        f"{parent}/{ALPHABET[0] * 20}",
        f"{parent}/{ALPHABET[-1] * 20}/conversations/c",
        "users/u/conversations/c/messages/m",
        "~",
        *(f"{parent}/{''.join(rng.choices(ALPHABET, k=20))}" for _ in range(200)),
        *(partition.start for partition in ranges[:-1]),
    ]
    for name in names:
        assert sum(contains(partition, name) for partition in ranges) == 1, name


@pytest.mark.parametrize(
    ("probes", "offset", "cuts"),
    [
        pytest.param(1, 0.0, ["0000"], id="one-probe"),
        pytest.param(2, 0.0, ["0000", "V000"], id="halves"),
        # A quarter of 62 is 15.5: "F" (15), then half of the next place, "V" (31).
        pytest.param(4, 0.0, ["0000", "FV00", "V000", "kV00"], id="quarters"),
        pytest.param(2, 0.5, ["FV00", "kV00"], id="halves-shifted-by-a-quarter"),
    ],
)
def test_sample_range_cuts(probes: int, offset: float, cuts: list[str]) -> None:
    ranges = sample_ranges(USERS, probes, offset)
    assert [partition.start for partition in ranges[:-1]] == [f"users/{cut}" for cut in cuts]


def test_offsets_one_apart_give_the_same_ranges() -> None:
    assert sample_ranges(MESSAGES, 4, 0.0) == sample_ranges(MESSAGES, 4, 1.0)
    assert sample_ranges(MESSAGES, 4, 0.0) != sample_ranges(MESSAGES, 4, 0.1)


# --- sample_pages on the emulator -------------------------------------------------------


def auto_ids(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choices(ALPHABET, k=20)) for _ in range(count)]


def seed(client, paths: list[str]) -> None:
    batch = client.batch()
    for path in paths:
        batch.set(client.document(path), {"name": path})
    batch.commit()


def sampled_paths(client, spec: CollectionSpec, size: int, page_size: int, offset: float) -> list[str]:
    pages = list(sample_pages(client, spec, size, page_size, TIMEOUT, offset))
    assert all(len(page.documents) + page.out_of_scope <= page_size for page in pages)
    return [document.path for page in pages for document in page.documents]


@pytest.mark.parametrize("size", [1, 7, 50, 80])
@pytest.mark.parametrize("offset", [0.0, 0.37, 0.9])
@pytest.mark.parametrize("page_size", [1, 500])
def test_a_sample_has_the_size_asked_for_and_no_document_twice(
    firestore_client, size: int, offset: float, page_size: int
) -> None:
    seeded = {f"digital_twins/{doc_id}" for doc_id in auto_ids(50, seed=1)}
    seed(firestore_client, sorted(seeded))

    paths = sampled_paths(firestore_client, DIGITAL_TWINS, size, page_size, offset)

    assert len(paths) == min(size, 50)
    assert len(set(paths)) == len(paths)
    assert set(paths) <= seeded


@pytest.mark.parametrize("data_seed", range(4))
@pytest.mark.parametrize("size", [3, 4, 5, 20])
def test_ranges_that_run_out_mid_pass_pass_their_share_on(
    firestore_client, data_seed: int, size: int
) -> None:
    """Several ranges running out early in one pass (the case that once divided by zero)."""
    seeded = {f"digital_twins/{doc_id}" for doc_id in auto_ids(30, seed=100 + data_seed)}
    seed(firestore_client, sorted(seeded))
    for offset in (0.0, 0.13, 0.42, 0.77):
        paths = sampled_paths(firestore_client, DIGITAL_TWINS, size, 2, offset)
        assert len(paths) == len(set(paths)) == size, offset


@pytest.mark.parametrize(
    ("ids", "size"),
    [
        pytest.param([f"k{number:03}" for number in range(12)], 10, id="all-in-one-range"),
        pytest.param([f"-{number:03}" for number in range(12)], 10, id="all-before-the-first-cut"),
        pytest.param([f"zzzzz{number:03}" for number in range(12)], 10, id="all-after-the-last-cut"),
        pytest.param([f"k{number:03}" for number in range(12)], 40, id="fewer-than-asked"),
    ],
)
def test_empty_ranges_pass_their_share_on(firestore_client, ids: list[str], size: int) -> None:
    seed(firestore_client, [f"users/{doc_id}" for doc_id in ids])
    paths = sampled_paths(firestore_client, USERS, size, 3, 0.0)
    assert len(paths) == len(set(paths)) == min(size, len(ids))


def test_an_empty_collection_gives_no_pages(firestore_client) -> None:
    assert list(sample_pages(firestore_client, USERS, 10, 5, TIMEOUT, 0.3)) == []


def test_a_sample_starts_at_the_cuts(firestore_client) -> None:
    # One document right at each cut of two probes at offset 0 ("0000", "V000"), and
    # others after them: a sample of 2 takes the document at each cut.
    seed(firestore_client, [f"users/{doc_id}" for doc_id in ("0000", "0001", "V000", "V001", "k")])
    assert sampled_paths(firestore_client, USERS, 2, 10, 0.0) == ["users/0000", "users/V000"]


def message_paths(twins: list[str]) -> list[str]:
    return [
        f"digital_twins/{twin}/conversations/c{conversation}/messages/{message}"
        for number, twin in enumerate(twins)
        for conversation in range(2)
        for message in auto_ids(3, seed=10 * number + conversation)
    ]


OUT_OF_SCOPE = [
    *(f"users/u{number}/conversations/c/messages/m{number}" for number in range(10)),
    *(f"digital_twins/{twin}/messages/m" for twin in auto_ids(5, seed=3)),
    *(f"digital_twins/{twin}/chats/c/messages/m" for twin in auto_ids(5, seed=4)),
]


@pytest.mark.parametrize("size", [1, 5, 24, 40])
@pytest.mark.parametrize("offset", [0.0, 0.6])
def test_a_collection_group_sample_counts_only_migrated_paths(
    firestore_client, size: int, offset: float
) -> None:
    in_scope = message_paths(auto_ids(4, seed=2))
    assert len(in_scope) == 24
    seed(firestore_client, [*in_scope, *OUT_OF_SCOPE])

    pages = list(sample_pages(firestore_client, MESSAGES, size, 4, TIMEOUT, offset))
    paths = [document.path for page in pages for document in page.documents]

    assert len(paths) == len(set(paths)) == min(size, 24)
    assert set(paths) <= set(in_scope)
    if size > 24:
        # The whole group was read: every out-of-scope document was seen and left out.
        assert sum(page.out_of_scope for page in pages) == len(OUT_OF_SCOPE)


def test_a_collection_group_with_only_out_of_scope_documents_gives_none(firestore_client) -> None:
    seed(firestore_client, OUT_OF_SCOPE)
    pages = list(sample_pages(firestore_client, MESSAGES, 10, 3, TIMEOUT, 0.2))
    assert [document for page in pages for document in page.documents] == []
    assert sum(page.out_of_scope for page in pages) == len(OUT_OF_SCOPE)


def test_real_auto_ids(firestore_client) -> None:
    for number in range(50):
        firestore_client.collection("digital_twins").document().set({"number": number})
    for size, offset in [(1, 0.0), (7, 0.5), (50, 0.25), (80, 0.9)]:
        paths = sampled_paths(firestore_client, DIGITAL_TWINS, size, 4, offset)
        assert len(paths) == len(set(paths)) == min(size, 50), (size, offset)
