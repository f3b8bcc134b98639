"""Secrets stay out of task logs: a Mongo password and a service-account key.

This runs `airflow dags test` as users do, against a Mongo server that demands
a password, and reads everything the run printed and logged.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest

from devtools.servers import start_mongoeco
from tests.conftest import ROOT, TEST_PROJECT
from tests.include.source.test_hook import service_account_info
from tests.integration import edge_cases

pytestmark = pytest.mark.integration

PASSWORD = "Sup3r:secret/p@ss"  # characters that URL-encoding changes


@pytest.fixture
def authenticated_mongo(tmp_path):
    """(uri without credentials, user, password) of a Mongo server that requires a login."""
    external = os.environ.get("TEST_MONGODB_URI")
    if external:
        parts = urllib.parse.urlsplit(external)
        if not parts.password:
            pytest.skip("TEST_MONGODB_URI has no password to keep secret")
        bare = parts._replace(netloc=parts.hostname + (f":{parts.port}" if parts.port else ""))
        yield urllib.parse.urlunsplit(bare), urllib.parse.unquote(parts.username), parts.password
        return
    server = start_mongoeco(user="migrator", password=PASSWORD)
    yield f"mongodb://{server.host}:{server.port}/", "migrator", PASSWORD
    server.stop()


def test_password_and_key_never_reach_logs_or_xcom(firestore_client, airflow_db, authenticated_mongo):
    uri, user, password = authenticated_mongo
    parts = urllib.parse.urlsplit(uri)
    key = service_account_info(TEST_PROJECT)
    edge_cases.seed(firestore_client)
    database = f"ftm_secrets_{os.getpid()}"
    env = dict(os.environ)
    env["AIRFLOW_CONN_MONGO_DEFAULT"] = json.dumps(
        {
            "conn_type": "mongo",
            "host": parts.hostname,
            "port": parts.port,
            "login": user,
            "password": password,
            "schema": database,
            # mongoeco speaks SCRAM-SHA-256 only; MongoDB accepts it too.
            "extra": {"authSource": "admin", "authMechanism": "SCRAM-SHA-256", "directConnection": "true"},
        }
    )
    # The emulator ignores credentials, but the hook still parses this key.
    env["AIRFLOW_CONN_GOOGLE_CLOUD_DEFAULT"] = json.dumps(
        {
            "conn_type": "google_cloud_platform",
            "extra": {"project": TEST_PROJECT, "keyfile_dict": json.dumps(key)},
        }
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "airflow",
            "dags",
            "test",
            "firestore_to_mongo",
            "--conf",
            '{"max_failures": 1}',
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    printed = result.stdout + result.stderr
    assert "Firestore → MongoDB" in printed, printed[-3000:]
    assert result.returncode == 0, printed[-3000:]
    logged = "".join(
        p.read_text(errors="replace") for p in Path(env["AIRFLOW_HOME"], "logs").rglob("*") if p.is_file()
    )
    xcoms = _all_xcom_values()
    secrets = {
        "password": password,
        "url-encoded password": urllib.parse.quote_plus(password),
        "private key": key["private_key"].splitlines()[1],
        "private key id": key["private_key_id"],
    }
    for name, secret in secrets.items():
        assert secret not in printed, f"{name} printed"
        assert secret not in logged, f"{name} in a log file"
        assert secret not in xcoms, f"{name} in XCom"
    # The run really went through the password-protected server.
    import pymongo

    with pymongo.MongoClient(
        uri, username=user, password=password, authSource="admin", authMechanism="SCRAM-SHA-256"
    ) as client:
        assert client[database].users.count_documents({}) == 3
        client.drop_database(database)


def _all_xcom_values() -> str:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        return json.dumps([row.value for row in session.query(XComModel)], default=str)
