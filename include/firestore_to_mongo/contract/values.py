"""Convert Firestore value types, at any depth, into values BSON can store."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bson.binary import Binary
from google.cloud.firestore_v1 import DocumentReference, GeoPoint
from google.cloud.firestore_v1.vector import Vector

from include.firestore_to_mongo.contract.timestamps import to_bson_datetime

SCALARS = (str, int, float, bool, type(None))


class UnsupportedValueError(TypeError):
    """A value with no BSON equivalent."""


def convert_value(value: Any) -> Any:
    """Return `value` with every Firestore type replaced by its BSON-ready form.

    Timestamp → UTC datetime (ms), DocumentReference → its path string,
    map → map with sorted keys,
    GeoPoint → {latitude, longitude}, bytes → Binary, Vector → list of floats.
    """
    if isinstance(value, SCALARS):
        return value
    if isinstance(value, datetime):
        return to_bson_datetime(value)
    if isinstance(value, dict):
        # Firestore hands maps back in protobuf-map order, which nothing promises
        # to keep; MongoDB compares embedded documents field by field in order.
        # Sorted keys make a re-run write byte-identical documents.
        return {key: convert_value(value[key]) for key in sorted(value)}
    if isinstance(value, list | tuple):
        return [convert_value(item) for item in value]
    if isinstance(value, DocumentReference):
        return value.path
    if isinstance(value, GeoPoint):
        return {"latitude": value.latitude, "longitude": value.longitude}
    if isinstance(value, bytes | bytearray):
        return Binary(bytes(value))
    if isinstance(value, Vector):
        return [float(item) for item in value]
    raise UnsupportedValueError(f"unsupported value type {type(value).__name__}")
