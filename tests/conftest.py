"""Shared test setup: an isolated Airflow home, and the real backends on free ports.

Airflow reads its configuration when first imported, so the environment is set
here, before any test module imports it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TEST_PROJECT = "firestore-to-mongo-test"

_airflow_home = Path(tempfile.mkdtemp(prefix="ftm-airflow-"))
os.environ.update(
    {
        "AIRFLOW_HOME": str(_airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        "PYTHONPATH": str(ROOT),
    }
)


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_airflow_home, ignore_errors=True)


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """A migrated Airflow metadata database (SQLite), made once per session."""
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        check=True,
        capture_output=True,
        env=os.environ,
    )
    return _airflow_home


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port where nothing listens, for the whole test: connections to
    127.0.0.1 on it are always refused. The port is bound (never listening) until the
    test ends, so no other process or connection can take it meanwhile, as could
    happen to a port that was only free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


pytest_plugins = ["tests.backends", "tests.capture_support"]
