"""Open the target MongoDB database through an Airflow Mongo connection."""

from __future__ import annotations

from pymongo import MongoClient
from pymongo.database import Database

from include.firestore_to_mongo.config import DEFAULT_DATABASE


def open_database(conn_id: str, database: str | None = None) -> tuple[MongoClient, Database]:
    """Return a client and the database to write to.

    The database is `database` when given, else the connection's schema (the
    path of `mongo://host:port/db`), else `app`. The connection URI, which may
    hold a password, is never logged.
    """
    from airflow.providers.mongo.hooks.mongo import MongoHook

    hook = MongoHook(mongo_conn_id=conn_id)
    client = hook.get_conn()
    return client, client[database or hook.connection.schema or DEFAULT_DATABASE]
