"""The `retried_faults` figure of one task: the transient faults its Firestore reads and
its MongoDB operations rode out (util.retry)."""

from __future__ import annotations

from include.firestore_to_mongo.source.faults import faults_of
from include.firestore_to_mongo.target.connection import MongoTarget


def faults_ridden_out(client, target: MongoTarget) -> int:
    """So far, by the task's Firestore `client` and its MongoDB `target`."""
    return faults_of(client).count + target.faults.count
