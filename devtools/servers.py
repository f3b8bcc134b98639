"""Start and stop the local backends that tests, the demo and the bench run against.

Both run as child processes in their own process group: the Firestore emulator
forks java, and a Mongo server that lives outside the test process can be
killed and restarted to simulate a failover.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

EMULATOR_READY_LINE = "Dev App Server is now running"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop_process_group(process: subprocess.Popen, timeout: float = 10) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=timeout)


def start_logged(command: list[str], log_path: Path | str, **popen: object) -> subprocess.Popen:
    """A server in the background: its own process group (`stop_process_group` ends it and
    its children), its output in `log_path`, no standard input."""
    with open(log_path, "w") as log:
        return subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            **popen,
        )


def local_mongo_conn(port: int, database: str) -> str:
    """AIRFLOW_CONN_MONGO_DEFAULT for a Mongo server of ours on this machine (mongoeco)."""
    return f"mongo://127.0.0.1:{port}/{database}?directConnection=true"


def airflow_environment(
    root: Path, home: Path, firestore_address: str, project: str, mongo_conn: str, **extra: str
) -> dict[str, str]:
    """The environment of an Airflow process that runs this project's DAGs (and plugin)
    against the emulator and a Mongo server: the demo's, `make ui`'s, the bench's."""
    return dict(
        os.environ,
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(root / "dags"),
        AIRFLOW__CORE__PLUGINS_FOLDER=str(root / "plugins"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        PYTHONPATH=str(root),
        FIRESTORE_EMULATOR_HOST=firestore_address,
        AIRFLOW_CONN_GOOGLE_CLOUD_DEFAULT=json.dumps(
            {"conn_type": "google_cloud_platform", "extra": {"project": project}}
        ),
        AIRFLOW_CONN_MONGO_DEFAULT=mongo_conn,
        **extra,
    )


@dataclass
class FirestoreEmulator:
    """A running `gcloud emulators firestore` process."""

    host: str
    port: int
    process: subprocess.Popen

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def wipe(self, project: str) -> None:
        """Delete every document of `project`'s default database."""
        url = f"http://{self.address}/emulator/v1/projects/{project}/databases/(default)/documents"
        urllib.request.urlopen(urllib.request.Request(url, method="DELETE"), timeout=30).close()

    def stop(self) -> None:
        stop_process_group(self.process)


def start_firestore_emulator(
    port: int | None = None, log_path: Path | None = None, timeout: float = 90
) -> FirestoreEmulator:
    """Start the emulator and wait until it serves.

    Its output goes to a file rather than a pipe, so it can outlive this
    process (the demo leaves it running) without dying on a broken pipe.
    """
    port = port or free_port()
    if log_path is None:
        log_path = Path(tempfile.mkdtemp(prefix="firestore-emulator-")) / "emulator.log"
    process = start_logged(
        ["gcloud", "emulators", "firestore", "start", f"--host-port=127.0.0.1:{port}"], log_path
    )
    deadline = time.monotonic() + timeout
    while EMULATOR_READY_LINE not in log_path.read_text(errors="replace"):
        if process.poll() is not None:
            raise RuntimeError(
                f"Firestore emulator exited with {process.returncode}: {log_path.read_text()[-2000:]}"
            )
        if time.monotonic() > deadline:
            stop_process_group(process)
            raise RuntimeError(f"Firestore emulator not ready after {timeout}s; see {log_path}")
        time.sleep(0.2)
    return FirestoreEmulator("127.0.0.1", port, process)


@dataclass
class MongoEcoServer:
    """A mongoeco wire-protocol server in a child process."""

    host: str
    port: int
    process: subprocess.Popen

    @property
    def uri(self) -> str:
        return f"mongodb://{self.host}:{self.port}/?directConnection=true"

    def stop(self) -> None:
        stop_process_group(self.process)


def start_mongoeco(
    port: int | None = None,
    sqlite_path: Path | None = None,
    user: str | None = None,
    password: str | None = None,
    log_path: Path | None = None,
    timeout: float = 30,
) -> MongoEcoServer:
    port = port or free_port()
    # mongoeco needs Python 3.13: tests run under an older Python name a 3.13 interpreter here.
    python = os.environ.get("MONGOECO_PYTHON") or sys.executable
    command = [python, "-m", "devtools.mongoeco_server", "--port", str(port)]
    if sqlite_path:
        command += ["--sqlite", str(sqlite_path)]
    env = dict(os.environ)
    if user:
        command += ["--user", user]
        # The password travels by environment, never on a command line that `ps` shows.
        env["MONGOECO_PASSWORD"] = password or ""
    process = start_logged(
        command, log_path or os.devnull, cwd=Path(__file__).resolve().parent.parent, env=env
    )
    wait_for_port("127.0.0.1", port, timeout, process)
    return MongoEcoServer("127.0.0.1", port, process)


def wait_for_port(host: str, port: int, timeout: float, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before listening on {port}")
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
            return
        time.sleep(0.1)
    stop_process_group(process)
    raise RuntimeError(f"nothing listens on {host}:{port} after {timeout}s")
