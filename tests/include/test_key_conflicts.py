"""include.firestore_to_mongo.key_conflicts: who wins a key, on a partition's ledgers (local SQLite,
alone or journaled), and the run's key journal (MongoDB: the wire server or TEST_MONGODB_URI)."""

from __future__ import annotations

import pytest

from include.firestore_to_mongo.key_conflicts import (
    Claim,
    ConflictGuard,
    JournaledLedger,
    KeyJournal,
    LocalKeyLedger,
    drop_legacy_ledgers,
    encode_key,
    pack_claims,
    record_conflicts,
    unpack_claims,
)
from include.firestore_to_mongo.mapping import map_document
from include.firestore_to_mongo.report import CollectionReport
from include.firestore_to_mongo.specs import MESSAGES, USERS

RUN = "firestore_to_mongo/manual__2026-11-29T08:00:00+00:00"


@pytest.mark.parametrize(
    ("claims", "winner"),
    [
        ([Claim("users/b", False), Claim("users/a", False)], "users/a"),
        ([Claim("users/a", False), Claim("users/u1", True)], "users/u1"),  # the owner beats a smaller path
        ([Claim("users/__id5__", False), Claim("users/a", False)], "users/__id5__"),  # code-point order
        ([Claim("users/é", False), Claim("users/z", False)], "users/z"),
    ],
)
def test_the_best_claim_wins(claims: list[Claim], winner: str) -> None:
    assert min(claims, key=lambda claim: claim.rank).path == winner


def test_encoded_keys_tell_strings_from_integers() -> None:
    assert encode_key({"user_id": "1"}.values()) != encode_key({"user_id": 1}.values())


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


@pytest.mark.parametrize(
    "claims",
    [
        [],
        [('["a"]', Claim("users/a", True))],
        [
            ('["zoë", 1]', Claim("digital_twins/日本/conversations/c", False)),
            ("[2]", Claim("x/__id5__", True)),
        ],
    ],
)
def test_packed_claims_come_back_as_they_were(claims) -> None:
    assert unpack_claims(pack_claims(claims)) == claims


def test_a_page_of_claims_packs_small() -> None:
    claims = [
        (f'["t1", "c1", "m{n:05}"]', Claim(f"digital_twins/t1/conversations/c1/messages/m{n:05}", True))
        for n in range(1000)
    ]
    assert len(pack_claims(claims)) < len(str(claims)) / 4


# --- KeyJournal ------------------------------------------------------------------------

A, B, C = '["a"]', '["b"]', '["c"]'
OTHER_RUN = RUN + "-other"


def journal(mongo_db, partition: int | None = None, run: str = RUN) -> KeyJournal:
    return KeyJournal(mongo_db, JOURNAL, run, "users", partition)


def claims(*entries: tuple[str, str, bool]) -> list[tuple[str, Claim]]:
    return [(key, Claim(path, owner)) for key, path, owner in entries]


def test_a_page_costs_one_document(mongo_db) -> None:
    journal(mongo_db, 0).append(claims((A, "users/a", True), (B, "users/b", True)))
    journal(mongo_db, 0).append([])

    assert mongo_db[JOURNAL].count_documents({}) == 1


def test_the_ledger_holds_every_partitions_keys_and_names_conflicts(mongo_db) -> None:
    journal(mongo_db, 0).append(claims((A, "users/a", True), (B, "users/x", False)))
    journal(mongo_db, 1).append(claims((B, "users/b", True), (A, "users/a", True)))
    journal(mongo_db, 0, run=OTHER_RUN).append(claims((C, "users/c", True)))

    with journal(mongo_db).ledger() as ledger:
        assert ledger.key_count() == 2
        assert ledger.missing([("a",), ("b",), ("c",)]) == [("c",)]
        # The same claim journaled twice (a page read again) is no conflict.
        assert list(ledger.conflicts()) == [(B, [Claim("users/b", True), Claim("users/x", False)])]


def test_a_partition_retried_from_its_checkpoint_adds_nothing_twice(mongo_db) -> None:
    # Attempt 1 journaled two pages and checkpointed after the first; attempt 2
    # resumes after the checkpoint and journals the second page again.
    journal(mongo_db, 0).append(claims((A, "users/a", True)))
    journal(mongo_db, 0).append(claims((B, "users/b", True)))
    journal(mongo_db, 0).append(claims((B, "users/b", True)))

    with journal(mongo_db).ledger() as ledger:
        assert ledger.key_count() == 2
        assert list(ledger.conflicts()) == []


def test_a_partition_that_starts_over_replaces_only_its_own_pages(mongo_db) -> None:
    journal(mongo_db, 0).append(claims((A, "users/a", True)))
    journal(mongo_db, 1).append(claims((B, "users/b", True)))

    journal(mongo_db, 1).clear_partition()

    with journal(mongo_db).ledger() as ledger:
        assert ledger.missing([("a",), ("b",)]) == [("b",)]


def test_drop_and_drop_other_runs(mongo_db) -> None:
    journal(mongo_db, 0).append(claims((A, "users/a", True)))
    journal(mongo_db, 0, run=OTHER_RUN).append(claims((B, "users/b", True)))
    KeyJournal(mongo_db, JOURNAL, RUN, "messages", 0).append(claims((C, "x/c", True)))
    KeyJournal(mongo_db, JOURNAL + "_other", OTHER_RUN, "users", 0).append(claims((C, "users/c", True)))

    assert KeyJournal.drop_other_runs(mongo_db, JOURNAL, RUN, "users") == 1
    journal(mongo_db).drop()

    left = [(page["run"], page["collection"]) for page in mongo_db[JOURNAL].find()]
    assert left == [(RUN, "messages")]
    # Another journal (the verify's) is not touched.
    assert mongo_db[JOURNAL + "_other"].count_documents({}) == 1


def test_ledgers_that_earlier_versions_left_are_dropped(mongo_db) -> None:
    for name in ("_firestore_to_mongo_keys.users.abc", "_firestore_to_mongo_keys.messages.abc", "users"):
        mongo_db[name].insert_one({})

    assert drop_legacy_ledgers(mongo_db, "users") == ["_firestore_to_mongo_keys.users.abc"]
    assert set(mongo_db.list_collection_names()) == {"_firestore_to_mongo_keys.messages.abc", "users"}
