"""include.firestore_to_mongo.source.faults: which Firestore errors are transient."""

from __future__ import annotations

import grpc
import pytest
from google.api_core import exceptions as google_exceptions

from include.firestore_to_mongo.source.errors import SourceUnavailableError
from include.firestore_to_mongo.source.faults import (
    ONE_TRY,
    faults_of,
    firestore_fault,
    read_through_faults,
)


class RawRpcError(grpc.RpcError):
    """What a raw gRPC stream raises."""

    def __init__(self, code: grpc.StatusCode) -> None:
        self._code = code

    def code(self) -> grpc.StatusCode:
        return self._code


UNAVAILABLE = "unavailable: the connection was closed, reset or refused (UNAVAILABLE)"


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (google_exceptions.ServiceUnavailable("Socket closed"), UNAVAILABLE),
        (google_exceptions.DeadlineExceeded("Deadline Exceeded"), "no answer in time (DEADLINE_EXCEEDED)"),
        (google_exceptions.ResourceExhausted("quota"), "out of quota or overloaded (RESOURCE_EXHAUSTED)"),
        (RawRpcError(grpc.StatusCode.UNAVAILABLE), UNAVAILABLE),
        (RawRpcError(grpc.StatusCode.DEADLINE_EXCEEDED), "no answer in time (DEADLINE_EXCEEDED)"),
        # Not transient: fail at once.
        (google_exceptions.PermissionDenied("no access"), None),
        (google_exceptions.Unauthenticated("no credentials"), None),
        (google_exceptions.InvalidArgument("bad query"), None),
        (google_exceptions.FailedPrecondition("needs an index"), None),
        (google_exceptions.NotFound("no database"), None),
        (google_exceptions.MethodNotImplemented("501"), None),
        (RawRpcError(grpc.StatusCode.PERMISSION_DENIED), None),
        (ValueError("not a gRPC error"), None),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else None,
)
def test_which_errors_are_transient(error: Exception, expected: str | None) -> None:
    assert firestore_fault(error) == expected


def test_the_clients_own_retry_is_off() -> None:
    # The query stream asks it whether to go on after a fault part-way: never.
    assert ONE_TRY._predicate(google_exceptions.ServiceUnavailable("x")) is False


class Client:
    """Stands for a Firestore client: only its identity matters here."""


def test_reads_through_faults_are_counted_per_client() -> None:
    first, second = Client(), Client()
    errors = [google_exceptions.ServiceUnavailable("Socket closed")] * 2

    def read():
        if errors:
            raise errors.pop()
        return ["snapshot"]

    assert read_through_faults(first, "reading a page of users", 60, read) == ["snapshot"]
    assert (faults_of(first).count, faults_of(second).count) == (2, 0)


def test_a_read_that_keeps_failing_names_itself() -> None:
    def read():
        raise google_exceptions.ServiceUnavailable("Socket closed")

    with pytest.raises(SourceUnavailableError) as raised:
        read_through_faults(Client(), "reading a page of users", 0, read)
    assert str(raised.value) == (
        f"Firestore reading a page of users: {UNAVAILABLE}; gave up after 1 try (timeout_seconds 0)"
    )
