"""devtools/ui.py without starting anything: where `make ui`'s Airflow listens, and what a
new `make ui` clears (the stack itself is tested in test_ui_browser.py)."""

from __future__ import annotations

import importlib

import pytest

from devtools import ui


@pytest.mark.parametrize(
    ("host", "listens", "url"),
    [
        pytest.param(None, "127.0.0.1", "http://127.0.0.1:8099", id="this-machine-by-default"),
        pytest.param("0.0.0.0", "0.0.0.0", "http://127.0.0.1:8099", id="every-interface"),
        pytest.param("10.1.2.3", "10.1.2.3", "http://10.1.2.3:8099", id="one-address"),
        pytest.param("::1", "::1", "http://[::1]:8099", id="ipv6"),
    ],
)
def test_airflow_listens_where_ui_host_says(tmp_path, host, listens: str, url: str) -> None:
    env = ui.environment(tmp_path, 8099, "127.0.0.1:1", 2, **({} if host is None else {"host": host}))

    assert env["AIRFLOW__API__HOST"] == listens
    assert env["AIRFLOW__API__PORT"] == "8099"
    assert env["AIRFLOW__API__BASE_URL"] == url


def test_ui_host_defaults_to_this_machine(monkeypatch) -> None:
    monkeypatch.delenv("UI_HOST", raising=False)
    assert importlib.reload(ui).UI_HOST == "127.0.0.1"
    monkeypatch.setenv("UI_HOST", "0.0.0.0")
    assert importlib.reload(ui).UI_HOST == "0.0.0.0"
    monkeypatch.delenv("UI_HOST")
    importlib.reload(ui)


def test_a_new_make_ui_clears_airflows_runs_and_logs_but_keeps_the_password(tmp_path) -> None:
    home = tmp_path / "airflow"
    (home / "logs" / "dag_id=x").mkdir(parents=True)
    (home / "logs" / "dag_id=x" / "attempt=1.log").write_text("log")
    for name in ("airflow.db", "airflow.db-wal", "airflow.cfg", "passwords.json"):
        (home / name).write_text(name)

    removed = ui.reset_airflow_state(home)

    assert removed == ["airflow.db", "airflow.db-wal", "logs"]
    assert sorted(path.name for path in home.iterdir()) == ["airflow.cfg", "passwords.json"]
    assert ui.reset_airflow_state(home) == []
    assert ui.reset_airflow_state(tmp_path / "never-made") == []
