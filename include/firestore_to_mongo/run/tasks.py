"""What the task bodies of both DAGs share: each task's validated params, the run's key,
and the figures a collection's partitions pushed for its `<name>_done` task."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

# The XCom key under which a partition pushes its figures, whether it succeeds or not.
PARTITION_REPORT = "partition_report"


def config_for(collection: str, params: Mapping[str, Any], config_class):
    """The run's validated params (a `config_class`), skipping collections it leaves out."""
    from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

    from include.firestore_to_mongo.run.params import ParamError

    try:
        config = config_class.from_params(params)
    except ParamError as error:
        # A bad param stays bad: fail now, without retries.
        raise AirflowFailException(str(error)) from error
    if collection not in config.collections:
        raise AirflowSkipException(f"{collection} is not in this run's collections")
    return config


def run_key_of(ti) -> str:
    """The DAG run's key in the target database's run state: `<dag_id>/<run_id>`."""
    return f"{ti.dag_id}/{ti.run_id}"


def partition_reports(ti, collection: str, count: int) -> list[dict]:
    """The figures each partition pushed, leaving out those that pushed none (crashed)."""
    if count == 0:
        return []
    pulled = ti.xcom_pull(task_ids=collection, key=PARTITION_REPORT, map_indexes=list(range(count)))
    if isinstance(pulled, dict):  # one map index asked for, one value back
        pulled = [pulled]
    return [part for part in pulled or [] if part]


def now_iso() -> str:
    """Now, as a partition's `started_at` and `ended_at` record it: ISO 8601, UTC."""
    return datetime.now(UTC).isoformat()


def seconds_between(started: str, ended: str) -> float:
    return round((datetime.fromisoformat(ended) - datetime.fromisoformat(started)).total_seconds(), 3)


def wall_clock(parts: list[dict]) -> tuple[str | None, str | None, float | None]:
    """A collection's wall-clock span from its partitions' figures: the first partition's
    start, the last one's end, and the seconds between them; all None when a partition's
    figures lack their instants (from an older version)."""
    starts = [part.get("started_at") for part in parts]
    ends = [part.get("ended_at") for part in parts]
    if not parts or None in starts or None in ends:
        return None, None, None
    started = min(starts, key=datetime.fromisoformat)
    ended = max(ends, key=datetime.fromisoformat)
    return started, ended, seconds_between(started, ended)


def current_dag_run():
    """The running task's DAG run (its type, when it was triggered and started), or None
    outside a task. The task instance doesn't carry it; the task's context does."""
    from airflow.sdk import get_current_context

    try:
        return get_current_context().get("dag_run")
    except Exception:  # not inside a running task
        return None
