"""The capture task: one bounded session, from the checkpoint the last one left."""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Iterator, Mapping
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
    settings = SessionSettings(
        run_seconds=config.run_minutes * 60,
        retention_days=config.retention_days,
        timeout_seconds=config.timeout_seconds,
    )
    stop = threading.Event()
    with TargetSession(config) as target, _stop_on_sigterm(stop):
        log.info(
            "capturing changes from %s into %s for %d minutes",
            source,
            target.database.name,
            config.run_minutes,
        )
        result = CaptureSession(
            client, target.database, holder, settings, dag_id=ti.dag_id, run_id=ti.run_id, stop=stop
        ).run()
    log.info("capture ended: %s; checkpoint %s", result["outcome"], result["checkpoint"])
    return result


@contextlib.contextmanager
def _stop_on_sigterm(stop: threading.Event) -> Iterator[None]:
    """An operator's stop (marking the run, a clear, a timeout, a worker's warm shutdown)
    reaches the task as SIGTERM, a few seconds before SIGKILL: capture then writes what it
    holds, checkpoints and hands its writer lease back, so the next run needn't wait for
    it to lapse. Airflow's own handler still runs."""
    try:
        previous = signal.getsignal(signal.SIGTERM)

        def on_sigterm(signum, frame) -> None:
            log.info("capture asked to stop (SIGTERM): writing what it holds and handing over")
            stop.set()
            if callable(previous):
                previous(signum, frame)

        signal.signal(signal.SIGTERM, on_sigterm)
    except ValueError:  # not the main thread: nothing to hook into
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
