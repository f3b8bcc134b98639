"""Messages under twin documents that don't exist (never created, or deleted while their
subcollections stayed), in three shapes. Each shape writes to the client and returns the
paths of the messages it made; no conversation document exists in any of them."""

from __future__ import annotations

from datetime import UTC, datetime


def message(client, twin: str, conversation: str, number: int) -> str:
    path = f"digital_twins/{twin}/conversations/{conversation}/messages/m{number}"
    client.document(path).set(
        {"role": "user", "content": f"{twin} {number}", "timestamp": datetime(2026, 12, 1, tzinfo=UTC)}
    )
    return path


def no_twin_documents(client) -> list[str]:
    return [message(client, twin, "c1", n) for twin in ("t1", "t2") for n in range(3)]


def one_twin_and_three_missing(client) -> list[str]:
    client.document("digital_twins/t2").set({"name": "the only twin there is"})
    return [message(client, twin, "c1", n) for twin in ("t1", "t2", "t3", "t4") for n in range(3)]


def a_deleted_twin_whose_subcollections_stay(client) -> list[str]:
    for twin in ("t1", "t2", "t3"):
        client.document(f"digital_twins/{twin}").set({"name": twin})
    paths = [message(client, twin, "c1", n) for twin in ("t1", "t2", "t3") for n in range(3)]
    client.document("digital_twins/t2").delete()  # its conversations and messages stay
    return paths


SHAPES = [no_twin_documents, one_twin_and_three_missing, a_deleted_twin_whose_subcollections_stay]


def message_key(path: str) -> tuple[str, str, str]:
    """(digital_twin_id, conversation_id, message_id) of a message's path."""
    return tuple(path.split("/")[i] for i in (1, 3, 5))


def stored_message_keys(mongo_db) -> list[tuple[str, str, str]]:
    """Every message key in MongoDB, once per stored document (a key stored twice shows twice)."""
    return [
        (document["digital_twin_id"], document["conversation_id"], document["message_id"])
        for document in mongo_db.avatar_conversations.find()
    ]
