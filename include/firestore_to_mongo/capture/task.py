"""The capture task: one bounded session, from the checkpoint the last one left."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from include.firestore_to_mongo.capture.config import CaptureConfig

log = logging.getLogger(__name__)


def capture_task(params: Mapping[str, Any], ti) -> dict[str, Any]:
    """Listen and apply for `run_minutes`, then end; returns the session's figures."""
    from include.firestore_to_mongo.capture.session import CaptureSession, SessionSettings
    from include.firestore_to_mongo.source.hook import open_source
    from include.firestore_to_mongo.target.connection import TargetSession

    config = CaptureConfig.from_params(params)
    client, source = open_source(config.firestore_conn_id)
    holder = f"{ti.dag_id}/{ti.run_id}/{ti.try_number}"
    settings = SessionSettings(run_seconds=config.run_minutes * 60, retention_days=config.retention_days)
    with TargetSession(config) as target:
        log.info(
            "capturing changes from %s into %s for %d minutes",
            source,
            target.database.name,
            config.run_minutes,
        )
        result = CaptureSession(
            client, target.database, holder, settings, dag_id=ti.dag_id, run_id=ti.run_id
        ).run()
    log.info("capture ended: %s; checkpoint %s", result["outcome"], result["checkpoint"])
    return result
