"""Which MongoDB errors are transient, in plain words.

Transient: the connection closed or reset, no answer in time, no primary (stepping
down, an election, a node shutting down), and whatever the server labels
`RetryableWriteError` or `TransientTransactionError`. Everything else (auth, a bad
query, a document too large, a duplicate key the caller did not expect) is not: it
fails at once.
"""

from __future__ import annotations

from pymongo.errors import (
    AutoReconnect,
    BulkWriteError,
    ConnectionFailure,
    NetworkTimeout,
    NotPrimaryError,
    OperationFailure,
    PyMongoError,
    ServerSelectionTimeoutError,
    WaitQueueTimeoutError,
)

from include.firestore_to_mongo.util.retry import Backend

# The server's codes for "no primary", "node is recovering" and "shutting down", and the
# network codes, as the retryable-writes specification lists them.
NO_PRIMARY_CODES = frozenset({10058, 10107, 13435, 11602, 13436, 189})
SHUTDOWN_CODES = frozenset({11600, 91})
NETWORK_CODES = frozenset({6, 7, 89, 9001})
TRANSIENT_LABELS = ("RetryableWriteError", "TransientTransactionError")


class TargetUnavailableError(RuntimeError):
    """MongoDB failed or did not answer, for longer than the task's timeout."""


def mongo_fault(error: BaseException) -> str | None:
    """What went wrong, in plain words, when `error` is a transient fault; else None."""
    if not isinstance(error, PyMongoError):
        return None
    text = str(error).lower()
    if isinstance(error, ServerSelectionTimeoutError):
        # The driver found no server it may use: none answered, or (replica set) no primary.
        if "primary" in text:
            return "no primary"
        if "refused" in text:
            return "connection refused"
        return "no server answered in time"
    if isinstance(error, NotPrimaryError):
        return "no primary (the primary stepped down or is shutting down)"
    if isinstance(error, NetworkTimeout | WaitQueueTimeoutError):
        return "no answer in time"
    if isinstance(error, AutoReconnect | ConnectionFailure):
        if "refused" in text:
            return "connection refused"
        return "connection closed by the server" if _closed(text) else "connection failed"
    if isinstance(error, OperationFailure):
        codes = {error.code} | _write_concern_codes(error)
        if codes & (NO_PRIMARY_CODES | SHUTDOWN_CODES):
            return "no primary (the primary stepped down or is shutting down)"
        if codes & NETWORK_CODES:
            return "network error between the servers"
    for label in TRANSIENT_LABELS:
        if error.has_error_label(label):
            return f"transient error ({label})"
    return None


def _closed(text: str) -> bool:
    return any(word in text for word in ("closed", "reset", "broken pipe", "eof"))


def _write_concern_codes(error: OperationFailure) -> set[int]:
    if not isinstance(error, BulkWriteError):
        return set()
    return {item.get("code") for item in error.details.get("writeConcernErrors", [])}


MONGODB = Backend("MongoDB", mongo_fault, TargetUnavailableError)
