"""Map one Firestore document to the Mongo document the contract asks for. Pure: no I/O."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import bson

from include.firestore_to_mongo.contract.paths import ids_from_path
from include.firestore_to_mongo.contract.specs import CollectionSpec
from include.firestore_to_mongo.contract.timestamps import TimestampError, parse_timestamp
from include.firestore_to_mongo.contract.values import UnsupportedValueError, convert_value

# BSON's own limit; pymongo would reject a larger update for the whole batch.
MAX_BSON_SIZE = 16 * 1024 * 1024
KEY_TYPES = (str, int)


class MappingError(ValueError):
    """A document that can't be migrated; the message says why."""


@dataclass
class MappedDocument:
    path: str
    key: dict[str, Any]
    fields: dict[str, Any]
    # "field: reason" for each timestamp that was kept unparsed.
    warnings: list[str] = field(default_factory=list)
    # The source's top-level field names the contract drops (see contract.dropped).
    dropped: list[str] = field(default_factory=list)


def map_document(spec: CollectionSpec, path: str, data: dict[str, Any]) -> MappedDocument:
    """Apply `spec` to the document at `path` with fields `data`.

    Raises MappingError when the document can't be migrated.
    """
    key = upsert_key(spec, path, data)
    fields: dict[str, Any] = dict(key)
    warnings: list[str] = []

    for target, source in spec.copied.items():
        if source in data:
            fields[target] = _convert_field(target, data[source], spec, warnings)
    for prefix in spec.copied_prefixes:
        for name in sorted(data):
            if name.startswith(prefix):
                _check_top_level_name(name)
                fields[name] = _convert_field(name, data[name], spec, warnings)
    if spec.derives_message_type:
        fields["type"] = message_type(data)

    _check_encodable(fields)
    return MappedDocument(
        path=path, key=key, fields=fields, warnings=warnings, dropped=spec.dropped_keys(data)
    )


def upsert_key(spec: CollectionSpec, path: str, data: dict[str, Any]) -> dict[str, Any]:
    """The document's upsert key (in index order), from its id field and its path.

    Raises MappingError when the path is not the spec's or a key value can't be a key.
    """
    ids = ids_from_path(path, spec.path_shape)
    if ids is None:
        raise MappingError(f"path is not of the form {'/'.join(s or '{id}' for s in spec.path_shape)}")
    own_id = data.get(spec.id_field)
    key = {spec.id_field: ids[-1] if own_id is None or own_id == "" else own_id}
    # Parent ids always come from the path: a stale copy in the document must not
    # move a conversation or message to another twin.
    key.update(zip(spec.path_fields, ids[:-1], strict=True))
    for name, value in key.items():
        if not isinstance(value, KEY_TYPES) or isinstance(value, bool):
            raise MappingError(f"{name} must be a string or an integer, not {type(value).__name__}")
    return {name: key[name] for name in spec.key_fields}


def encode_key(values: Iterable[Any]) -> str:
    """A key's values as text, for ledgers: JSON tells "1" from 1, as MongoDB does (keys
    are strings or integers only)."""
    return json.dumps(list(values), ensure_ascii=False)


def owns_its_key(spec: CollectionSpec, path: str, key: dict[str, Any]) -> bool:
    """Whether the key's id comes from the document's own id (no id field, or the same
    value), rather than naming some other id in a field."""
    return key[spec.id_field] == path.rsplit("/", 1)[-1]


def _convert_field(name: str, value: Any, spec: CollectionSpec, warnings: list[str]) -> Any:
    if name in spec.timestamp_fields:
        try:
            return parse_timestamp(value)
        except TimestampError as error:
            warnings.append(f"{name}: {error}; kept unchanged")
    try:
        return convert_value(value)
    except UnsupportedValueError as error:
        raise MappingError(f"{name}: {error}") from None


def message_type(data: dict[str, Any]) -> str:
    """The contract's `type`: "text", the first media item's type, or "media"."""
    media = data.get("media")
    if media is None:
        items = []
    elif isinstance(media, list):
        items = media
    else:
        items = [media]
    content = data.get("content")
    if content is not None and content != "" and not items:
        return "text"
    first = items[0] if items else None
    if isinstance(first, dict) and isinstance(first.get("type"), str) and first["type"]:
        return first["type"]
    return "media"


def _check_top_level_name(name: str) -> None:
    # `$set` reads "a.b" as a path into a nested document and rejects "$a";
    # copying such a key would write somewhere else than the source says.
    if "." in name or name.startswith("$"):
        raise MappingError(f"field name {name!r} can't be written by a MongoDB $set ('.' or leading '$')")


def _check_encodable(fields: dict[str, Any]) -> None:
    try:
        size = len(bson.encode(fields))
    except (bson.errors.InvalidDocument, OverflowError, ValueError) as error:
        raise MappingError(f"not storable in BSON: {error}") from None
    if size > MAX_BSON_SIZE:
        raise MappingError(f"{size} bytes is over MongoDB's {MAX_BSON_SIZE}-byte document limit")
