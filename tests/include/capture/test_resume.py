"""A capture process SIGKILLed in the middle of a batch: the next one resumes from the
checkpoint, which never passed an unwritten change; nothing is lost or doubled. The
process is real (a child Python), the emulator and the Mongo test server too."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from include.firestore_to_mongo.target.capture_state import CaptureState
from include.firestore_to_mongo.target.change_journal import CHANGES
from include.firestore_to_mongo.target.writer_lease import EPOCH
from tests.capture_support import GUARD_SECONDS, assert_target_equals_source, commit_time
from tests.conftest import ROOT, TEST_PROJECT
from tests.include.capture.test_session import M, at, seed

pytestmark = pytest.mark.integration

# The child: a capture session whose write of any batch holding a message numbered
# `burst-…` stops halfway (after MongoDB took the writes, before the journal, the versions
# and the checkpoint), says so in a file and waits to be killed.
CHILD = textwrap.dedent(
    """
    import sys, time, pymongo
    from pathlib import Path
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import firestore
    from include.firestore_to_mongo.capture import applier
    from include.firestore_to_mongo.capture.session import CaptureSession, SessionSettings

    uri, database, marker = sys.argv[1:4]
    written = applier.Applier._write

    def write_then_hang(self, spec, winners, entries):
        written(self, spec, winners, entries)
        if any("/burst-" in document.path for document, _ in winners):
            Path(marker).write_text("written")
            time.sleep(3600)

    applier.Applier._write = write_then_hang
    client = firestore.Client(project=sys.argv[4], credentials=AnonymousCredentials())
    target = pymongo.MongoClient(uri, tz_aware=True)[database]
    CaptureSession(client, target, "test/child", SessionSettings(run_seconds=3600, retention_days=7, lease_seconds=5)).run()
    """
)


def test_a_capture_killed_mid_batch_resumes_from_its_checkpoint(
    firestore_client, mongo_db, mongo_uri, capture, tmp_path: Path
):
    client = firestore_client
    seeded = seed(client)
    marker = tmp_path / "marker"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, mongo_uri, mongo_db.name, str(marker), TEST_PROJECT],
        cwd=ROOT,
        env=os.environ | {"PYTHONPATH": str(ROOT)},
        start_new_session=True,
    )
    try:
        _wait(lambda: (CaptureState(mongo_db).checkpoint() or EPOCH) >= seeded, child)
        burst = [
            client.document(f"{M}/burst-{n:02}").set({"role": "user", "content": f"n{n}", "timestamp": at(5)})
            for n in range(30)
        ]
        _wait(lambda: marker.exists() or None, child)
        os.killpg(child.pid, signal.SIGKILL)
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
        child.wait()
    burst_commits = [commit_time(write) for write in burst]
    killed_at = CaptureState(mongo_db).checkpoint()
    # The batch was written, but its consistent point was never reached: the checkpoint
    # stayed before every change of the burst.
    assert killed_at < min(burst_commits)
    assert mongo_db[CHANGES].count_documents({"path": {"$regex": "burst-"}}) == 0

    later = commit_time(client.document(f"{M}/m1").update({"content": "after the kill"}))
    # The killed one's lease (5 s here) lapses before the next one may write.
    running = capture(wait_poll_seconds=0.5)
    running.caught_up(max(later, *burst_commits))
    running.finish()
    assert_target_equals_source(client, mongo_db)
    assert mongo_db.avatar_conversations.count_documents({"message_id": {"$regex": "^burst-"}}) == 30
    # Each burst message journaled once, by the session that resumed.
    assert mongo_db[CHANGES].count_documents({"path": {"$regex": "burst-"}}) == 30


def _wait(condition, child) -> None:
    deadline = time.monotonic() + GUARD_SECONDS
    while not condition():
        assert child.poll() is None, f"the capture process ended ({child.returncode})"
        assert time.monotonic() < deadline, "the capture process did not get there"
        time.sleep(0.05)
