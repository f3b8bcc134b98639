"""FirestoreClientHook: a real Firestore client from an Airflow Google connection."""

from __future__ import annotations

import json

import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore
from google.oauth2 import service_account

from include.firestore_to_mongo.source.hook import FirestoreClientHook, open_source

PROJECT = "hook-test-project"


def service_account_info(project: str) -> dict:
    """A service-account key with a freshly made RSA key: valid to parse, useless to call with."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return {
        "type": "service_account",
        "project_id": project,
        "private_key_id": "0" * 40,
        "private_key": pem,
        "client_email": f"migrator@{project}.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": "https://oauth2.googleapis.com/token",
    }


def set_connection(monkeypatch, extra: dict, conn_id: str = "google_cloud_default") -> None:
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{conn_id.upper()}",
        json.dumps({"conn_type": "google_cloud_platform", "extra": extra}),
    )


@pytest.fixture
def no_emulator(monkeypatch):
    monkeypatch.delenv("FIRESTORE_EMULATOR_HOST", raising=False)


def test_key_json_gives_its_credentials_and_project(monkeypatch, no_emulator):
    info = service_account_info("from-key")
    set_connection(monkeypatch, {"keyfile_dict": json.dumps(info)})

    client = FirestoreClientHook().get_conn()

    assert client.project == "from-key"
    assert isinstance(client._credentials, service_account.Credentials)
    assert client._credentials.service_account_email == info["client_email"]
    assert client._database == "(default)"


def test_project_and_named_database_from_the_extra(monkeypatch, no_emulator):
    info = service_account_info("from-key")
    set_connection(
        monkeypatch, {"keyfile_dict": json.dumps(info), "project": "chosen", "database": "tenant-a"}
    )

    client = FirestoreClientHook().get_conn()

    assert (client.project, client._database) == ("chosen", "tenant-a")


def test_anonymous_connection_without_emulator(monkeypatch, no_emulator):
    set_connection(monkeypatch, {"project": PROJECT, "is_anonymous": True})

    client = FirestoreClientHook().get_conn()

    assert client.project == PROJECT
    assert isinstance(client._credentials, AnonymousCredentials)


def test_a_connection_id_other_than_the_default(monkeypatch, no_emulator):
    set_connection(monkeypatch, {"project": "elsewhere", "is_anonymous": True}, conn_id="firestore_prod")

    assert FirestoreClientHook(gcp_conn_id="firestore_prod").get_conn().project == "elsewhere"


@pytest.mark.integration
def test_emulator_needs_only_a_project(monkeypatch, firestore_emulator):
    """No key and no ADC on this machine: against the emulator the hook still works."""
    firestore_emulator.wipe(PROJECT)
    set_connection(monkeypatch, {"project": PROJECT})

    client = FirestoreClientHook().get_conn()
    client.document("users/u1").set({"username": "ada"})

    assert client.document("users/u1").get().to_dict() == {"username": "ada"}
    assert isinstance(client._credentials, AnonymousCredentials)


@pytest.mark.integration
def test_emulator_with_a_named_database(monkeypatch, firestore_emulator):
    set_connection(monkeypatch, {"project": PROJECT, "database": "tenant-b"})

    client = FirestoreClientHook().get_conn()
    client.document("users/u2").set({"username": "bob"})

    assert client._database == "tenant-b"
    assert client.document("users/u2").get().to_dict() == {"username": "bob"}
    default_database = firestore.Client(project=PROJECT, credentials=AnonymousCredentials())
    assert not default_database.document("users/u2").get().exists


def test_emulator_without_any_project_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", "127.0.0.1:1")
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT", raising=False)
    set_connection(monkeypatch, {})

    with pytest.raises(ValueError, match="names no project"):
        FirestoreClientHook().get_conn()


@pytest.mark.parametrize(
    ("extra", "name"),
    [
        pytest.param({}, "elsewhere/(default)", id="default-database"),
        pytest.param({"database": "tenant-a"}, "elsewhere/tenant-a", id="named-database"),
    ],
)
def test_open_source_names_where_a_watermark_comes_from(monkeypatch, no_emulator, extra, name):
    set_connection(
        monkeypatch, {"project": "elsewhere", "is_anonymous": True} | extra, conn_id="firestore_prod"
    )

    client, source = open_source("firestore_prod")

    assert (client.project, source) == ("elsewhere", name)
