"""tests/celery runs only when asked for: `make test-celery` sets FTM_CELERY=1.

Its cluster (PostgreSQL, redis, the api-server, the scheduler, the dag-processor, two
Celery workers) takes a few minutes and Debian packages of its own, so `make test` skips it.

The fixtures every module here shares are module-scoped: each module gets a cluster of its
own (its kills and runs never reach another module's).
"""

from __future__ import annotations

import contextlib
import os
import time

import pytest

ENABLE = "FTM_CELERY"


def pytest_collection_modifyitems(config, items):
    if os.environ.get(ENABLE) == "1":
        return
    skip = pytest.mark.skip(
        reason=f"a CeleryExecutor cluster of its own: `make test-celery` ({ENABLE}=1) runs it"
    )
    for item in items:
        if "celery" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="module")
def say(request):
    """Progress lines on the terminal, even while pytest captures output."""
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    started = time.monotonic()

    def say(message: str) -> None:
        line = f"[celery {time.monotonic() - started:4.0f} s] {message}"
        with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
            print(line, flush=True)

    return say


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, say):
    """The module's own cluster (devtools/celery_cluster.py), every DAG as it was parsed:
    paused."""
    from devtools.celery_cluster import start_cluster

    cluster = start_cluster(tmp_path_factory.mktemp("celery-cluster"), say)
    try:
        yield cluster
    finally:
        say("stopping the cluster")
        cluster.stop()


@pytest.fixture(scope="module")
def mongo(cluster):
    import pymongo

    client = pymongo.MongoClient(cluster.mongo.uri, serverSelectionTimeoutMS=10_000)
    yield client
    client.close()
