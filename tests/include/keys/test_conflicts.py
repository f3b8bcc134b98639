"""include.firestore_to_mongo.keys.conflicts: who wins a key, on a partition's ledgers (local SQLite,
alone or journaled), and the run's key journal (MongoDB: the wire server or TEST_MONGODB_URI)."""

from __future__ import annotations

import pytest

from include.firestore_to_mongo.contract.claims import Claim
from include.firestore_to_mongo.contract.mapping import encode_key, map_document
from include.firestore_to_mongo.contract.specs import MESSAGES, USERS
from include.firestore_to_mongo.keys.conflicts import ConflictGuard, record_conflicts
from include.firestore_to_mongo.keys.ledger import JournaledLedger, LocalKeyLedger
from include.firestore_to_mongo.migrate.report import CollectionReport
from include.firestore_to_mongo.target.key_journal import KeyJournal, unpack_claims

RUN = "firestore_to_mongo/manual__2026-11-29T08:00:00+00:00"


JOURNAL = "_test_key_journal"


@pytest.fixture(params=["local", "journaled"])
def ledger(request):
    local = LocalKeyLedger()
    if request.param == "local":
        yield local
    else:
        yield JournaledLedger(
            local, KeyJournal(request.getfixturevalue("mongo_db"), JOURNAL, RUN, "users", 0)
        )
    local.close()


def users(**by_id: dict):
    return [map_document(USERS, f"users/{uid}", data) for uid, data in by_id.items()]


def paths(documents) -> list[str]:
    return [doc.path for doc in documents]


def test_a_later_better_claimant_is_let_through_and_a_worse_one_is_not(ledger) -> None:
    guard = ConflictGuard(USERS, ledger)
    assert paths(guard.winners(users(b={"user_id": "same", "username": "B"}))) == ["users/b"]
    assert paths(guard.winners(users(a={"user_id": "same", "username": "A"}))) == ["users/a"]
    assert paths(guard.winners(users(c={"user_id": "same"}, d={}))) == ["users/d"]

    (key, claims), *more = list(ledger.conflicts())
    assert more == []
    assert key == encode_key({"user_id": "same"}.values())
    assert [claim.path for claim in claims] == ["users/a", "users/b", "users/c"]


def test_conflicts_inside_one_batch_keep_only_the_winner(ledger) -> None:
    guard = ConflictGuard(USERS, ledger)
    batch = users(u1={"username": "owner"}, a={"user_id": "u1"}, b={"user_id": "x"}, c={"user_id": "x"})
    assert paths(guard.winners(batch)) == ["users/u1", "users/b"]


def test_the_same_document_claiming_again_is_no_conflict(ledger) -> None:
    guard = ConflictGuard(USERS, ledger)
    for _ in range(2):  # a retried page
        assert paths(guard.winners(users(a={"user_id": "k"}, b={}))) == ["users/a", "users/b"]
    assert list(ledger.conflicts()) == []


def test_documents_read_but_not_written_claim_their_keys_too(ledger) -> None:
    guard = ConflictGuard(USERS, ledger)
    unchanged_winner = ({"user_id": "k"}, "users/a")
    assert guard.winners(users(b={"user_id": "k"}), [unchanged_winner]) == []


def test_message_ids_conflict_only_within_their_conversation(ledger) -> None:
    guard = ConflictGuard(MESSAGES, ledger)
    base = "digital_twins/t/conversations/{}/messages/{}"
    batch = [
        map_document(MESSAGES, base.format("c1", "m1"), {}),
        map_document(MESSAGES, base.format("c1", "m2"), {"message_id": "m1"}),
        map_document(MESSAGES, base.format("c2", "m2"), {"message_id": "m1"}),
    ]
    assert paths(guard.winners(batch)) == [base.format("c1", "m1"), base.format("c2", "m2")]


def test_record_conflicts_counts_each_loser_as_failed_and_names_the_winner(ledger) -> None:
    guard = ConflictGuard(USERS, ledger)
    guard.winners(users(b={"user_id": "same"}, c={"user_id": "same"}, u9={"user_id": "other"}))
    report = CollectionReport(collection="users", target="users", dry_run=False)

    winners = record_conflicts(USERS, ledger, report)

    assert [winner.path for winner in winners] == ["users/b"]
    assert (report.conflicts, report.failed) == (1, 1)
    assert report.failed_examples == [
        'users/c: key conflict: {"user_id": "same"} is also the key of users/b, which is migrated instead'
    ]


def test_a_journaled_ledger_journals_every_claim_in_one_insert_per_page(mongo_db) -> None:
    with LocalKeyLedger() as local:
        guard = ConflictGuard(USERS, JournaledLedger(local, KeyJournal(mongo_db, JOURNAL, RUN, "users", 0)))
        guard.winners(users(a={"user_id": "k"}, b={"user_id": "k"}), [({"user_id": "u"}, "users/u")])
        guard.winners([])

    (page,) = mongo_db[JOURNAL].find()
    assert (page["run"], page["collection"], page["partition"]) == (RUN, "users", 0)
    assert unpack_claims(page["claims"]) == [
        ('["k"]', Claim("users/a", False)),
        ('["k"]', Claim("users/b", False)),
        ('["u"]', Claim("users/u", True)),
    ]
