"""Subcollections under parent documents that don't exist (never created, or deleted while
their subcollections stayed): every message is migrated exactly once, with 1 and 4
partitions, and a verify agrees; a sample of them (the verify's `sample_size`) takes each at
most once. The real DAGs on the emulator and the Mongo test server."""

from __future__ import annotations

import pytest

from include.firestore_to_mongo.contract.specs import MESSAGES
from include.firestore_to_mongo.source.sampling import sample_pages
from tests.integration.dag_runner import VERIFY_DAG_ID, run_dag
from tests.missing_parents import SHAPES, message_key, stored_message_keys

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("partitions", [1, 4])
@pytest.mark.parametrize("shape", SHAPES)
def test_every_message_is_migrated_once(
    firestore_client, airflow_db, airflow_connections, mongo_db, shape, partitions
):
    paths = shape(firestore_client)
    result = run_dag({"mode": "full", "partitions": partitions, "collections": ["messages"]})
    assert result.state == "success", result.task_states
    assert result.counts("messages")["inserted"] == len(paths)
    assert sorted(stored_message_keys(mongo_db)) == sorted(map(message_key, paths))
    verify = run_dag({"partitions": partitions, "collections": ["messages"]}, dag_id=VERIFY_DAG_ID)
    assert verify.summary["collections"]["messages"]["status"] == "verified", verify.summary


@pytest.mark.parametrize("offset", [0.0, 0.37, 0.9])
@pytest.mark.parametrize("shape", SHAPES)
def test_a_sample_takes_each_message_at_most_once(firestore_client, shape, offset):
    paths = shape(firestore_client)
    for size in (1, 5, len(paths), len(paths) + 10):
        pages = list(sample_pages(firestore_client, MESSAGES, size, 2, 30, offset))
        sampled = [document.path for page in pages for document in page.documents]
        assert len(sampled) == len(set(sampled)) == min(size, len(paths)), size
        assert set(sampled) <= set(paths), size
        if size >= len(paths):
            assert set(sampled) == set(paths)


@pytest.mark.parametrize("sample_size", [4, 100])
@pytest.mark.parametrize("shape", SHAPES)
def test_a_sampled_verify_finds_the_messages_equal(
    firestore_client, airflow_db, airflow_connections, mongo_db, shape, sample_size
):
    paths = shape(firestore_client)
    assert run_dag({"mode": "full", "collections": ["messages"]}).state == "success"
    verify = run_dag({"collections": ["messages"], "sample_size": sample_size}, dag_id=VERIFY_DAG_ID)
    assert verify.state == "success", verify.task_states
    messages = verify.counts("messages")
    compared = min(sample_size, len(paths))
    assert (messages["read"], messages["compared"], messages["equal"]) == (compared,) * 3, messages
    assert (messages["source_count"], messages["target_count"]) == (len(paths), len(paths))
    assert (messages["missing"], messages["different"], messages["extra"]) == (0, 0, 0)
    assert messages["status"] == "sampled"
