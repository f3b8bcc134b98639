"""Which Firestore document paths belong to the migration, and the ids they carry."""

from __future__ import annotations

# A path shape, with None where a document id goes.
PathShape = tuple[str | None, ...]


def ids_from_path(path: str, shape: PathShape) -> tuple[str, ...] | None:
    """Return the document ids along `path` when it has exactly `shape`, else None.

    `ids_from_path("digital_twins/t/conversations/c", ("digital_twins", None,
    "conversations", None))` is `("t", "c")`. A collection-group query also
    returns same-named subcollections elsewhere (under `users/{uid}`, say);
    those don't match the shape and are left out.
    """
    segments = path.split("/")
    if len(segments) != len(shape):
        return None
    ids = []
    for segment, expected in zip(segments, shape, strict=True):
        if expected is None:
            ids.append(segment)
        elif segment != expected:
            return None
    return tuple(ids)
