"""Run the real DAG in-process with `dag.test()` and read back what it recorded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from tests.conftest import ROOT

DAG_ID = "firestore_to_mongo"
VERIFY_DAG_ID = "firestore_to_mongo_verify"
CUTOVER_DAG_ID = "firestore_to_mongo_cutover"


@dataclass
class DagRunResult:
    state: str
    task_states: dict[str, str]
    # task_id → its return_value XCom
    xcoms: dict[str, Any]
    # task_id → the most attempts any of its instances made
    tries: dict[str, int] | None = None

    @property
    def summary(self) -> dict[str, Any]:
        return self.xcoms["summary"]

    def counts(self, collection: str) -> dict[str, Any]:
        return self.summary["collections"][collection]


def _load_dag(dag_id: str):
    # Parsed afresh for every run: running a task in-process merges the run's
    # conf into the task's params, so a reused DAG object would leak one run's
    # conf into the next.
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert not bag.import_errors, bag.import_errors
    dag = bag.get_dag(dag_id)
    # Retries stay on, but without the production back-off: a failing task is
    # retried at once instead of keeping the test waiting for minutes.
    for task in dag.tasks:
        task.retry_delay = timedelta(0)
        task.retry_exponential_backoff = 0
    return dag


def run_dag(conf: dict[str, Any] | None = None, dag_id: str = DAG_ID) -> DagRunResult:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    dag_run = _load_dag(dag_id).test(run_conf=conf or {})
    with create_session() as session:
        states: dict[str, set[str]] = {}
        tries: dict[str, int] = {}
        for ti in dag_run.get_task_instances(session=session):
            states.setdefault(ti.task_id, set()).add(str(ti.state))
            tries[ti.task_id] = max(tries.get(ti.task_id, 0), ti.try_number)
        # A mapped task's state: its worst instance's.
        task_states = {task_id: _worst(found) for task_id, found in states.items()}
        rows = session.query(XComModel).filter(
            XComModel.dag_id == dag_id,
            XComModel.run_id == dag_run.run_id,
            XComModel.key == "return_value",
        )
        xcoms = {row.task_id: row.value for row in rows}
    return DagRunResult(state=str(dag_run.state), task_states=task_states, xcoms=xcoms, tries=tries)


def _worst(states: set[str]) -> str:
    for state in ("failed", "upstream_failed", "skipped"):
        if state in states:
            return state
    return states.pop() if len(states) == 1 else ",".join(sorted(states))
