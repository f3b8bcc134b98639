"""Unit tests for include.firestore_to_mongo.run.params: the schemas both DAGs share, and the
trigger form's `Param`s built from a schema."""

from __future__ import annotations

import pytest
from airflow.sdk.definitions.param import ParamsDict

from include.firestore_to_mongo.migrate.config import PARAM_SCHEMAS
from include.firestore_to_mongo.run.params import SHARED_SCHEMAS, ParamError, dag_params, validated
from include.firestore_to_mongo.verify.config import VERIFY_PARAM_SCHEMAS


@pytest.mark.parametrize("schemas", [PARAM_SCHEMAS, VERIFY_PARAM_SCHEMAS], ids=["migration", "verify"])
def test_both_dags_take_the_shared_params_as_they_are(schemas) -> None:
    for name, schema in SHARED_SCHEMAS.items():
        assert schemas[name] is schema


def test_dag_params_keep_order_defaults_and_schema() -> None:
    params = dag_params(PARAM_SCHEMAS)
    assert list(params) == list(PARAM_SCHEMAS)
    for name, param in params.items():
        schema = PARAM_SCHEMAS[name]
        assert param.value == schema["default"]
        # Airflow keeps the description apart from the schema it validates with.
        assert param.description == schema["description"]
        assert param.schema == {
            key: value for key, value in schema.items() if key not in ("default", "description")
        }
    assert ParamsDict(params).validate() == {
        name: schema["default"] for name, schema in PARAM_SCHEMAS.items()
    }


def test_validated_fills_defaults_and_names_every_bad_param() -> None:
    assert validated(SHARED_SCHEMAS, {})["batch_size"] == SHARED_SCHEMAS["batch_size"]["default"]
    with pytest.raises(ParamError) as raised:
        validated(SHARED_SCHEMAS, {"batch_size": 0, "partitions": 65, "collections": []})
    assert [
        problem.split(":")[0] for problem in str(raised.value).removeprefix("invalid params: ").split("; ")
    ] == [
        "collections",
        "batch_size",
        "partitions",
    ]
