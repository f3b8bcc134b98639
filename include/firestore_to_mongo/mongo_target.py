"""Open the target MongoDB database through an Airflow Mongo connection."""

from __future__ import annotations

from dataclasses import dataclass

from pymongo import MongoClient
from pymongo.database import Database

from include.firestore_to_mongo.config import DEFAULT_DATABASE

# Client options that bound every wait on the server, unless the connection sets its own.
TIMEOUT_OPTIONS = ("serverSelectionTimeoutMS", "connectTimeoutMS", "socketTimeoutMS")


class TargetUnavailableError(RuntimeError):
    """MongoDB did not answer in time."""


@dataclass
class MongoTarget:
    client: MongoClient
    database: Database
    host: str
    port: int

    def asset_uri(self, collection: str) -> str:
        """`mongodb://host:port/db/collection`, the Mongo provider's Asset form: no credentials."""
        return f"mongodb://{self.host}:{self.port}/{self.database.name}/{collection}"


def open_target(conn_id: str, database: str | None, timeout_seconds: float) -> MongoTarget:
    """Connect through the Airflow connection `conn_id`.

    The database is `database` when given, else the connection's schema (the
    path of `mongo://host:port/db`), else `app`. The connection URI, which may
    hold a password, is never logged.
    """
    from airflow.providers.mongo.hooks.mongo import MongoHook

    hook = MongoHook(mongo_conn_id=conn_id)
    timeout_ms = int(timeout_seconds * 1000)
    hook.extras = {name: timeout_ms for name in TIMEOUT_OPTIONS} | hook.extras
    client = hook.get_conn()
    name = database or hook.connection.schema or DEFAULT_DATABASE
    return MongoTarget(client, client[name], hook.connection.host, hook.connection.port or 27017)
