"""Unit tests for include.firestore_to_mongo.contract.claims: the key conflict rule, rule by
rule, and how an encoded key reads back."""

from __future__ import annotations

import pytest

from include.firestore_to_mongo.contract.claims import Claim, decode_key, encoded_key_text
from include.firestore_to_mongo.contract.mapping import encode_key
from include.firestore_to_mongo.contract.specs import MESSAGES, USERS


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


@pytest.mark.parametrize(
    ("spec", "key"),
    [
        pytest.param(USERS, {"user_id": "u1"}, id="string-id"),
        pytest.param(USERS, {"user_id": 7}, id="integer-id-stays-an-integer"),
        pytest.param(
            MESSAGES,
            {"digital_twin_id": "t1", "conversation_id": "c1", "message_id": "é"},
            id="compound-key-in-field-order",
        ),
    ],
)
def test_an_encoded_key_decodes_to_its_fields(spec, key: dict) -> None:
    assert decode_key(spec, encode_key(key.values())) == key


def test_a_key_reads_as_json_in_messages() -> None:
    assert encoded_key_text(USERS, encode_key(["ü"])) == '{"user_id": "ü"}'
