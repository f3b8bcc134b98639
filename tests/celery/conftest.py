"""tests/celery runs only when asked for: `make test-celery` sets FTM_CELERY=1.

Its cluster (PostgreSQL, redis, the api-server, the scheduler, the dag-processor, two
Celery workers) takes a few minutes and Debian packages of its own, so `make test` skips it.
"""

from __future__ import annotations

import os

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
