"""`make ui` and `make ui-down`: the whole product in a browser, on this machine.

    python -m devtools.ui up     # emulator, Mongo, sample data, `airflow standalone`, change capture;
                                 # prints the URL, the servers' addresses and how to try capture
    python -m devtools.ui down   # stops what `up` started

Every `up` starts from nothing: the emulator and mongoeco keep their data in memory, so they
come back empty and are seeded again, and Airflow's state (its metadata database and task
logs under .ui/airflow) is reset to match; only the login's password is kept. Airflow listens
on 127.0.0.1 unless UI_HOST says otherwise.

The same stack serves the browser test (tests/devtools/test_ui_browser.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devtools.servers import (
    airflow_environment,
    free_port,
    local_mongo_conn,
    start_firestore_emulator,
    start_mongoeco,
)

ROOT = Path(__file__).resolve().parent.parent
UI = ROOT / ".ui"
PROJECT = "demo-project"
DATABASE = "app"
USER = "admin"
CAPTURE_DAG_ID = "firestore_to_mongo_capture"
# `make ui`'s own ports (the demo's are 8686 and 27027), fixed so that the commands the
# docs/getting-started.md shows work as they are; the browser test takes free ones.
UI_PORT = int(os.environ.get("UI_PORT", "8080"))
UI_FIRESTORE_PORT = int(os.environ.get("UI_FIRESTORE_PORT", "8687"))
UI_MONGO_PORT = int(os.environ.get("UI_MONGO_PORT", "27028"))
# Where Airflow's api-server listens: this machine only, unless told otherwise (UI_HOST=0.0.0.0
# for every interface). Airflow's own default is 0.0.0.0, which its simple auth manager (the
# login here) takes for a production deployment and warns about.
UI_HOST = os.environ.get("UI_HOST", "127.0.0.1")
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


@dataclass
class Stack:
    """The running stack: where Airflow serves, how to log in, the servers' addresses and
    the processes to stop."""

    directory: Path
    url: str
    password: str
    firestore: str  # the emulator's host:port, for FIRESTORE_EMULATOR_HOST
    mongo_uri: str
    processes: list[subprocess.Popen] = field(default_factory=list)
    _token: str | None = field(default=None, repr=False)

    def api(self, method: str, path: str, body: dict | None = None) -> Any:
        """Airflow's REST API (`path` from /api/v2/…), as the stack's user."""
        if self._token is None:
            login = {"username": USER, "password": self.password}
            self._token = _request(self.url, "POST", "/auth/token", login)["access_token"]
        return _request(self.url, method, path, body, self._token)

    def stop(self) -> None:
        stop_all([process.pid for process in self.processes])


def _request(base: str, method: str, path: str, body: dict | None = None, token: str | None = None) -> Any:
    request = urllib.request.Request(
        base + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json"}
        | ({"Authorization": f"Bearer {token}"} if token else {}),
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"null")


def stop_all(pids: list[int], timeout: float = 20) -> None:
    """Stop these processes and every descendant: `airflow standalone` starts components
    (the api-server among them) that leave its process group."""
    import psutil

    found = []
    for pid in pids:
        with contextlib.suppress(psutil.NoSuchProcess):
            parent = psutil.Process(pid)
            found += [parent, *parent.children(recursive=True)]
    for process in found:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.terminate()
    _, alive = psutil.wait_procs(found, timeout=timeout)
    for process in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()


def environment(
    directory: Path, airflow_port: int, firestore: str, mongo_port: int, host: str = "127.0.0.1"
) -> dict[str, str]:
    home = directory / "airflow"
    return airflow_environment(
        ROOT,
        home,
        firestore,
        PROJECT,
        local_mongo_conn(mongo_port, DATABASE),
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS=f"{USER}:admin",
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=str(home / "passwords.json"),
        AIRFLOW__API__HOST=host,
        AIRFLOW__API__PORT=str(airflow_port),
        AIRFLOW__API__BASE_URL=f"http://{url_host(host)}:{airflow_port}",
        # Manual only: unpausing a scheduled DAG would start its latest interval's run at once.
        # (Not the capture DAG's: its schedule is continuous, and unpausing it is how it starts.)
        FIRESTORE_TO_MONGO_SCHEDULE="none",
        # `airflow standalone` starts its components as `airflow …`, found on PATH.
        PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    )


def url_host(host: str) -> str:
    """The host of Airflow's URL when it listens on `host`: 127.0.0.1 for every interface."""
    if host in ("0.0.0.0", "::", ""):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def start_stack(
    directory: Path,
    airflow_port: int | None = None,
    quiet: bool = True,
    firestore_port: int | None = None,
    mongo_port: int | None = None,
    host: str = "127.0.0.1",
) -> Stack:
    """Start the emulator, Mongo (in memory), seed the sample data, start `airflow standalone`
    listening on `host` and wait until its API answers (free ports for what isn't given).
    Change capture stays off: `start_capture` turns it on. Stops what it started if anything
    fails."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import firestore

    from devtools.sample_data import seed

    directory.mkdir(parents=True, exist_ok=True)
    airflow_port = airflow_port or free_port()
    say = (lambda message: None) if quiet else step
    started: list[subprocess.Popen] = []
    try:
        say("Starting the Firestore emulator")
        emulator = start_firestore_emulator(firestore_port, log_path=directory / "firestore.log")
        started.append(emulator.process)
        say("Starting mongoeco (in memory)")
        mongo = start_mongoeco(mongo_port, log_path=directory / "mongo.log")
        started.append(mongo.process)
        env = environment(directory, airflow_port, emulator.address, mongo.port, host)
        with _emulator_host(emulator.address):
            counts = seed(firestore.Client(project=PROJECT, credentials=AnonymousCredentials()))
        say("Seeded " + ", ".join(f"{count:,} {name}" for name, count in sorted(counts.items())))
        password = _password_file(Path(env["AIRFLOW_HOME"]))
        say(f"Starting airflow standalone on port {airflow_port} (log: {directory / 'airflow.log'})")
        with open(directory / "airflow.log", "w") as log:
            standalone = subprocess.Popen(
                [sys.executable, "-m", "airflow", "standalone"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                cwd=directory,
            )
        started.append(standalone)
        url = f"http://{url_host(host)}:{airflow_port}"
        _wait_until_serving(url, standalone, directory / "airflow.log")
        return Stack(directory, url, password, emulator.address, mongo.uri, started)
    except BaseException:
        stop_all([process.pid for process in started])
        raise


def start_capture(stack: Stack, timeout: float = 240) -> dict[str, Any]:
    """Unpause the capture DAG, whose continuous schedule starts a run at once, and wait until
    capture says it is running and has stored a checkpoint (its first start applies the whole
    current set first); return its status (`_firestore_to_mongo_capture` in the database)."""
    deadline = time.monotonic() + timeout
    dag = f"/api/v2/dags/{CAPTURE_DAG_ID}"
    while True:
        try:
            stack.api("PATCH", dag, {"is_paused": False})
            break
        except urllib.error.HTTPError as error:
            # 404: the DAG processor hasn't parsed the DAG files yet.
            if error.code != 404 or time.monotonic() > deadline:
                raise
        time.sleep(1)
    status: dict[str, Any] = {}
    while True:
        status = capture_status(stack)
        if status.get("state") == "running" and status.get("checkpoint"):
            return status
        failed = stack.api("GET", f"{dag}/dagRuns?state=failed&limit=1")["dag_runs"]
        if failed or time.monotonic() > deadline:
            what = f"run {failed[0]['dag_run_id']} failed" if failed else f"not running after {timeout:.0f} s"
            raise RuntimeError(
                f"change capture {what} (status: state {status.get('state')!r}, checkpoint "
                f"{status.get('checkpoint')}); its task logs are under {stack.directory / 'airflow' / 'logs'}"
            )
        time.sleep(1)


def capture_status(stack: Stack) -> dict[str, Any]:
    """What capture last stored about itself ({} before its first start)."""
    import pymongo

    from include.firestore_to_mongo.target.capture_state import CaptureState

    with pymongo.MongoClient(stack.mongo_uri, tz_aware=True, serverSelectionTimeoutMS=5_000) as client:
        return CaptureState(client[DATABASE]).read_status() or {}


@contextlib.contextmanager
def _emulator_host(address: str):
    """FIRESTORE_EMULATOR_HOST for the clients made inside, restored afterwards: the caller
    (a test session, say) may have its own emulator."""
    before = os.environ.get("FIRESTORE_EMULATOR_HOST")
    os.environ["FIRESTORE_EMULATOR_HOST"] = address
    try:
        yield
    finally:
        if before is None:
            del os.environ["FIRESTORE_EMULATOR_HOST"]
        else:
            os.environ["FIRESTORE_EMULATOR_HOST"] = before


def _password_file(home: Path) -> str:
    """The login's password: made up once per directory, kept in the simple auth manager's file."""
    home.mkdir(parents=True, exist_ok=True)
    path = home / "passwords.json"
    if path.exists():
        return json.loads(path.read_text())[USER]
    password = secrets.token_urlsafe(12)
    path.write_text(json.dumps({USER: password}))
    path.chmod(0o600)
    return password


def _wait_until_serving(url: str, process: subprocess.Popen, log: Path, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"airflow standalone exited with {process.returncode}: {log.read_text()[-3000:]}"
            )
        try:
            with urllib.request.urlopen(f"{url}/api/v2/monitor/health", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(1)
    raise RuntimeError(f"airflow standalone did not serve {url} within {timeout:.0f} s; see {log}")


def reset_airflow_state(home: Path) -> list[str]:
    """Remove Airflow's metadata database and task logs from `home` (keeping its config and
    the login's password file); return what was there."""
    removed = []
    for name in ("airflow.db", "airflow.db-journal", "airflow.db-wal", "airflow.db-shm", "logs"):
        path = home / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
        else:
            continue
        removed.append(name)
    return removed


def _port_taken(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        return True
    return False


def up() -> int:
    down(quiet=True)
    ports = {"UI_PORT": UI_PORT, "UI_FIRESTORE_PORT": UI_FIRESTORE_PORT, "UI_MONGO_PORT": UI_MONGO_PORT}
    taken = [f"{port} ({name})" for name, port in ports.items() if _port_taken(port)]
    if taken:
        print(
            f"make ui: something already answers on port {', '.join(taken)}: stop it, or pick "
            "another port with that variable (UI_PORT=8090 make ui).",
            file=sys.stderr,
        )
        return 1
    started = time.monotonic()
    if reset_airflow_state(UI / "airflow"):
        step(
            "Starting fresh: the emulator and MongoDB kept their data in memory, so it went with "
            "them; Airflow's runs and logs of the last `make ui` (.ui/airflow) are cleared to match "
            "(the login's password is kept)"
        )
    stack = start_stack(
        UI, UI_PORT, quiet=False, firestore_port=UI_FIRESTORE_PORT, mongo_port=UI_MONGO_PORT, host=UI_HOST
    )
    (UI / "pids").write_text(" ".join(str(process.pid) for process in stack.processes))
    step(f"Starting change capture: unpausing {CAPTURE_DAG_ID}")
    try:
        status = start_capture(stack)
        capture = (
            f"Change capture is running (checkpoint {status['checkpoint']:%Y-%m-%d %H:%M:%S} UTC): at its "
            "first start it copied the sample data into MongoDB, and it applies every change "
            "within seconds."
        )
        code = 0
    except RuntimeError as error:
        capture = f"Change capture did not start: {error}"
        code = 1
    mongo = f"mongodb://127.0.0.1:{UI_MONGO_PORT}/?directConnection=true"
    where = (
        "listening on this machine only (UI_HOST=0.0.0.0 make ui: on every interface)"
        if UI_HOST in LOCAL_HOSTS
        else f"listening on {UI_HOST} (UI_HOST)"
    )
    print(
        f"""
Up in {time.monotonic() - started:.0f} s: Airflow at {stack.url}, {where}.
Every `make ui` starts fresh: new sample data, an empty MongoDB, no Airflow runs yet.
Log in as '{USER}' with password '{stack.password}' (kept in .ui/airflow/passwords.json).
Firestore emulator: {stack.firestore} (project '{PROJECT}'); MongoDB: {mongo}, database '{DATABASE}'.

{capture}
Change a user in Firestore, then read it in MongoDB:
  FIRESTORE_EMULATOR_HOST={stack.firestore} .venv/bin/python -c 'from google.cloud import firestore; \
firestore.Client(project="{PROJECT}").document("users/user001").update({{"username": "renamed in Firestore"}})'
  .venv/bin/python -c 'import pymongo; print(pymongo.MongoClient("{mongo}").{DATABASE}.users.find_one(\
{{"user_id": "user001"}}, {{"_id": 0, "username": 1}}))'

Then, in the UI:
- "Sync" in the navigation: the sync page (Firestore → MongoDB), capture at the top, then per
  collection; a run's id opens that run in the UI.
- Dags → {CAPTURE_DAG_ID}: its runs, 10 minutes each; pause it to turn capture off.
- Dags → firestore_to_mongo: unpause it (its schedule is off here, FIRESTORE_TO_MONGO_SCHEDULE=none,
  so unpausing starts nothing; with a schedule, unpausing starts the latest interval's run at once),
  and trigger it with mode "full" (capture pauses its writes meanwhile); a dry run reports in its
  summary task's log only: dry runs write nothing to MongoDB, so the sync page doesn't show them.
- Dags → firestore_to_mongo_verify: unpause and trigger it (depth full).
Stop everything with `make ui-down`. Logs: .ui/airflow.log, .ui/firestore.log, .ui/mongo.log"""
    )
    return code


def down(quiet: bool = False) -> None:
    pids = UI / "pids"
    if not pids.exists():
        return
    stop_all([int(found) for found in pids.read_text().split()])
    pids.unlink()
    if not quiet:
        print(
            "stopped airflow standalone, mongoeco and the Firestore emulator; their data was in "
            "memory, so the next `make ui` starts fresh, Airflow's runs and logs included"
        )


def step(message: str) -> None:
    print(f"==> {message}", flush=True)


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "up"
    if command == "up":
        sys.exit(up())
    elif command == "down":
        down()
