"""include.firestore_to_mongo.capture.task: an operator's stop (SIGTERM) asks the session to
stop, and Airflow's own handler still runs."""

from __future__ import annotations

import os
import signal
import threading

from include.firestore_to_mongo.capture.task import _stop_on_sigterm


def test_sigterm_stops_the_session_and_airflows_handler_still_runs():
    calls = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: calls.append(signum))
    try:
        stop = threading.Event()
        with _stop_on_sigterm(stop):
            os.kill(os.getpid(), signal.SIGTERM)
        assert stop.is_set()
        assert calls == [signal.SIGTERM]
        # Restored afterwards: a later SIGTERM reaches the handler that was there before.
        os.kill(os.getpid(), signal.SIGTERM)
        assert calls == [signal.SIGTERM, signal.SIGTERM]
    finally:
        signal.signal(signal.SIGTERM, previous)
