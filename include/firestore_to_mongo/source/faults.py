"""Which Firestore errors are transient, in plain words, and the one way to read through them.

Transient: gRPC `UNAVAILABLE` (a closed, reset or refused connection; the service
restarting), `DEADLINE_EXCEEDED` (no answer in time) and `RESOURCE_EXHAUSTED` (quota or
load: back off). Everything else (permission denied, a bad query, a missing index) is
not: it fails at once.

Every Firestore read goes through `read_through_faults` with the client's own retry
turned off (`ONE_TRY`), so that each fault is retried, logged and counted once, by the
project's Retrier (util.retry), within the task's `timeout_seconds`. Reads are safe to
repeat: a page is read again from the same cursor position, a batch of documents by the
same paths.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import TypeVar

import grpc
from google.api_core import exceptions as google_exceptions
from google.api_core.retry import Retry

from include.firestore_to_mongo.source.errors import SourceUnavailableError
from include.firestore_to_mongo.util.retry import Backend, FaultCount, Retrier

T = TypeVar("T")

# The Firestore client's own retry, turned off: the client would otherwise retry quietly,
# with its own deadlines. (Not None: a query stream cut part-way asks the retry object
# whether to go on, and None has no answer.)
ONE_TRY = Retry(predicate=lambda error: False)

_REASONS = {
    grpc.StatusCode.UNAVAILABLE: "unavailable: the connection was closed, reset or refused (UNAVAILABLE)",
    grpc.StatusCode.DEADLINE_EXCEEDED: "no answer in time (DEADLINE_EXCEEDED)",
    grpc.StatusCode.RESOURCE_EXHAUSTED: "out of quota or overloaded (RESOURCE_EXHAUSTED)",
}


def firestore_fault(error: BaseException) -> str | None:
    """What went wrong, in plain words, when `error` is a transient fault; else None."""
    code = None
    if isinstance(error, google_exceptions.GoogleAPICallError):
        code = error.grpc_status_code
        if code is None and isinstance(error, google_exceptions.TooManyRequests):
            code = grpc.StatusCode.RESOURCE_EXHAUSTED
    elif isinstance(error, grpc.RpcError) and hasattr(error, "code"):
        code = error.code()
    return _REASONS.get(code)


FIRESTORE = Backend("Firestore", firestore_fault, SourceUnavailableError)

_FAULTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def faults_of(client) -> FaultCount:
    """The transient faults the reads of `client` (one task's Firestore client) rode out."""
    found = _FAULTS.get(client)
    if found is None:
        found = _FAULTS.setdefault(client, FaultCount())
    return found


def read_through_faults(client, what: str, timeout: float, read: Callable[[], T]) -> T:
    """`read()` (which must pass `retry=ONE_TRY`), tried again on transient faults for
    up to `timeout` seconds; counted in `faults_of(client)`."""
    return Retrier(FIRESTORE, timeout, faults_of(client)).call(what, read)
