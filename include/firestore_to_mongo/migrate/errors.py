"""The errors that fail the migration's tasks (and so tell Airflow the collection failed).

Both are final: a retry of the same task would reach the same verdict (the documents
that failed fail again, the partitions that didn't finish stay so), so they are
`AirflowFailException`s, which Airflow doesn't retry. Its retries are left for what a
retry can change."""

from __future__ import annotations

from airflow.sdk.exceptions import AirflowFailException


class TooManyFailuresError(AirflowFailException):
    """More documents failed than the run's `max_failures` allows."""


class CollectionTaskFailedError(AirflowFailException):
    """A collection (or one of its partitions) did not complete."""
