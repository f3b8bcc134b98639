"""include.firestore_to_mongo.target.faults: which MongoDB errors are transient, and the
fault in plain words. No server: the errors are made as pymongo raises them."""

from __future__ import annotations

import pytest
from pymongo.errors import (
    AutoReconnect,
    BulkWriteError,
    ConfigurationError,
    DocumentTooLarge,
    DuplicateKeyError,
    NetworkTimeout,
    NotPrimaryError,
    OperationFailure,
    ServerSelectionTimeoutError,
    WaitQueueTimeoutError,
)

from include.firestore_to_mongo.target.faults import MONGODB, TargetUnavailableError, mongo_fault

NO_PRIMARY = "no primary (the primary stepped down or is shutting down)"

TRANSIENT = {
    "connection closed": (AutoReconnect("connection closed"), "connection closed by the server"),
    "connection reset": (
        AutoReconnect("localhost:27017: [Errno 104] Connection reset by peer"),
        "connection closed by the server",
    ),
    "connection refused": (AutoReconnect("[Errno 111] Connection refused"), "connection refused"),
    "another connection failure": (AutoReconnect("name resolution failed"), "connection failed"),
    "network timeout": (NetworkTimeout("timed out"), "no answer in time"),
    "wait queue timeout": (WaitQueueTimeoutError("timed out waiting for a connection"), "no answer in time"),
    "not primary": (NotPrimaryError("not primary"), NO_PRIMARY),
    "selection: no primary": (
        ServerSelectionTimeoutError('No replica set members match selector "Primary()"'),
        "no primary",
    ),
    "selection: refused": (
        ServerSelectionTimeoutError("localhost:1: [Errno 111] Connection refused"),
        "connection refused",
    ),
    "selection: nothing answered": (
        ServerSelectionTimeoutError("No servers found yet, Timeout: 5.0s"),
        "no server answered in time",
    ),
    "code 189 (primary stepped down)": (OperationFailure("x", code=189), NO_PRIMARY),
    "code 91 (shutting down)": (OperationFailure("x", code=91), NO_PRIMARY),
    "code 10107 (not writable primary)": (OperationFailure("x", code=10107), NO_PRIMARY),
    "code 6 (host unreachable)": (OperationFailure("x", code=6), "network error between the servers"),
    "RetryableWriteError label": (
        OperationFailure("x", details={"errorLabels": ["RetryableWriteError"]}),
        "transient error (RetryableWriteError)",
    ),
    "TransientTransactionError label": (
        OperationFailure("x", code=112, details={"errorLabels": ["TransientTransactionError"]}),
        "transient error (TransientTransactionError)",
    ),
    "bulk write, write concern error 91": (
        BulkWriteError({"writeErrors": [], "writeConcernErrors": [{"code": 91}]}),
        NO_PRIMARY,
    ),
}

NOT_TRANSIENT = {
    "auth failed": OperationFailure("auth failed", code=18),
    "bad query": OperationFailure("unknown top level operator: $bogus", code=2),
    "duplicate key": DuplicateKeyError("E11000 duplicate key error", code=11000),
    "document too large": DocumentTooLarge("BSON document too large"),
    "bulk write, duplicate key only": BulkWriteError(
        {"writeErrors": [{"index": 0, "code": 11000, "errmsg": "E11000"}], "writeConcernErrors": []}
    ),
    "configuration": ConfigurationError("bad URI"),
    "not pymongo's": ValueError("connection closed"),
    "gave up already": TargetUnavailableError("MongoDB find on x: no primary; gave up"),
}


@pytest.mark.parametrize(("error", "reason"), TRANSIENT.values(), ids=TRANSIENT.keys())
def test_a_transient_fault_in_plain_words(error, reason):
    assert mongo_fault(error) == reason


@pytest.mark.parametrize("error", NOT_TRANSIENT.values(), ids=NOT_TRANSIENT.keys())
def test_other_errors_are_not_transient(error):
    assert mongo_fault(error) is None


def test_the_backend():
    assert MONGODB.name == "MongoDB"
    assert MONGODB.transient is mongo_fault
    error = MONGODB.unavailable("MongoDB find on x: no primary")
    assert isinstance(error, TargetUnavailableError)
    assert str(error) == "MongoDB find on x: no primary"
