"""include.firestore_to_mongo.source.listen: the Listen stream handler, fed sequences of real
`ListenResponse` messages (delta mode as real Firestore answers a resumed stream, reset mode
as the emulator answers every change), then the real stream on the emulator."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from google.cloud.firestore_v1.types import (
    Document,
    DocumentChange,
    DocumentDelete,
    DocumentRemove,
    ExistenceFilter,
    ListenResponse,
    TargetChange,
)
from google.rpc.status_pb2 import Status

from include.firestore_to_mongo.source.listen import (
    Consistent,
    CountCheck,
    DocumentChanged,
    DocumentGone,
    ListenHandler,
    ListenTargetRemovedError,
)

PREFIX = "projects/p/databases/(default)/documents/"
USERS, MESSAGES = 1, 2
TARGETS = {USERS: "users", MESSAGES: "messages"}
M1 = "digital_twins/t1/conversations/c1/messages/m1"
Kind = TargetChange.TargetChangeType


def at(second: int) -> datetime:
    return datetime(2026, 12, 5, 12, 0, second, tzinfo=UTC)


def target(kind, *ids: int, read_time: int | None = None, token: bytes = b"") -> ListenResponse:
    change = TargetChange(target_change_type=kind, target_ids=list(ids), resume_token=token)
    if read_time is not None:
        change.read_time = at(read_time)
    return ListenResponse(target_change=change)


def consistent(second: int) -> ListenResponse:
    """What ends every consistent snapshot: NO_CHANGE for no target in particular, with a read time."""
    return target(Kind.NO_CHANGE, read_time=second, token=f"token-{second}".encode())


def changed(path: str, *ids: int, value: str = "v", updated: int = 1, removed: tuple[int, ...] = ()):
    document = Document(
        name=PREFIX + path, fields={"value": {"string_value": value}}, update_time=at(updated)
    )
    return ListenResponse(
        document_change=DocumentChange(
            document=document, target_ids=list(ids), removed_target_ids=list(removed)
        )
    )


def deleted(path: str, *ids: int) -> ListenResponse:
    return ListenResponse(
        document_delete=DocumentDelete(document=PREFIX + path, removed_target_ids=list(ids))
    )


def removed(path: str, *ids: int) -> ListenResponse:
    return ListenResponse(
        document_remove=DocumentRemove(document=PREFIX + path, removed_target_ids=list(ids))
    )


def both_current(second: int) -> list[ListenResponse]:
    return [target(Kind.CURRENT, USERS, MESSAGES, read_time=second, token=b"t"), consistent(second)]


def handler(resumed: bool) -> ListenHandler:
    return ListenHandler(
        TARGETS, PREFIX, lambda fields: {name: value.string_value for name, value in fields.items()}, resumed
    )


def run(responses: list[ListenResponse], resumed: bool) -> list:
    """Every event, with each complete set shown as its sorted paths (and closed)."""
    listen = handler(resumed)
    shown = []
    for response in responses:
        for event in listen.handle(response):
            if isinstance(event, Consistent):
                sets = {name: sorted(_paths(paths)) for name, paths in event.complete_sets.items()}
                for paths in event.complete_sets.values():
                    paths.close()
                shown.append(("consistent", event.read_time.second, event.resume_token, sets))
            else:
                shown.append(event)
    listen.close()
    return shown


def _paths(paths) -> list[str]:
    return [row[0] for row in paths.db.execute("SELECT path FROM paths")]


CASES = [
    pytest.param(
        False,
        [
            target(Kind.ADD, USERS),
            target(Kind.ADD, MESSAGES),
            changed("users/u1", USERS),
            changed(M1, MESSAGES),
            *both_current(2),
        ],
        [
            DocumentChanged("users", "users/u1", {"value": "v"}, at(1)),
            DocumentChanged("messages", M1, {"value": "v"}, at(1)),
            ("consistent", 2, b"token-2", {"users": ["users/u1"], "messages": [M1]}),
        ],
        id="a-fresh-stream-sends-every-document-a-complete-set",
    ),
    pytest.param(
        True,
        [
            target(Kind.ADD, USERS, MESSAGES),
            changed("users/u1", USERS, value="new", updated=3),
            deleted(M1, MESSAGES),
            *both_current(4),
        ],
        [
            DocumentChanged("users", "users/u1", {"value": "new"}, at(3)),
            DocumentGone("messages", M1),
            ("consistent", 4, b"token-4", {}),
        ],
        id="delta-mode-resumed-changes-and-deletes-no-set",
    ),
    pytest.param(
        True,
        [
            target(Kind.ADD, USERS, MESSAGES),
            *both_current(2),
            removed("users/u2", USERS),
            changed("users/u3", USERS, removed=(MESSAGES,)),
            consistent(5),
        ],
        [
            ("consistent", 2, b"token-2", {}),
            DocumentGone("users", "users/u2"),
            DocumentChanged("users", "users/u3", {"value": "v"}, at(1)),
            DocumentGone("messages", "users/u3"),
            ("consistent", 5, b"token-5", {}),
        ],
        id="delta-mode-removes-and-a-document-leaving-a-target",
    ),
    pytest.param(
        True,
        [
            target(Kind.ADD, USERS, MESSAGES),
            *both_current(2),
            target(Kind.RESET, USERS, read_time=3),
            changed("users/u1", USERS),
            changed("users/u3", USERS),
            target(Kind.CURRENT, USERS, read_time=4),
            consistent(4),
        ],
        [
            ("consistent", 2, b"token-2", {}),
            DocumentChanged("users", "users/u1", {"value": "v"}, at(1)),
            DocumentChanged("users", "users/u3", {"value": "v"}, at(1)),
            ("consistent", 4, b"token-4", {"users": ["users/u1", "users/u3"]}),
        ],
        id="reset-mode-the-resent-set-is-complete-what-it-lacks-was-deleted",
    ),
    pytest.param(
        True,
        [
            target(Kind.ADD, USERS, MESSAGES),
            *both_current(2),
            target(Kind.RESET, USERS),
            changed("users/u1", USERS),
            changed("users/u9", USERS),
            deleted("users/u9", USERS),
            target(Kind.CURRENT, USERS, read_time=4),
            consistent(4),
        ],
        [
            ("consistent", 2, b"token-2", {}),
            DocumentChanged("users", "users/u1", {"value": "v"}, at(1)),
            DocumentChanged("users", "users/u9", {"value": "v"}, at(1)),
            DocumentGone("users", "users/u9"),
            ("consistent", 4, b"token-4", {"users": ["users/u1"]}),
        ],
        id="a-document-deleted-during-a-reset-leaves-the-set",
    ),
    pytest.param(
        True,
        [
            target(Kind.ADD, USERS, MESSAGES),
            *both_current(2),
            target(Kind.RESET, USERS),
            changed("users/u1", USERS),
            target(Kind.RESET, USERS),
            changed("users/u2", USERS),
            target(Kind.CURRENT, USERS, read_time=5),
            consistent(5),
        ],
        [
            ("consistent", 2, b"token-2", {}),
            DocumentChanged("users", "users/u1", {"value": "v"}, at(1)),
            DocumentChanged("users", "users/u2", {"value": "v"}, at(1)),
            ("consistent", 5, b"token-5", {"users": ["users/u2"]}),
        ],
        id="a-second-reset-drops-what-the-first-had-sent",
    ),
    pytest.param(
        True,
        [
            target(Kind.ADD, USERS, MESSAGES),
            *both_current(2),
            target(Kind.RESET, USERS),
            changed("users/u1", USERS),
        ],
        [("consistent", 2, b"token-2", {}), DocumentChanged("users", "users/u1", {"value": "v"}, at(1))],
        id="a-reset-cut-before-current-infers-nothing",
    ),
    pytest.param(
        True,
        [
            target(Kind.ADD, USERS, MESSAGES),
            *both_current(2),
            target(Kind.RESET),
            changed("users/u1", USERS),
            target(Kind.CURRENT),
            consistent(3),
        ],
        [
            ("consistent", 2, b"token-2", {}),
            DocumentChanged("users", "users/u1", {"value": "v"}, at(1)),
            ("consistent", 3, b"token-3", {"users": ["users/u1"], "messages": []}),
        ],
        id="a-change-for-no-target-in-particular-is-for-every-target",
    ),
    pytest.param(
        False,
        [
            target(Kind.ADD, USERS),
            changed("users/u1", USERS),
            target(Kind.CURRENT, USERS, read_time=2),
            consistent(2),
            target(Kind.ADD, MESSAGES),
            target(Kind.CURRENT, MESSAGES, read_time=3),
            consistent(3),
        ],
        [
            DocumentChanged("users", "users/u1", {"value": "v"}, at(1)),
            ("consistent", 3, b"token-3", {"users": ["users/u1"], "messages": []}),
        ],
        id="not-consistent-until-every-target-is-current",
    ),
    pytest.param(
        True,
        [
            target(Kind.ADD, USERS, MESSAGES),
            target(Kind.CURRENT, USERS, MESSAGES),
            target(Kind.NO_CHANGE, USERS, read_time=2),
            target(Kind.NO_CHANGE, token=b"no read time"),
        ],
        [],
        id="a-target-read-time-or-a-change-without-read-time-is-no-consistent-point",
    ),
    pytest.param(
        True,
        [ListenResponse(filter=ExistenceFilter(target_id=MESSAGES, count=3052))],
        [CountCheck("messages", 3052)],
        id="an-existence-filter-is-a-count-to-check",
    ),
]


@pytest.mark.parametrize(("resumed", "responses", "events"), CASES)
def test_the_handler(resumed: bool, responses: list[ListenResponse], events: list) -> None:
    assert run(responses, resumed) == events


def test_a_removed_target_fails_with_firestores_reason() -> None:
    response = ListenResponse(
        target_change=TargetChange(
            target_change_type=Kind.REMOVE, target_ids=[USERS], cause=Status(code=7, message="denied")
        )
    )
    with pytest.raises(ListenTargetRemovedError, match=r"\[1\]: 7 denied"):
        handler(True).handle(response)


@pytest.mark.parametrize("resumed", [False, True])
def test_a_sync_target_brings_a_consistent_point_and_leaves_quietly(resumed: bool) -> None:
    from include.firestore_to_mongo.source.listen import SYNC_DOCUMENT

    listen = handler(resumed)
    start = [target(Kind.ADD, USERS, MESSAGES), changed("users/u1", USERS), *both_current(2)]
    assert [type(event).__name__ for response in start for event in listen.handle(response)][
        -1
    ] == "Consistent"
    # A quiet source: the only way to a new consistent point is a target that holds nothing.
    listen.expect_sync(1001)
    events = [
        event
        for response in [
            target(Kind.ADD, 1001),
            deleted(SYNC_DOCUMENT, 1001),  # what the emulator says of the document nobody wrote
            target(Kind.CURRENT, 1001, read_time=5),
            consistent(5),
        ]
        for event in listen.handle(response)
    ]
    # No document, no set to close (not even when the stream started with whole sets).
    assert len(events) == 1
    assert (events[0].read_time, events[0].complete_sets) == (at(5), {})
    listen.expect_removal(1001)
    assert listen.handle(target(Kind.REMOVE, 1001)) == []
    assert 1001 not in listen.targets
    # Any other removal is still Firestore refusing a target.
    with pytest.raises(ListenTargetRemovedError):
        listen.handle(target(Kind.REMOVE, USERS))


def test_a_changed_document_is_decoded_only_when_read_and_only_once() -> None:
    decoded = []

    def decode(fields):
        decoded.append(1)
        return {name: value.string_value for name, value in fields.items()}

    listen = ListenHandler(TARGETS, PREFIX, decode, resumed=True)
    listen.handle(target(Kind.ADD, USERS, MESSAGES))
    first, second = listen.handle(changed("users/u1", USERS, MESSAGES))
    assert decoded == []
    assert first.data == second.data == {"value": "v"}
    assert decoded == [1]


def test_a_target_this_stream_never_added_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"never added: \[9\]"):
        handler(True).handle(changed("users/u1", 9))


def test_the_handler_counts_documents_and_resets() -> None:
    listen = handler(True)
    for response in [
        target(Kind.RESET, USERS),
        changed("users/u1", USERS),
        changed("users/u2", USERS),
        target(Kind.RESET),
    ]:
        listen.handle(response)
    assert (listen.documents, listen.resets) == (2, 2)
    listen.close()


def test_a_complete_set_answers_which_paths_it_lacks() -> None:
    listen = handler(False)
    events = [
        e
        for r in [target(Kind.ADD, USERS, MESSAGES), changed("users/u1", USERS), *both_current(2)]
        for e in listen.handle(r)
    ]
    (done,) = [event for event in events if isinstance(event, Consistent)]
    users = done.complete_sets["users"]
    assert ("users/u1" in users, "users/u2" in users, len(users)) == (True, False, 1)
    assert users.missing(["users/u1", "users/u2", "users/u3"]) == ["users/u2", "users/u3"]
    for paths in done.complete_sets.values():
        paths.close()


# --- the real stream, on the emulator ----------------------------------------------------


@pytest.mark.integration
def test_on_the_emulator_every_change_is_a_reset_and_a_delete_a_missing_path(firestore_client) -> None:
    from include.firestore_to_mongo.contract.specs import SPECS
    from include.firestore_to_mongo.source.listen import ListenStream

    firestore_client.document("users/u1").set({"username": "ada"})
    firestore_client.document("users/u2").set({"username": "bob"})
    firestore_client.document(M1).set({"content": "hello"})
    stream = ListenStream(firestore_client, list(SPECS.values()))
    listen = stream.handler()
    # Only a guard against a hang: the test waits for events, never for a time.
    guard = threading.Timer(120, stream.close)
    guard.start()
    changes, snapshots = [], []
    try:
        for response in stream:
            for event in listen.handle(response):
                if isinstance(event, Consistent):
                    snapshots.append(
                        {name: sorted(_paths(paths)) for name, paths in event.complete_sets.items()}
                    )
                    for paths in event.complete_sets.values():
                        paths.close()
                    if len(snapshots) == 1:
                        # The first consistent snapshot: the whole set. Now change the source.
                        firestore_client.document("users/u1").update({"username": "ada lovelace"})
                        firestore_client.document("users/u2").delete()
                elif isinstance(event, DocumentChanged):
                    changes.append((event.path, event.data))
            if snapshots and "users/u2" not in snapshots[-1].get("users", ["users/u2"]):
                break
    finally:
        guard.cancel()
        stream.close()
        listen.close()

    assert snapshots[0] == {
        "users": ["users/u1", "users/u2"],
        "digital_twins": [],
        "conversations": [],
        "messages": [M1],
    }
    # The emulator resent users whole after each change, so the last set lacks only the
    # deleted document; the edit came as the resent document, with its new data.
    assert snapshots[-1]["users"] == ["users/u1"]
    assert ("users/u1", {"username": "ada lovelace"}) in changes
    assert listen.resets >= 1
