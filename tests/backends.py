"""The real backends for tests: the Firestore emulator and a Mongo server (a pytest plugin).

Mongo is a mongoeco wire server started here, or the real MongoDB named by
`TEST_MONGODB_URI`. Each test writes to a database of its own, so tests never
see each other's documents.
"""

from __future__ import annotations

import itertools
import json
import os
import urllib.parse
from collections.abc import Iterator

import pymongo
import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore

from devtools.servers import start_firestore_emulator, start_mongoeco
from tests.conftest import TEST_PROJECT

_database_numbers = itertools.count()


@pytest.fixture(scope="session")
def firestore_emulator():
    emulator = start_firestore_emulator()
    os.environ["FIRESTORE_EMULATOR_HOST"] = emulator.address
    yield emulator
    emulator.stop()


@pytest.fixture
def firestore_client(firestore_emulator) -> firestore.Client:
    """A client on an emptied emulator."""
    firestore_emulator.wipe(TEST_PROJECT)
    return firestore.Client(project=TEST_PROJECT, credentials=AnonymousCredentials())


@pytest.fixture(scope="session")
def mongo_uri() -> Iterator[str]:
    external = os.environ.get("TEST_MONGODB_URI")
    if external:
        yield external
        return
    server = start_mongoeco()
    yield server.uri
    server.stop()


@pytest.fixture(scope="session")
def mongo_client(mongo_uri) -> Iterator[pymongo.MongoClient]:
    client = pymongo.MongoClient(mongo_uri, tz_aware=True, serverSelectionTimeoutMS=10_000)
    client.admin.command("ping")
    yield client
    client.close()


@pytest.fixture
def mongo_db(mongo_client) -> Iterator[pymongo.database.Database]:
    """A database no other test uses, dropped afterwards."""
    name = f"ftm_test_{os.getpid()}_{next(_database_numbers)}"
    yield mongo_client[name]
    mongo_client.drop_database(name)


def airflow_mongo_connection(uri: str, database: str) -> str:
    """The Airflow connection (JSON form) for a mongodb:// URI, with `database` as its schema."""
    parts = urllib.parse.urlsplit(uri)
    extra = dict(urllib.parse.parse_qsl(parts.query))
    connection = {"conn_type": "mongo", "host": parts.hostname, "schema": database, "extra": extra}
    if parts.port:
        connection["port"] = parts.port
    if parts.username:
        connection["login"] = urllib.parse.unquote(parts.username)
        connection["password"] = urllib.parse.unquote(parts.password or "")
    return json.dumps(connection)


@pytest.fixture
def airflow_connections(monkeypatch, firestore_emulator, mongo_uri, mongo_db) -> None:
    """Point the DAG's default connections at the emulator and this test's database."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_GOOGLE_CLOUD_DEFAULT",
        json.dumps({"conn_type": "google_cloud_platform", "extra": {"project": TEST_PROJECT}}),
    )
    monkeypatch.setenv("AIRFLOW_CONN_MONGO_DEFAULT", airflow_mongo_connection(mongo_uri, mongo_db.name))
