"""The DAG's params as Airflow `Param`s, so the trigger form explains and checks them."""

from __future__ import annotations

from typing import Any

from airflow.sdk import Param

from include.firestore_to_mongo.config import PARAM_SCHEMAS


def dag_params(schemas: dict[str, dict[str, Any]] = PARAM_SCHEMAS) -> dict[str, Param]:
    return {
        name: Param(schema["default"], **{k: v for k, v in schema.items() if k != "default"})
        for name, schema in schemas.items()
    }
