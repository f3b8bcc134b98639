"""A real CeleryExecutor deployment on this machine, for `make test-celery`.

Everything runs as child processes on free ports, with its logs (and the Airflow home) in
one directory; `stop()` (also called when the start fails) ends them all, every process
group and every process under them, and removes PostgreSQL's files:

- Debian's `redis-server`, the Celery broker;
- Debian's PostgreSQL (`initdb`, `postgres`, run as the `postgres` user when we are root):
  Airflow's metadata database and Celery's result backend;
- the Firestore emulator and mongoeco (in memory), from devtools/servers.py;
- `airflow db migrate`, then the api-server, the scheduler, the dag-processor and two
  `airflow celery worker`s, each with a hostname of its own that Airflow records on the
  task instances it runs (`[core] hostname_callable` = `worker_hostname` below).

`kill_worker(name)` SIGKILLs a worker and every process under it, the way a lost machine
ends: no clean shutdown, no last heartbeat.

`CELERY_SETTINGS` are the settings a Celery deployment of this DAG needs, the same here as
in docker-compose.celery.yaml (tests/test_docker_compose.py compares them); `CELERY_ENDPOINTS`
are the settings every component must share but whose values name each deployment's own
servers and secrets.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devtools.servers import (
    FirestoreEmulator,
    MongoEcoServer,
    airflow_environment,
    free_port,
    local_mongo_conn,
    start_firestore_emulator,
    start_logged,
    start_mongoeco,
    stop_process_group,
    wait_for_port,
)

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "celery-project"
DATABASE = "app"
WORKERS = ("worker-a", "worker-b")
WORKER_CONCURRENCY = 2
# The variable `worker_hostname` reads: each worker's own name.
WORKER_HOSTNAME_ENV = "FTM_WORKER_HOSTNAME"
POSTGRES_USER = "airflow"
POSTGRES_DATABASE = "airflow"
# Trusted local connections; UTF-8 without a locale; no fsync while it is made.
INITDB_OPTIONS = ("--auth=trust", "--no-locale", "-E", "UTF8", "--no-sync")
POSTGRES_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "max_connections": "200",
    # A throwaway database: no crash safety needed.
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
}

CELERY_SETTINGS = {
    "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
    # A worker that dies (a lost machine, an OOM kill) stops heartbeating its task instances:
    # after this many seconds without one, the scheduler fails them and Airflow retries them
    # on another worker, where a partition resumes from its checkpoint. The default, 300 s,
    # leaves a partition idle for five minutes; the workers heartbeat every 5 s.
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "30",
}
CELERY_ENDPOINTS = (
    "AIRFLOW__CELERY__BROKER_URL",
    # Celery's task states, in the metadata database: db+ and the same URL, driver included
    # (SQLAlchemy 2.1 reads a bare postgresql:// as psycopg 3, which the image may lack).
    "AIRFLOW__CELERY__RESULT_BACKEND",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
    # Workers run tasks through the api-server's execution API …
    "AIRFLOW__CORE__EXECUTION_API_SERVER_URL",
    # … with tokens that every component signs and checks with one secret.
    "AIRFLOW__API_AUTH__JWT_SECRET",
)

Progress = Callable[[str], None]


def worker_hostname() -> str:
    """`[core] hostname_callable` here: the worker's name from its environment, so two
    workers on one machine show up as two hosts on their task instances."""
    name = os.environ.get(WORKER_HOSTNAME_ENV)
    if name:
        return name
    from airflow.utils.net import getfqdn

    return getfqdn()


@dataclass
class Worker:
    name: str
    process: subprocess.Popen
    log: Path


@dataclass
class CeleryCluster:
    directory: Path
    api_url: str
    firestore: FirestoreEmulator
    mongo: MongoEcoServer
    project: str
    env: dict[str, str]
    workers: dict[str, Worker] = field(default_factory=dict)
    # Everything started, in start order (stopped in reverse).
    processes: list[tuple[str, subprocess.Popen]] = field(default_factory=list)
    postgres_data: Path | None = None
    _token: str | None = None

    def api(self, method: str, path: str, body: Any = None, timeout: float = 30) -> Any:
        """Call Airflow's REST API (a token from the simple auth manager, all users admins)."""
        if self._token is None:
            self._token = _request(self.api_url, "GET", "/auth/token")["access_token"]
        return _request(self.api_url, method, path, body, self._token, timeout)

    def kill_worker(self, name: str) -> list[int]:
        """SIGKILL a worker and everything under it, at once: its own process group and
        the task processes, which the task supervisor puts in process groups of their own.
        Returns the pids killed."""
        import psutil

        worker = self.workers[name]
        try:
            root = psutil.Process(worker.process.pid)
            tree = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            tree = []
        groups = set()
        for process in tree:
            with contextlib.suppress(ProcessLookupError, psutil.NoSuchProcess):
                groups.add(os.getpgid(process.pid))
        for group in groups:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)
        for process in tree:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()
        worker.process.wait(timeout=30)
        psutil.wait_procs(tree, timeout=30)
        return [process.pid for process in tree]

    def stop(self) -> None:
        _stop_all(self.processes)
        if self.postgres_data is not None:
            _remove_postgres_data(self.postgres_data)
        shutil.rmtree(self.directory / "pycache", ignore_errors=True)


def start_cluster(directory: Path, progress: Progress = lambda message: None) -> CeleryCluster:
    """Start everything (about a minute); stop what started if anything fails."""
    directory.mkdir(parents=True, exist_ok=True)
    started: list[tuple[str, subprocess.Popen]] = []
    # PostgreSQL's files, owned by the postgres user, in a directory of their own: the postgres
    # user may not reach into `directory` (pytest's are private to root).
    postgres_data = Path(tempfile.mkdtemp(prefix="ftm-celery-postgres-"))
    try:
        return _start(directory, postgres_data, progress, started)
    except BaseException:
        _stop_all(started)
        _remove_postgres_data(postgres_data)
        shutil.rmtree(directory / "pycache", ignore_errors=True)
        raise


def _start(directory: Path, postgres_data: Path, progress: Progress, started: list) -> CeleryCluster:
    redis_port, postgres_port, api_port = free_port(), free_port(), free_port()
    progress(f"starting redis, PostgreSQL, the Firestore emulator and mongoeco under {directory}")
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {
            "redis": pool.submit(_start_redis, directory, redis_port),
            "postgres": pool.submit(
                _start_postgres, postgres_data, postgres_port, directory / "postgres.log"
            ),
            "firestore": pool.submit(start_firestore_emulator, log_path=directory / "firestore.log"),
            "mongoeco": pool.submit(start_mongoeco, log_path=directory / "mongo.log"),
        }
    servers, failures = {}, []
    for name, future in futures.items():
        try:
            servers[name] = future.result()
        except Exception as error:
            failures.append(error)
            continue
        started.append((name, getattr(servers[name], "process", servers[name])))
    if failures:
        raise failures[0]
    emulator, mongo = servers["firestore"], servers["mongoeco"]

    env = cluster_environment(
        directory,
        firestore_address=emulator.address,
        mongo_port=mongo.port,
        redis_port=redis_port,
        postgres_port=postgres_port,
        api_port=api_port,
    )
    (directory / "airflow").mkdir()

    progress("airflow db migrate (PostgreSQL)")
    migrate = subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        env=env,
        cwd=directory,
        capture_output=True,
        text=True,
        check=False,
    )
    (directory / "db-migrate.log").write_text(migrate.stdout + migrate.stderr)
    if migrate.returncode != 0:
        raise RuntimeError(f"airflow db migrate failed: {(migrate.stdout + migrate.stderr)[-3000:]}")

    progress(
        f"starting the api-server (port {api_port}), the scheduler, the dag-processor and "
        f"{len(WORKERS)} celery workers ({', '.join(WORKERS)}, concurrency {WORKER_CONCURRENCY} each)"
    )
    api_server = _airflow(
        directory, env, "api-server", ["api-server", "--port", str(api_port), "--workers", "1"]
    )
    started.append(("api-server", api_server))
    started.append(("scheduler", _airflow(directory, env, "scheduler", ["scheduler"])))
    started.append(("dag-processor", _airflow(directory, env, "dag-processor", ["dag-processor"])))
    workers = {}
    for name in WORKERS:
        command = [
            "celery",
            "worker",
            "--concurrency",
            str(WORKER_CONCURRENCY),
            "--celery-hostname",
            f"{name}@%h",
            # The task logs are files under the shared AIRFLOW_HOME: no log server, whose
            # fixed port two workers on one machine would both want.
            "--skip-serve-logs",
            "--pid",
            str(directory / f"{name}.pid"),
        ]
        process = _airflow(directory, env | {WORKER_HOSTNAME_ENV: name}, name, command)
        started.append((name, process))
        workers[name] = Worker(name, process, directory / f"{name}.log")

    cluster = CeleryCluster(
        directory=directory,
        api_url=f"http://127.0.0.1:{api_port}",
        firestore=emulator,
        mongo=mongo,
        project=PROJECT,
        env=env,
        workers=workers,
        processes=started,
        postgres_data=postgres_data,
    )
    _wait_until_ready(cluster, dict(started))
    progress("the cluster is up: the api-server answers, the workers are ready, the DAG is parsed")
    return cluster


def cluster_environment(
    directory: Path,
    *,
    firestore_address: str,
    mongo_port: int,
    redis_port: int,
    postgres_port: int,
    api_port: int,
) -> dict[str, str]:
    """The environment of every Airflow process of the cluster (a worker adds its name)."""
    database = f"{POSTGRES_USER}@127.0.0.1:{postgres_port}/{POSTGRES_DATABASE}"
    env = airflow_environment(
        ROOT,
        directory / "airflow",
        firestore_address,
        PROJECT,
        local_mongo_conn(mongo_port, DATABASE),
        **CELERY_SETTINGS,
        AIRFLOW__CELERY__BROKER_URL=f"redis://127.0.0.1:{redis_port}/0",
        AIRFLOW__CELERY__RESULT_BACKEND=f"db+postgresql+psycopg2://{database}",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"postgresql+psycopg2://{database}",
        AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"http://127.0.0.1:{api_port}/execution/",
        AIRFLOW__API_AUTH__JWT_SECRET=secrets.token_urlsafe(32),
        AIRFLOW__API__SECRET_KEY=secrets.token_urlsafe(32),
        AIRFLOW__CORE__FERNET_KEY=_fernet_key(),
        AIRFLOW__API__PORT=str(api_port),
        AIRFLOW__API__BASE_URL=f"http://127.0.0.1:{api_port}",
        AIRFLOW__CORE__AUTH_MANAGER=(
            "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
        ),
        # GET /auth/token hands out an admin's token: the test drives the REST API with it.
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS="True",
        # Two workers on one machine: each names itself (WORKER_HOSTNAME_ENV).
        AIRFLOW__CORE__HOSTNAME_CALLABLE=f"{__name__}.worker_hostname",
        # Manual runs only: nothing starts when the DAG is unpaused.
        FIRESTORE_TO_MONGO_SCHEDULE="none",
        PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        # Every task is a fresh Python process that imports Airflow, the Google and Mongo
        # clients: with bytecode cached (here, not in .venv) a task starts in seconds, not
        # the ten or more it takes to compile them again on a machine that writes no bytecode.
        PYTHONPYCACHEPREFIX=str(directory / "pycache"),
    )
    for name in (WORKER_HOSTNAME_ENV, "AIRFLOW_CONFIG", "PYTHONDONTWRITEBYTECODE"):
        env.pop(name, None)
    return env


def _airflow(directory: Path, env: dict[str, str], name: str, args: list[str]) -> subprocess.Popen:
    return start_logged(
        [sys.executable, "-m", "airflow", *args], directory / f"{name}.log", env=env, cwd=directory
    )


def _wait_until_ready(cluster: CeleryCluster, processes: dict[str, subprocess.Popen], timeout: float = 240):
    deadline = time.monotonic() + timeout
    waiting = {"api-server", "dag", *cluster.workers}
    while waiting:
        for name, process in processes.items():
            if process.poll() is not None:
                log = cluster.directory / f"{name}.log"
                tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
                raise RuntimeError(f"{name} exited with {process.returncode}: {tail}")
        if "api-server" in waiting:
            with contextlib.suppress(OSError):
                _request(cluster.api_url, "GET", "/api/v2/monitor/health", timeout=5)
                waiting.discard("api-server")
        for name, worker in cluster.workers.items():
            # Celery logs "<name>@<host> ready." once it consumes from the broker.
            if name in waiting and any(
                f"{name}@" in line and "ready." in line
                for line in worker.log.read_text(errors="replace").splitlines()
            ):
                waiting.discard(name)
        if "dag" in waiting and "api-server" not in waiting:
            with contextlib.suppress(OSError):
                cluster.api("GET", "/api/v2/dags/firestore_to_mongo", timeout=5)
                waiting.discard("dag")
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"still waiting for {sorted(waiting)} after {timeout:.0f} s; logs in {cluster.directory}"
            )
        time.sleep(1)


def _request(
    base: str, method: str, path: str, body: Any = None, token: str | None = None, timeout: float = 30
):
    request = urllib.request.Request(
        base + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Accept": "application/json"}
        | ({"Authorization": f"Bearer {token}"} if token else {}),
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        detail = error.read().decode(errors="replace")[:500]
        raise OSError(f"{method} {path}: HTTP {error.code} {detail}") from error


def quoted(run_id: str) -> str:
    """A run id as one URL path segment (manual run ids hold ':' and '+')."""
    return urllib.parse.quote(run_id, safe="")


# --- redis and PostgreSQL ----------------------------------------------------------------


def _start_redis(directory: Path, port: int) -> subprocess.Popen:
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed: apt-get install -y redis-server")
    process = start_logged(
        # In memory only: no snapshots, no append-only file.
        [
            binary,
            *("--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory)),
            *("--save", "", "--appendonly", "no"),
        ],
        directory / "redis.log",
    )
    wait_for_port("127.0.0.1", port, 30, process)
    return process


def postgres_bin() -> Path:
    """Debian's newest PostgreSQL server binaries (`FTM_POSTGRES_BIN` names others)."""
    if configured := os.environ.get("FTM_POSTGRES_BIN"):
        return Path(configured)
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda path: int(path.parts[-3].split(".")[0])
    )
    if not found:
        raise RuntimeError("PostgreSQL is not installed: apt-get install -y postgresql")
    return found[-1].parent


def _as_postgres() -> dict[str, Any]:
    """PostgreSQL refuses to run as root: as root, run it as the `postgres` user."""
    return {"user": "postgres", "group": "postgres"} if os.geteuid() == 0 else {}


def _start_postgres(pg: Path, port: int, log_path: Path) -> subprocess.Popen:
    import psycopg2

    binaries = postgres_bin()
    if os.geteuid() == 0:
        shutil.chown(pg, "postgres", "postgres")
    pg.chmod(0o700)
    data = pg / "data"
    env = {"PATH": os.environ.get("PATH", ""), "LC_ALL": "C", "HOME": str(pg)}
    initdb = subprocess.run(
        [str(binaries / "initdb"), "-D", str(data), "-U", POSTGRES_USER, *INITDB_OPTIONS],
        cwd=pg,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        **_as_postgres(),
    )
    if initdb.returncode != 0:
        raise RuntimeError(f"initdb failed: {initdb.stdout}{initdb.stderr}")
    settings = [word for name, value in POSTGRES_SETTINGS.items() for word in ("-c", f"{name}={value}")]
    process = start_logged(
        [str(binaries / "postgres"), "-D", str(data), "-p", str(port), "-k", str(pg), *settings],
        log_path,
        cwd=pg,
        env=env,
        **_as_postgres(),
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"postgres exited with {process.returncode}: see {log_path}")
            try:
                connection = psycopg2.connect(
                    host="127.0.0.1", port=port, user=POSTGRES_USER, dbname="postgres", connect_timeout=5
                )
                break
            except psycopg2.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE {POSTGRES_DATABASE}")
        connection.close()
    except BaseException:
        _stop_postgres(process)
        raise
    return process


def _stop_postgres(process: subprocess.Popen, timeout: float = 30) -> None:
    """SIGINT: PostgreSQL's fast shutdown (SIGTERM waits for every client to leave)."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=timeout)
    stop_process_group(process)


def _remove_postgres_data(directory: Path) -> None:
    shutil.rmtree(directory, ignore_errors=True)


def _fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


# --- stopping ------------------------------------------------------------------------------


def _stop_all(processes: list[tuple[str, subprocess.Popen]]) -> None:
    """Stop in reverse start order: the Airflow components (and any task process they left
    in a process group of its own), then the servers they use."""
    for name, process in reversed(processes):
        if name == "postgres":
            _stop_postgres(process)
        else:
            _stop_tree(process)


def _stop_tree(process: subprocess.Popen, timeout: float = 20) -> None:
    """SIGTERM the process group, SIGKILL it after `timeout`, then anything under it that
    was left behind in a process group of its own."""
    import psutil

    try:
        tree = psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        tree = []
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=timeout)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=timeout)
    _, alive = psutil.wait_procs(tree, timeout=5)
    for leftover in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            leftover.kill()
    psutil.wait_procs(alive, timeout=5)
