"""DAG integrity: the file imports cleanly and cheaply, with the expected shape and params."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from tests.conftest import ROOT

DAG_ID = "firestore_to_mongo"
VERIFY_DAG_ID = "firestore_to_mongo_verify"
COLLECTION_TASKS = {"users", "digital_twins", "conversations", "messages"}


@pytest.fixture(scope="module")
def dag(dagbag):
    return dagbag.dags[DAG_ID]


@pytest.fixture(scope="module")
def verify_dag(dagbag):
    return dagbag.dags[VERIFY_DAG_ID]


@pytest.fixture(scope="module", params=[DAG_ID, VERIFY_DAG_ID])
def any_dag(request, dagbag):
    """Each of the package's DAGs: both have the same shape."""
    return dagbag.dags[request.param]


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert sorted(dagbag.dag_ids) == [
        DAG_ID,
        "firestore_to_mongo_capture",
        "firestore_to_mongo_cutover",
        VERIFY_DAG_ID,
    ]


def test_task_ids_and_dependencies(any_dag):
    dag = any_dag
    plans = {f"{name}_plan" for name in COLLECTION_TASKS}
    dones = {f"{name}_done" for name in COLLECTION_TASKS}
    assert set(dag.task_ids) == COLLECTION_TASKS | plans | dones | {"summary"}
    assert dag.get_task("summary").upstream_task_ids == dones
    assert dag.get_task("summary").trigger_rule == "all_done"
    for name in COLLECTION_TASKS:
        assert dag.get_task(name).upstream_task_ids == {f"{name}_plan"}
        assert dag.get_task(f"{name}_done").upstream_task_ids == {name}
        assert dag.get_task(f"{name}_done").trigger_rule == "all_done"


def test_collection_work_is_mapped_over_partitions_with_a_concurrency_cap(any_dag):
    dag = any_dag
    from airflow.sdk.definitions.mappedoperator import MappedOperator

    for name in COLLECTION_TASKS:
        task = dag.get_task(name)
        assert isinstance(task, MappedOperator), name
        assert task.max_active_tis_per_dag == 4


def test_return_values_stay_in_xcom_not_in_the_log(any_dag):
    """Every task returns figures (a partition's report, the summary's whole table): XCom
    keeps them; the log doesn't print them (the summary logs its own 120-character lines)."""
    from airflow.sdk.definitions.mappedoperator import MappedOperator

    for task in any_dag.tasks:
        if isinstance(task, MappedOperator):
            quiet = task.partial_kwargs["show_return_value_in_logs"]
        else:
            quiet = task.show_return_value_in_logs
        assert quiet is False, task.task_id


def test_retries_backoff_catchup_tags_and_docs(any_dag):
    dag = any_dag
    for task in dag.tasks:
        assert task.retries >= 2, task.task_id
        assert task.retry_exponential_backoff
    assert dag.catchup is False
    assert dag.tags
    assert dag.doc_md
    assert "Firestore" in dag.doc_md


def test_every_param_has_a_title_and_a_description(any_dag):
    for name, param in any_dag.params.items():
        assert param.schema.get("title"), name
        assert param.description, name


def test_param_defaults(dag):
    assert dag.params.validate() == {
        "dry_run": False,
        "mode": "incremental",
        "since": None,
        "lookback_minutes": 10,
        "prune": False,
        "collections": ["users", "digital_twins", "conversations", "messages"],
        "batch_size": 500,
        "mongo_db": None,
        "firestore_conn_id": "google_cloud_default",
        "mongo_conn_id": "mongo_default",
        "timeout_seconds": 60,
        "partitions": 4,
        "max_reads_per_second": None,
        "max_failures": 0,
    }


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("dry_run", "yes"),
        ("mode", "sometimes"),
        ("collections", ["users", "posts"]),
        ("collections", []),
        ("collections", ["users", "users"]),
        ("batch_size", 0),
        ("batch_size", 10_001),
        ("batch_size", "500"),
        ("mongo_db", 5),
        ("firestore_conn_id", ""),
        ("mongo_conn_id", None),
        ("max_failures", -1),
        ("since", "yesterday"),
        ("since", "2026-11-01T10:00:00 CET"),
        ("lookback_minutes", -5),
        ("prune", "no"),
        ("timeout_seconds", 0),
        ("partitions", 0),
        ("partitions", 65),
        ("max_reads_per_second", 0),
    ],
)
def test_bad_param_values_are_rejected(dag, name, value):
    from airflow.sdk.definitions.param import ParamsDict
    from airflow.sdk.exceptions import ParamValidationError

    params = ParamsDict(dag.params)
    with pytest.raises(ParamValidationError):  # noqa: PT012 - either step may reject it
        params[name] = value
        params.validate()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("collections", ["messages"]),
        ("batch_size", 10_000),
        ("mongo_db", "other"),
        ("max_failures", 7),
        ("since", "2026-11-01T10:00:00Z"),
        ("since", "2026-11-01"),
        ("mode", "full"),
        ("partitions", 16),
        ("max_reads_per_second", 500),
    ],
)
def test_good_param_values_are_accepted(dag, name, value):
    from airflow.sdk.definitions.param import ParamsDict

    params = ParamsDict(dag.params)
    params[name] = value
    assert params.validate()[name] == value


def test_parsing_builds_no_hook_and_imports_no_client_library():
    """Parsing runs at every dag-processor loop: it must not open connections or import
    the Firestore and Mongo clients."""
    script = textwrap.dedent(
        f"""
        import sys
        from airflow.dag_processing.dagbag import DagBag
        bag = DagBag(dag_folder={str(ROOT / "dags")!r})
        assert not bag.import_errors, bag.import_errors
        heavy = [m for m in ("google.cloud.firestore", "pymongo", "include.firestore_to_mongo.source.hook",
                             "airflow.providers.mongo.hooks.mongo",
                             "airflow.providers.google.common.hooks.base_google") if m in sys.modules]
        print("HEAVY", heavy)
        """
    )
    # No connections exist in this environment: any hook built at import time would fail.
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "HEAVY []" in result.stdout


def test_hourly_by_default_and_runs_never_overlap(dag):
    assert dag.max_active_runs == 1
    assert dag.catchup is False
    assert dag.schedule == "@hourly"


@pytest.mark.parametrize(
    ("dag_id", "variable", "setting", "expected"),
    [
        (DAG_ID, "FIRESTORE_TO_MONGO_SCHEDULE", "*/15 * * * *", "*/15 * * * *"),
        (DAG_ID, "FIRESTORE_TO_MONGO_SCHEDULE", "none", "None"),
        (VERIFY_DAG_ID, "FIRESTORE_TO_MONGO_VERIFY_SCHEDULE", "@daily", "@daily"),
        (VERIFY_DAG_ID, "FIRESTORE_TO_MONGO_VERIFY_SCHEDULE", "none", "None"),
    ],
)
def test_schedule_comes_from_the_environment(dag_id, variable, setting, expected):
    script = textwrap.dedent(
        f"""
        from airflow.dag_processing.dagbag import DagBag
        dag = DagBag(dag_folder={str(ROOT / "dags")!r}).dags[{dag_id!r}]
        print("SCHEDULE", dag.schedule)
        """
    )
    env = dict(os.environ, **{variable: setting})
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert f"SCHEDULE {expected}" in result.stdout, result.stderr[-2000:]


def test_each_collection_task_reports_an_asset_alias(dag):
    from airflow.sdk import AssetAlias

    for name in COLLECTION_TASKS:
        assert dag.get_task(f"{name}_done").outlets == [AssetAlias(f"firestore_to_mongo.{name}")]


# --- the verify DAG ---------------------------------------------------------------------


def test_verify_is_manual_by_default_and_runs_never_overlap(verify_dag):
    assert verify_dag.schedule is None
    assert verify_dag.max_active_runs == 1
    assert verify_dag.catchup is False


def test_verify_param_defaults(verify_dag):
    assert verify_dag.params.validate() == {
        "depth": "full",
        "sample_size": None,
        "changed_since": None,
        "repair": False,
        "prune": False,
        "max_reported": 20,
        "collections": ["users", "digital_twins", "conversations", "messages"],
        "mongo_db": None,
        "firestore_conn_id": "google_cloud_default",
        "mongo_conn_id": "mongo_default",
        "batch_size": 500,
        "partitions": 4,
        "timeout_seconds": 60,
        "max_reads_per_second": None,
    }


def test_verify_shares_the_migration_params_it_names(dag, verify_dag):
    for name in ("collections", "mongo_db", "firestore_conn_id", "mongo_conn_id", "batch_size", "partitions"):
        assert verify_dag.params.get_param(name).schema == dag.params.get_param(name).schema, name


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("depth", "deep"),
        ("sample_size", 0),
        ("sample_size", 1_000_001),
        ("sample_size", "10"),
        ("repair", "yes"),
        ("prune", 1),
        ("max_reported", -1),
        ("batch_size", 0),
        ("changed_since", "yesterday"),
        ("changed_since", "2026-11-01T10:00:00 CET"),
        ("changed_since", 1_700_000_000),
    ],
)
def test_bad_verify_param_values_are_rejected(verify_dag, name, value):
    from airflow.sdk.definitions.param import ParamsDict
    from airflow.sdk.exceptions import ParamValidationError

    params = ParamsDict(verify_dag.params)
    with pytest.raises(ParamValidationError):  # noqa: PT012 - either step may reject it
        params[name] = value
        params.validate()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("depth", "counts"),
        ("depth", "keys"),
        ("sample_size", 1),
        ("sample_size", 1_000_000),
        ("max_reported", 0),
        ("changed_since", "2026-11-01T10:00:00Z"),
        ("changed_since", "2026-11-01"),
        ("changed_since", ""),
    ],
)
def test_good_verify_param_values_are_accepted(verify_dag, name, value):
    from airflow.sdk.definitions.param import ParamsDict

    params = ParamsDict(verify_dag.params)
    params[name] = value
    assert params.validate()[name] == value


def test_tasks_run_with_the_plugins_folder_somewhere_else(tmp_path):
    """A deployment's plugins folder is often not this repository's plugins/: the tasks must
    import everything from include/. Runs the first task body (plan) of each DAG, which builds
    the Firestore client, with the plugins folder empty and off the path; it fails on the
    unreachable MongoDB, after every import."""
    script = textwrap.dedent(
        """
        import os, sys, pkgutil, importlib
        assert not any(p.rstrip("/").endswith("plugins") for p in sys.path), sys.path
        import include.firestore_to_mongo as package
        for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            importlib.import_module(module.name)
        from include.firestore_to_mongo.target.connection import TargetUnavailableError
        from include.firestore_to_mongo.migrate.plan import plan_collection_task
        from include.firestore_to_mongo.verify.plan import plan_verify_task

        class TaskInstance:
            dag_id, run_id = "firestore_to_mongo", "manual__1"

        for plan in (plan_collection_task, plan_verify_task):
            try:
                plan("users", {"timeout_seconds": 1}, TaskInstance())
            except TargetUnavailableError:
                print("REACHED MONGODB", plan.__name__)
        """
    )
    env = dict(
        os.environ,
        PYTHONPATH=str(ROOT),
        AIRFLOW__CORE__PLUGINS_FOLDER=str(tmp_path),
        FIRESTORE_EMULATOR_HOST="127.0.0.1:9",
        AIRFLOW_CONN_GOOGLE_CLOUD_DEFAULT='{"conn_type": "google_cloud_platform", "extra": {"project": "p"}}',
        AIRFLOW_CONN_MONGO_DEFAULT="mongo://127.0.0.1:9/app",
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "REACHED MONGODB plan_collection_task" in result.stdout
    assert "REACHED MONGODB plan_verify_task" in result.stdout
