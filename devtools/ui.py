"""`make ui` and `make ui-down`: the whole product in a browser, on this machine.

    python -m devtools.ui up     # emulator, Mongo, sample data, `airflow standalone`; prints the URL
    python -m devtools.ui down   # stops what `up` started

The same stack serves the browser test (tests/devtools/test_ui_browser.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

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


@dataclass
class Stack:
    """The running stack: where Airflow serves, how to log in, and the processes to stop."""

    directory: Path
    url: str
    password: str
    processes: list[subprocess.Popen] = field(default_factory=list)

    def stop(self) -> None:
        stop_all([process.pid for process in self.processes])


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


def environment(directory: Path, airflow_port: int, firestore: str, mongo_port: int) -> dict[str, str]:
    home = directory / "airflow"
    return airflow_environment(
        ROOT,
        home,
        firestore,
        PROJECT,
        local_mongo_conn(mongo_port, DATABASE),
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS=f"{USER}:admin",
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=str(home / "passwords.json"),
        AIRFLOW__API__PORT=str(airflow_port),
        AIRFLOW__API__BASE_URL=f"http://127.0.0.1:{airflow_port}",
        # Manual only: unpausing a scheduled DAG would start its latest interval's run at once.
        FIRESTORE_TO_MONGO_SCHEDULE="none",
        # `airflow standalone` starts its components as `airflow …`, found on PATH.
        PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    )


def start_stack(directory: Path, airflow_port: int | None = None, quiet: bool = True) -> Stack:
    """Start the emulator, Mongo (in memory), seed the sample data, start `airflow standalone`
    and wait until its API answers. Stops what it started if anything fails."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import firestore

    from devtools.sample_data import seed

    directory.mkdir(parents=True, exist_ok=True)
    airflow_port = airflow_port or free_port()
    say = (lambda message: None) if quiet else step
    started: list[subprocess.Popen] = []
    try:
        say("Starting the Firestore emulator")
        emulator = start_firestore_emulator(log_path=directory / "firestore.log")
        started.append(emulator.process)
        say("Starting mongoeco (in memory)")
        mongo = start_mongoeco(log_path=directory / "mongo.log")
        started.append(mongo.process)
        env = environment(directory, airflow_port, emulator.address, mongo.port)
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
        url = f"http://127.0.0.1:{airflow_port}"
        _wait_until_serving(url, standalone, directory / "airflow.log")
        return Stack(directory, url, password, started)
    except BaseException:
        stop_all([process.pid for process in started])
        raise


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


def up() -> int:
    down(quiet=True)
    port = int(os.environ.get("UI_PORT", "8080"))
    started = time.monotonic()
    stack = start_stack(UI, port, quiet=False)
    (UI / "pids").write_text(" ".join(str(process.pid) for process in stack.processes))
    print(
        f"""
Airflow is up in {time.monotonic() - started:.0f} s: {stack.url}
Log in as '{USER}' with password '{stack.password}' (kept in .ui/airflow/passwords.json).

Then, in the UI:
- Dags → firestore_to_mongo: unpause it (its schedule is off here, FIRESTORE_TO_MONGO_SCHEDULE=none,
  so unpausing starts nothing; with a schedule, unpausing starts the latest interval's run at once),
  and trigger it: first with dry_run on, then with mode "full".
- Dags → firestore_to_mongo_verify: unpause and trigger it (depth full).
- "Firestore → MongoDB" in the navigation: the sync page, per collection.
Stop everything with `make ui-down`. Logs: .ui/airflow.log, .ui/firestore.log, .ui/mongo.log"""
    )
    return 0


def down(quiet: bool = False) -> None:
    pids = UI / "pids"
    if not pids.exists():
        return
    stop_all([int(found) for found in pids.read_text().split()])
    pids.unlink()
    if not quiet:
        print("stopped airflow standalone, mongoeco and the Firestore emulator")


def step(message: str) -> None:
    print(f"==> {message}", flush=True)


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "up"
    if command == "up":
        sys.exit(up())
    elif command == "down":
        down()
