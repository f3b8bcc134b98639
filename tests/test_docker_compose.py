"""Static checks of docker-compose.yaml, the local Airflow 3 stack (no Docker engine needed).

The file is read as Compose reads it with no .env and nothing exported: `${VAR:-default}`
takes its default, so these tests check the stack a fresh clone gets. `docker compose
config` runs too, when the docker CLI and its compose plugin are installed.
"""

from __future__ import annotations

import functools
import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Mapping
from importlib.metadata import version
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from include.firestore_to_mongo.migrate.config import PARAM_SCHEMAS
from include.firestore_to_mongo.target.connection import DEFAULT_DATABASE

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yaml"
OVERRIDE_EXAMPLE = ROOT / "docker" / "docker-compose.override.example.yaml"
CELERY_FILE = ROOT / "docker-compose.celery.yaml"

AIRFLOW_HOME = "/opt/airflow"
# Airflow service -> the airflow subcommand it runs.
AIRFLOW_SERVICES = {
    "airflow-apiserver": ["api-server"],
    "airflow-scheduler": ["scheduler"],
    "airflow-dag-processor": ["dag-processor"],
    "airflow-triggerer": ["triggerer"],
    "airflow-init": ["db", "migrate"],
}
CODE_DIRS = ("dags", "plugins", "include")
MONGOD_PORT = 27017  # the mongo image's mongod listens here unless its command says otherwise
API_SERVER_PORT = 8080  # `airflow api-server`'s default port
CONN_PARAMS = ("firestore_conn_id", "mongo_conn_id")
# Settings every Airflow component must agree on.
SHARED_SETTINGS = (
    "AIRFLOW__CORE__EXECUTOR",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
    "AIRFLOW__CORE__EXECUTION_API_SERVER_URL",
    "AIRFLOW__API_AUTH__JWT_SECRET",
    "AIRFLOW__CORE__AUTH_MANAGER",
    "AIRFLOW__CORE__LOAD_EXAMPLES",
    "PYTHONPATH",
    "FIRESTORE_EMULATOR_HOST",
    "AIRFLOW_CONN_GOOGLE_CLOUD_DEFAULT",
    "AIRFLOW_CONN_MONGO_DEFAULT",
)

# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}, $NAME, and $$.
_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)"
    r"|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


class _ComposeLoader(yaml.SafeLoader):
    """A YAML loader that also takes Compose's merge tags, !reset and !override."""


def _tagged(tag: str):
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> tuple[str, Any]:
        if isinstance(node, yaml.MappingNode):
            return (tag, loader.construct_mapping(node, deep=True))
        if isinstance(node, yaml.SequenceNode):
            return (tag, loader.construct_sequence(node, deep=True))
        return (tag, loader.construct_scalar(node) or None)

    return construct


_ComposeLoader.add_constructor("!reset", _tagged("!reset"))
_ComposeLoader.add_constructor("!override", _tagged("!override"))


def _interpolate(value: Any, env: Mapping[str, str]) -> Any:
    """Substitute variables in every string of `value`, the way Compose does."""
    if isinstance(value, dict):
        return {key: _interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_interpolate(item, env) for item in value)
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        name = match["braced"] or match["bare"]
        current, op, arg = env.get(name), match["op"], match["arg"]
        if op in (":-", "-"):
            use_default = not current if op == ":-" else current is None
            return arg if use_default else current
        if op in (":?", "?"):
            if (not current) if op == ":?" else current is None:
                raise AssertionError(f"${{{name}}} is required: {arg}")
            return current
        if op in (":+", "+"):
            return arg if (current if op == ":+" else current is not None) else ""
        if current is None:
            raise AssertionError(f"${name} has no default and is not set")
        return current

    return _VARIABLE.sub(substitute, value)


def _load(path: Path, env: Mapping[str, str]) -> dict[str, Any]:
    with path.open(encoding="utf-8") as stream:
        document = yaml.load(stream, Loader=_ComposeLoader)
    return _interpolate(document, env)


@functools.cache
def _compose() -> dict[str, Any]:
    return _load(COMPOSE_FILE, env={})


@pytest.fixture
def compose() -> dict[str, Any]:
    return _compose()


@pytest.fixture
def services(compose) -> dict[str, dict[str, Any]]:
    return compose["services"]


def _env(service: Mapping[str, Any]) -> dict[str, str]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) if "=" in item else (item, None) for item in environment)
    return {name: None if value is None else str(value) for name, value in environment.items()}


def _command(service: Mapping[str, Any]) -> list[str]:
    command = service.get("command") or []
    words = shlex.split(command) if isinstance(command, str) else [str(word) for word in command]
    # The Airflow image's entrypoint runs `airflow X` for both `X` and `airflow X`.
    return words[1:] if words[:1] == ["airflow"] else words


def _mounts(service: Mapping[str, Any]) -> list[tuple[str, str | None, str]]:
    """(type, source, target) of each of the service's volumes."""
    mounts = []
    for entry in service.get("volumes") or []:
        if isinstance(entry, dict):
            mounts.append((entry["type"], entry.get("source"), entry["target"]))
            continue
        parts = entry.split(":")
        if len(parts) == 1:
            mounts.append(("volume", None, parts[0]))
            continue
        source, target = parts[0], parts[1]
        kind = "bind" if source.startswith((".", "/", "~")) else "volume"
        mounts.append((kind, source, target))
    return mounts


def _ports(service: Mapping[str, Any]) -> list[tuple[str | None, int]]:
    """(published host port, container port) of each of the service's ports."""
    ports = []
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            published = entry.get("published")
            ports.append((None if published is None else str(published), int(entry["target"])))
            continue
        parts = str(entry).split("/", 1)[0].split(":")
        ports.append((parts[-2] if len(parts) > 1 else None, int(parts[-1])))
    return ports


def _depends_on(service: Mapping[str, Any]) -> dict[str, str]:
    depends_on = service.get("depends_on") or {}
    if isinstance(depends_on, list):
        return dict.fromkeys(depends_on, "service_started")
    return {name: (spec or {}).get("condition", "service_started") for name, spec in depends_on.items()}


def _expected_conn_env_vars() -> set[str]:
    return {"AIRFLOW_CONN_" + PARAM_SCHEMAS[param]["default"].upper() for param in CONN_PARAMS}


def _service_publishing(services, container_port: int, name: str) -> None:
    targets = [target for _, target in _ports(services[name])]
    assert container_port in targets, f"{name} publishes {targets}, not container port {container_port}"


def test_file_is_a_compose_file(compose):
    assert set(compose) - {"name", "services", "volumes", "networks", "configs", "secrets"} <= {
        key for key in compose if key.startswith("x-")
    }
    for name, service in compose["services"].items():
        assert service.get("image") or service.get("build"), f"{name} has neither image nor build"


def test_airflow_services_run_the_airflow_components(services):
    for name, command in AIRFLOW_SERVICES.items():
        assert name in services, f"no {name} service"
        assert _command(services[name]) == command, name
    assert _env(services["airflow-apiserver"])["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    assert "redis" not in services, "the CeleryExecutor variant is not part of this file"


def test_every_bind_mount_source_exists(compose, services):
    named_volumes = set(compose.get("volumes") or {})
    for name, service in services.items():
        for kind, source, target in _mounts(service):
            if kind == "bind":
                assert (ROOT / source).exists(), f"{name} mounts {source} ({target}), which does not exist"
            elif source is not None:
                assert source in named_volumes, f"{name} uses volume {source}, not declared at the top"


def test_project_code_is_mounted_into_every_airflow_service(services):
    for name in AIRFLOW_SERVICES:
        mounts = {target: source for kind, source, target in _mounts(services[name]) if kind == "bind"}
        for folder in CODE_DIRS:
            target = f"{AIRFLOW_HOME}/{folder}"
            assert target in mounts, f"{name} does not mount {folder}/ at {target}"
            assert (ROOT / mounts[target]).resolve() == ROOT / folder, f"{name}: {target} <- {mounts[target]}"
        # include.firestore_to_mongo is imported from the project root.
        pythonpath = (_env(services[name]).get("PYTHONPATH") or "").split(":")
        assert AIRFLOW_HOME in pythonpath, f"{name}: PYTHONPATH {pythonpath} lacks {AIRFLOW_HOME}"
    assert (ROOT / "include" / "firestore_to_mongo" / "__init__.py").is_file()


def test_connection_env_vars_are_the_dags_default_conn_ids(services):
    expected = _expected_conn_env_vars()
    assert expected == {"AIRFLOW_CONN_GOOGLE_CLOUD_DEFAULT", "AIRFLOW_CONN_MONGO_DEFAULT"}
    for name in AIRFLOW_SERVICES:
        present = {var for var in _env(services[name]) if var.startswith("AIRFLOW_CONN_")}
        assert present == expected, f"{name} sets {sorted(present)}, expected {sorted(expected)}"


def test_mongo_uri_points_at_the_mongo_service(services):
    uri = urlsplit(_env(services["airflow-scheduler"])["AIRFLOW_CONN_MONGO_DEFAULT"])
    assert uri.scheme == "mongo", "Airflow reads the URI scheme as the conn type, which must be mongo"
    assert uri.hostname in services, f"{uri.hostname} is not a service"
    mongo = services[uri.hostname]
    assert mongo["image"].startswith("mongo:")
    assert "--port" not in " ".join(_command(mongo))
    assert uri.port == MONGOD_PORT
    _service_publishing(services, MONGOD_PORT, uri.hostname)
    assert uri.path == f"/{DEFAULT_DATABASE}"
    mongo_env = _env(mongo)
    assert (uri.username, uri.password) == (
        mongo_env["MONGO_INITDB_ROOT_USERNAME"],
        mongo_env["MONGO_INITDB_ROOT_PASSWORD"],
    )
    # The root user is created in the admin database.
    assert parse_qs(uri.query) == {"authSource": ["admin"]}


def test_firestore_emulator_host_is_the_firestore_service(services):
    host, _, port = _env(services["airflow-scheduler"])["FIRESTORE_EMULATOR_HOST"].rpartition(":")
    assert host in services, f"{host} is not a service"
    command = _command(services[host])
    assert command[:4] == ["gcloud", "emulators", "firestore", "start"]
    host_ports = [word.split("=", 1)[1] for word in command if word.startswith("--host-port=")]
    assert len(host_ports) == 1, command
    bind_address, _, listen_port = host_ports[0].rpartition(":")
    assert bind_address == "0.0.0.0", "the emulator must listen beyond its own container"
    assert listen_port == port
    _service_publishing(services, int(port), host)


def test_connections_deserialize_as_the_hooks_need(services, monkeypatch):
    """Set the containers' variables here and build the hooks the DAG uses from them."""
    from airflow.providers.mongo.hooks.mongo import MongoHook
    from airflow.secrets.environment_variables import EnvironmentVariablesBackend

    from include.firestore_to_mongo.source.hook import FirestoreClientHook

    env = _env(services["airflow-scheduler"])
    for var in (*_expected_conn_env_vars(), "FIRESTORE_EMULATOR_HOST"):
        monkeypatch.setenv(var, env[var])
    firestore_conn_id = PARAM_SCHEMAS["firestore_conn_id"]["default"]
    mongo_conn_id = PARAM_SCHEMAS["mongo_conn_id"]["default"]

    backend = EnvironmentVariablesBackend()
    mongo_conn = backend.get_connection(mongo_conn_id)
    assert mongo_conn.conn_type == "mongo"
    assert (mongo_conn.host, mongo_conn.port, mongo_conn.schema) == ("mongo", MONGOD_PORT, DEFAULT_DATABASE)
    google_conn = backend.get_connection(firestore_conn_id)
    assert google_conn.conn_type == "google_cloud_platform"
    assert google_conn.extra_dejson["project"]

    mongo_hook = MongoHook(mongo_conn_id=mongo_conn_id)
    assert urlsplit(mongo_hook.uri).netloc.endswith(f"@mongo:{MONGOD_PORT}")
    assert mongo_hook.extras == {"authSource": "admin"}

    client = FirestoreClientHook(gcp_conn_id=firestore_conn_id).get_conn()
    assert client.project == google_conn.extra_dejson["project"]
    assert client._emulator_host == env["FIRESTORE_EMULATOR_HOST"]


def test_airflow_components_share_one_configuration(services):
    envs = {name: _env(services[name]) for name in AIRFLOW_SERVICES}
    shared = envs["airflow-apiserver"]
    assert shared["AIRFLOW__API_AUTH__JWT_SECRET"], "the components need one JWT secret between them"
    for name, env in envs.items():
        for var in SHARED_SETTINGS:
            assert env.get(var) == shared.get(var), f"{name} and airflow-apiserver differ in {var}"
    assert shared["AIRFLOW__CORE__LOAD_EXAMPLES"] == "False"

    execution_api = urlsplit(shared["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"])
    assert _command(services[execution_api.hostname]) == ["api-server"]
    assert execution_api.port == API_SERVER_PORT
    assert execution_api.path == "/execution/"
    _service_publishing(services, API_SERVER_PORT, execution_api.hostname)

    database = urlsplit(shared["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    assert database.scheme == "postgresql+psycopg2"
    postgres = _env(services[database.hostname])
    assert (database.username, database.password, database.path) == (
        postgres["POSTGRES_USER"],
        postgres["POSTGRES_PASSWORD"],
        "/" + postgres["POSTGRES_DB"],
    )


def test_airflow_image_is_built_from_the_dockerfile_with_requirements(services):
    builds = {repr(services[name].get("build")) for name in AIRFLOW_SERVICES}
    assert len(builds) == 1, f"the Airflow services build differently: {builds}"
    build = services["airflow-apiserver"]["build"]
    context = ROOT / build["context"]
    dockerfile = context / build.get("dockerfile", "Dockerfile")
    assert dockerfile.is_file(), f"{dockerfile} does not exist"

    instructions = _dockerfile_instructions(dockerfile)
    base = [line.split()[1] for line in instructions if line.upper().startswith("FROM ")]
    # The image runs the Airflow version the tests run against.
    assert base == [f"apache/airflow:{version('apache-airflow')}-python3.13"]

    copies = [line.split()[1:] for line in instructions if line.upper().startswith("COPY ")]
    destinations = [words[-1] for words in copies if "requirements.txt" in words[:-1]]
    assert len(destinations) == 1, f"requirements.txt is not copied in: {copies}"
    copied = destinations[0] + ("requirements.txt" if destinations[0].endswith("/") else "")
    runs = [line for line in instructions if line.upper().startswith("RUN ")]
    assert any("pip install" in run and f"-r {copied}" in run for run in runs), runs
    assert (context / "requirements.txt").is_file()

    ignore_file = dockerfile.with_name(dockerfile.name + ".dockerignore")
    if ignore_file.exists():
        patterns = ignore_file.read_text().split()
        assert "*" not in patterns or "!requirements.txt" in patterns


def _dockerfile_instructions(dockerfile: Path) -> list[str]:
    """The Dockerfile's instructions, each on one line (continuation lines joined)."""
    instructions, current = [], ""
    for raw in dockerfile.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        current = f"{current} {line}".strip()
        if current.endswith("\\"):
            current = current[:-1].rstrip()
            continue
        instructions.append(current)
        current = ""
    if current:
        instructions.append(current)
    return instructions


def test_every_depends_on_target_exists(services):
    for name, service in services.items():
        for target, condition in _depends_on(service).items():
            assert target in services, f"{name} depends on {target}, which is not a service"
            assert condition in {"service_started", "service_healthy", "service_completed_successfully"}
            if condition == "service_healthy":
                assert "healthcheck" in services[target], f"{name} waits for {target}'s missing healthcheck"
            if condition == "service_completed_successfully":
                assert services[target].get("restart", "no") == "no", f"{target} must run once and exit"


def test_published_host_ports_do_not_clash(services):
    published = [port for service in services.values() for port, _ in _ports(service) if port]
    assert len(published) == len(set(published)), published
    assert ("8080", API_SERVER_PORT) in _ports(services["airflow-apiserver"])
    assert ("8081", 8080) in _ports(services["firestore"])


def test_override_example_changes_existing_services_only(services):
    override = _load(OVERRIDE_EXAMPLE, env={"GCP_KEY_FILE": "/keys/firestore.json"})
    for name, service in override["services"].items():
        assert name in services, f"the override example names {name}, which is not a service"
        env = _env(services[name])
        for var, value in (service.get("environment") or {}).items():
            if isinstance(value, tuple) and value[0] == "!reset":
                assert var in env, f"the override example resets {var}, which {name} does not set"
        credentials = (service.get("environment") or {}).get("GOOGLE_APPLICATION_CREDENTIALS")
        if credentials:
            assert credentials in {target for _, _, target in _mounts(service)}


def _compose_cli() -> list[str] | None:
    docker = shutil.which("docker")
    if docker is None:
        return None
    probe = subprocess.run([docker, "compose", "version"], capture_output=True, text=True, check=False)
    return [docker, "compose"] if probe.returncode == 0 else None


@pytest.mark.parametrize(
    "files",
    [[COMPOSE_FILE], [COMPOSE_FILE, OVERRIDE_EXAMPLE], [COMPOSE_FILE, CELERY_FILE]],
    ids=["compose", "with-override-example", "celery"],
)
def test_docker_compose_config_accepts_the_file(files, tmp_path):
    cli = _compose_cli()
    if cli is None:
        pytest.skip("the docker CLI or its compose plugin is not installed")
    key_file = tmp_path / "key.json"
    key_file.write_text("{}")
    args = [arg for path in files for arg in ("-f", str(path))]
    result = subprocess.run(
        [*cli, *args, "config", "--quiet"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "GCP_KEY_FILE": str(key_file)},
    )
    assert result.returncode == 0, result.stderr


def test_schedule_variable_is_the_one_the_dag_reads():
    from include.firestore_to_mongo.migrate.config import DEFAULT_SCHEDULE, SCHEDULE_ENV

    compose = yaml.load((ROOT / "docker-compose.yaml").read_text(), Loader=_ComposeLoader)
    environment = compose["x-airflow-common"]["environment"]
    assert environment[SCHEDULE_ENV] == f"${{{SCHEDULE_ENV}:-{DEFAULT_SCHEDULE}}}"
    assert environment["AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"] == "True"


def _merged_celery_services() -> dict[str, dict[str, Any]]:
    """The services of `-f docker-compose.yaml -f docker-compose.celery.yaml`, merged the
    way compose merges them (maps merge, `extends` copies the named service first)."""
    base = _compose()["services"]
    celery = _load(CELERY_FILE, env={})
    merged: dict[str, dict[str, Any]] = {name: dict(service) for name, service in base.items()}
    for name, service in celery["services"].items():
        start = dict(merged.get(name, {}))
        if "extends" in service:
            assert service["extends"]["file"] == COMPOSE_FILE.name
            start = {k: v for k, v in base[service["extends"]["service"]].items() if k != "depends_on"}
        for key, value in service.items():
            if key == "extends":
                continue
            if key == "environment":
                start[key] = _env(start) | _env(service)
            elif key == "depends_on" and isinstance(value, dict):
                start[key] = {**(start.get(key) or {}), **value}
            else:
                start[key] = value
        merged[name] = start
    return merged


def test_celery_variant_switches_every_airflow_service_to_celery():
    services = _merged_celery_services()
    airflow = [name for name, service in services.items() if name.startswith("airflow-")]
    assert "airflow-worker" in airflow
    for name in airflow:
        env = _env(services[name])
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        broker = urlsplit(env["AIRFLOW__CELERY__BROKER_URL"])
        assert (broker.scheme, broker.hostname, broker.port) == ("redis", "redis", 6379), name
        # The metadata database, driver included: SQLAlchemy 2.1 reads a bare postgresql://
        # as psycopg 3.
        assert env["AIRFLOW__CELERY__RESULT_BACKEND"] == "db+" + env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"], (
            name
        )
    assert services["redis"]["image"].startswith("redis:")


def test_celery_workers_run_tasks_with_the_schedulers_code_and_connections():
    services = _merged_celery_services()
    worker, scheduler = services["airflow-worker"], services["airflow-scheduler"]
    assert _command(worker)[:2] == ["celery", "worker"]
    assert _mounts(worker) == _mounts(scheduler)
    for name, value in _env(scheduler).items():
        if not name.startswith("AIRFLOW__CELERY") and name != "AIRFLOW__CORE__EXECUTOR":
            assert _env(worker)[name] == value, name
    assert {"redis", "mongo", "firestore", "airflow-init", "postgres"} <= set(_depends_on(worker))
    for target in _depends_on(worker):
        assert target in services


def test_celery_variant_has_the_settings_make_test_celery_runs_with():
    """docker-compose.celery.yaml sets what devtools/celery_cluster.py proves: the same
    values for CELERY_SETTINGS, and every setting that names the deployment's own servers
    and secrets, the same in every Airflow service."""
    from devtools.celery_cluster import CELERY_ENDPOINTS, CELERY_SETTINGS, cluster_environment

    tested = cluster_environment(
        ROOT / "unused",
        firestore_address="127.0.0.1:1",
        mongo_port=2,
        redis_port=3,
        postgres_port=4,
        api_port=5,
    )
    assert CELERY_SETTINGS.items() <= tested.items()
    # Every [celery] and [scheduler] setting of the tested cluster is in one of the two lists.
    sections = {name for name in tested if name.startswith(("AIRFLOW__CELERY__", "AIRFLOW__SCHEDULER__"))}
    assert sections <= set(CELERY_SETTINGS) | set(CELERY_ENDPOINTS), sections
    assert set(CELERY_ENDPOINTS) <= set(tested)

    services = _merged_celery_services()
    airflow = {name: _env(service) for name, service in services.items() if name.startswith("airflow-")}
    for name, env in airflow.items():
        for setting, value in CELERY_SETTINGS.items():
            assert env.get(setting) == value, (
                f"{name}: {setting} is {env.get(setting)!r}, tested with {value!r}"
            )
        for setting in CELERY_ENDPOINTS:
            assert env.get(setting), f"{name} does not set {setting}"
            assert env[setting] == airflow["airflow-scheduler"][setting], (
                f"{name} and the scheduler differ in {setting}"
            )
    # The same forms as the tested cluster's.
    scheduler = airflow["airflow-scheduler"]
    for setting in CELERY_ENDPOINTS:
        assert urlsplit(scheduler[setting]).scheme == urlsplit(tested[setting]).scheme, setting


def test_image_installs_the_celery_versions_make_test_celery_runs():
    pins = {}
    for line in (ROOT / "requirements-dev.txt").read_text().splitlines():
        name, _, pinned = line.partition("==")
        if name in ("apache-airflow-providers-celery", "celery"):
            pins[name] = pinned.strip()
    assert set(pins) == {"apache-airflow-providers-celery", "celery"}, pins
    runs = [
        line for line in _dockerfile_instructions(ROOT / "docker" / "Dockerfile") if line.startswith("RUN ")
    ]
    for name, pinned in pins.items():
        assert any(f'"{name}=={pinned}"' in run for run in runs), (
            f"the image does not install {name}=={pinned}"
        )
