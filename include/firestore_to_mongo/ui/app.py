"""The sync page's FastAPI app: an HTML page and a JSON endpoint, for signed-in Airflow users.

Mounted by the plugin in plugins/ (Airflow does not protect a plugin's app: every route
here asks for an authenticated user). The Mongo client is built per request, never at
import time, since every Airflow component imports plugins. Read-only.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI, Query
from fastapi.responses import HTMLResponse, JSONResponse

from include.firestore_to_mongo.migrate.config import PARAM_SCHEMAS

DEFAULT_CONN_ID = PARAM_SCHEMAS["mongo_conn_id"]["default"]
# How long the page waits for MongoDB before it shows an error instead.
DEFAULT_TIMEOUT_SECONDS = 10
MAX_TIMEOUT_SECONDS = 60
# Module level: FastAPI resolves the (postponed) annotations of the routes here.
ConnQuery = Annotated[str, Query(min_length=1, max_length=250)]
DatabaseQuery = Annotated[str | None, Query(max_length=64)]
TimeoutQuery = Annotated[int, Query(ge=1, le=MAX_TIMEOUT_SECONDS)]


def create_app() -> FastAPI:
    from airflow.api_fastapi.core_api.security import get_user

    app = FastAPI(title="Firestore → MongoDB sync", description="How the Firestore → MongoDB sync stands")
    user = Depends(get_user)

    @app.get("/", response_class=HTMLResponse, dependencies=[user])
    def page(
        conn_id: ConnQuery = DEFAULT_CONN_ID,
        database: DatabaseQuery = None,
        timeout_seconds: TimeoutQuery = DEFAULT_TIMEOUT_SECONDS,
    ) -> HTMLResponse:
        from include.firestore_to_mongo.ui.page import render_page

        state, error = read_state(conn_id, database or None, timeout_seconds)
        return HTMLResponse(render_page(state, conn_id, database, error))

    @app.get("/api/state", dependencies=[user])
    def state(
        conn_id: ConnQuery = DEFAULT_CONN_ID,
        database: DatabaseQuery = None,
        timeout_seconds: TimeoutQuery = DEFAULT_TIMEOUT_SECONDS,
    ) -> JSONResponse:
        found, error = read_state(conn_id, database or None, timeout_seconds)
        if error is not None:
            return JSONResponse({"error": error}, status_code=503)
        return JSONResponse(found)

    return app


def read_state(conn_id: str, database: str | None, timeout_seconds: int) -> tuple[dict | None, str | None]:
    """(state, None), or (None, a message without credentials) when the target can't be read."""
    from pymongo.errors import ConnectionFailure, InvalidName, OperationFailure

    from include.firestore_to_mongo.target.connection import TargetUnavailableError, open_target
    from include.firestore_to_mongo.target.faults import mongo_fault
    from include.firestore_to_mongo.ui.state import load_state

    try:
        target = open_target(conn_id, database, timeout_seconds)
    except Exception as error:
        # An unknown connection id, or one that isn't a Mongo connection: name it, not its URI.
        return None, f"Can't use the Airflow connection {conn_id!r}: {type(error).__name__}"
    try:
        return load_state(target.database), None
    except (ConnectionFailure, TargetUnavailableError) as error:
        # Transient faults were retried for `timeout_seconds` (target.retrying) already.
        reason = mongo_fault(error.__cause__ or error) or "no answer"
        return None, (
            f"MongoDB at {target.host}:{target.port} (connection {conn_id!r}) did not answer "
            f"within {timeout_seconds} s: {reason}."
        )
    except (OperationFailure, InvalidName) as error:
        return None, f"MongoDB refused to read database {target.database.name!r}: {error.__class__.__name__}"
    finally:
        target.client.close()
