"""Open the target MongoDB database through an Airflow Mongo connection."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from pymongo import MongoClient
from pymongo.database import Database

from include.firestore_to_mongo.target.faults import MONGODB, TargetUnavailableError, mongo_fault
from include.firestore_to_mongo.target.retrying import RetryingDatabase
from include.firestore_to_mongo.util.retry import FaultCount, Retrier

__all__ = ["MongoTarget", "TargetSession", "TargetUnavailableError", "open_target"]

# The database when neither the run's params nor the connection name one.
DEFAULT_DATABASE = "app"
# Client options that bound every wait on the server, unless the connection sets its own.
TIMEOUT_OPTIONS = ("serverSelectionTimeoutMS", "connectTimeoutMS", "socketTimeoutMS")


@dataclass
class MongoTarget:
    client: MongoClient
    database: Database
    host: str
    port: int

    @property
    def faults(self) -> FaultCount:
        """The transient faults this target's operations rode out."""
        return self.database.retrier.faults

    def asset_uri(self, collection: str) -> str:
        """`mongodb://host:port/db/collection`, the Mongo provider's Asset form: no credentials."""
        return f"mongodb://{self.host}:{self.port}/{self.database.name}/{collection}"


def open_target(conn_id: str, database: str | None, timeout_seconds: float) -> MongoTarget:
    """Connect through the Airflow connection `conn_id`.

    The database is `database` when given, else the connection's schema (the
    path of `mongo://host:port/db`), else `app`. The connection URI, which may
    hold a password, is never logged. Every operation on the database rides out
    transient faults for up to `timeout_seconds` (target.retrying).
    """
    from airflow.providers.mongo.hooks.mongo import MongoHook

    hook = MongoHook(mongo_conn_id=conn_id)
    timeout_ms = int(timeout_seconds * 1000)
    hook.extras = {name: timeout_ms for name in TIMEOUT_OPTIONS} | hook.extras
    client = hook.get_conn()
    name = database or hook.connection.schema or DEFAULT_DATABASE
    retrying = RetryingDatabase(client, name, Retrier(MONGODB, timeout_seconds))
    return MongoTarget(client, retrying, hook.connection.host, hook.connection.port or 27017)


class TargetSettings(Protocol):
    """What a task's params say about the target (both DAGs' configs have it)."""

    mongo_conn_id: str
    mongo_db: str | None
    timeout_seconds: int


class TargetSession:
    """The Mongo target for one task, with backend errors turned into one clear error.

    Transient faults were ridden out already, for up to `timeout_seconds`, operation by
    operation (target.retrying); what still fails here fails the task."""

    def __init__(self, config: TargetSettings) -> None:
        self.config = config
        self.target = open_target(config.mongo_conn_id, config.mongo_db, config.timeout_seconds)

    def __enter__(self):
        return self.target

    def __exit__(self, exc_type, error, traceback) -> None:
        from pymongo.errors import ConnectionFailure, OperationFailure

        self.target.client.close()
        if isinstance(error, TargetUnavailableError):
            raise TargetUnavailableError(
                f"{error}; MongoDB at {self.target.host}:{self.target.port}"
            ) from error
        # ConnectionFailure includes the timeouts (NetworkTimeout, ServerSelectionTimeoutError).
        if isinstance(error, ConnectionFailure):
            raise TargetUnavailableError(
                f"MongoDB at {self.target.host}:{self.target.port}: {mongo_fault(error) or 'connection failed'} "
                f"(timeout_seconds {self.config.timeout_seconds}): {error}"
            ) from error
        if isinstance(error, OperationFailure):
            raise TargetUnavailableError(f"MongoDB refused an operation: {error}") from error
