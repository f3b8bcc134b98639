"""include.firestore_to_mongo.target.key_journal: a run's key claims, one document per page
in the target database, packed small, and folded back into a ledger on local disk."""

from __future__ import annotations

import pytest

from include.firestore_to_mongo.contract.claims import Claim
from include.firestore_to_mongo.keys.ledger import journaled_keys
from include.firestore_to_mongo.target.key_journal import (
    KeyJournal,
    drop_legacy_ledgers,
    pack_claims,
    unpack_claims,
)

RUN = "firestore_to_mongo/manual__2026-11-29T08:00:00+00:00"
JOURNAL = "_test_key_journal"


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

    with journaled_keys(journal(mongo_db)) as ledger:
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

    with journaled_keys(journal(mongo_db)) as ledger:
        assert ledger.key_count() == 2
        assert list(ledger.conflicts()) == []


def test_a_partition_that_starts_over_replaces_only_its_own_pages(mongo_db) -> None:
    journal(mongo_db, 0).append(claims((A, "users/a", True)))
    journal(mongo_db, 1).append(claims((B, "users/b", True)))

    journal(mongo_db, 1).clear_partition()

    with journaled_keys(journal(mongo_db)) as ledger:
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
