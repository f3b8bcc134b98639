"""The errors that fail the migration's tasks (and so tell Airflow the collection failed)."""


class TooManyFailuresError(RuntimeError):
    """More documents failed than the run's `max_failures` allows."""


class CollectionTaskFailedError(RuntimeError):
    """A collection (or one of its partitions) did not complete."""
