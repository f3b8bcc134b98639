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


def path_from_ids(ids: tuple[str, ...], shape: PathShape) -> str | None:
    """The path of `shape` that carries `ids` (the inverse of ids_from_path), or None
    when they can't be document ids."""
    if len(ids) != shape.count(None) or not all(_is_document_id(value) for value in ids):
        return None
    filled = iter(ids)
    return "/".join(segment if segment is not None else next(filled) for segment in shape)


def _is_document_id(value: object) -> bool:
    return isinstance(value, str) and value not in ("", ".", "..") and "/" not in value
