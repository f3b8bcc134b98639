"""The DAG folder as Airflow's dag-processor parses it, once per test module."""

from __future__ import annotations

import pytest

from tests.conftest import ROOT


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags"))
