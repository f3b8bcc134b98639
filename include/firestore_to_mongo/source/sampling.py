"""Read a sample of a collection, spread over it, without reading the rest.

Firestore has no random read, but auto-generated document ids are random strings
over [0-9A-Za-z]. The name space is cut at `probes` points spaced evenly over
that alphabet (shifted by a per-run offset), into ranges that cover every name
once. Each range gives its share of the sample from its start; a range that runs
out passes the rest of its share on, so the sample has exactly the size asked for
(or the whole collection, when it is smaller), and no document is read twice.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from include.firestore_to_mongo.contract.specs import CollectionSpec
from include.firestore_to_mongo.source.partitions import Partition
from include.firestore_to_mongo.source.reader import Page, ReadPosition, read_pages

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
BOUNDARY_LENGTH = 4
MAX_PROBES = 100


def boundary(fraction: float) -> str:
    """The id at `fraction` (0 ≤ fraction < 1) of the way through the auto-id alphabet."""
    digits = []
    for _ in range(BOUNDARY_LENGTH):
        fraction *= len(ALPHABET)
        digit = int(fraction)
        digits.append(ALPHABET[digit])
        fraction -= digit
    return "".join(digits)


def sample_ranges(spec: CollectionSpec, probes: int, offset: float) -> list[Partition]:
    """Name ranges that cover the collection once, cut at `probes` evenly spaced ids.

    A collection group's names are cut at its top-level parents (`digital_twins/<id>`).
    """
    parent = spec.path_shape[0]
    cuts = sorted({f"{parent}/{boundary(((index + offset) / probes) % 1)}" for index in range(probes)})
    bounds = [*zip(cuts, [*cuts[1:], None], strict=True), (None, cuts[0])]
    return [Partition(index, len(bounds), "sample", start, end) for index, (start, end) in enumerate(bounds)]


def sample_pages(
    client,
    spec: CollectionSpec,
    size: int,
    page_size: int,
    timeout: float,
    offset: float,
    limiter=None,
) -> Iterator[Page]:
    """Pages holding `size` documents of the collection on the migrated paths (fewer
    only when it has fewer), taken evenly from ranges spread over it."""
    ranges = sample_ranges(spec, min(size, MAX_PROBES), offset)
    positions: list[ReadPosition | None] = [None] * len(ranges)
    open_ranges = list(range(len(ranges)))
    remaining = size
    while remaining > 0 and open_ranges:
        # One pass over the ranges still open: each takes an even share of what is left.
        this_pass = list(open_ranges)
        for turn, index in enumerate(this_pass):
            quota = math.ceil(remaining / (len(this_pass) - turn))
            while quota > 0:
                wanted = min(page_size, quota)
                page = next(
                    read_pages(
                        client,
                        spec,
                        wanted,
                        timeout,
                        resume_after=positions[index],
                        partition=ranges[index],
                        limiter=limiter,
                    ),
                    None,
                )
                if page is None:
                    open_ranges.remove(index)
                    break
                positions[index] = page.position
                quota -= len(page.documents)
                remaining -= len(page.documents)
                yield page
                if len(page.documents) + page.out_of_scope < wanted:
                    open_ranges.remove(index)
                    break
