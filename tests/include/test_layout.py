"""The house rules of include/firestore_to_mongo/ that import-linter doesn't check: every
subpackage says its job and what it may import, the layers contract names every
subpackage (so a new one can't slip outside the layering), and no module outgrows one job."""

from __future__ import annotations

import ast
import configparser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "include" / "firestore_to_mongo"
SUBPACKAGES = sorted(path.parent.name for path in PACKAGE.glob("*/__init__.py"))
# "About 400 lines": a module over this has more than one job.
MAX_MODULE_LINES = 400


def test_the_package_is_only_subpackages():
    assert [path.name for path in PACKAGE.glob("*.py")] == ["__init__.py"]
    assert SUBPACKAGES == [
        "capture",
        "contract",
        "cutover",
        "keys",
        "migrate",
        "run",
        "source",
        "target",
        "ui",
        "util",
        "verify",
    ]


@pytest.mark.parametrize("name", SUBPACKAGES)
def test_each_subpackage_says_its_job_and_what_it_may_import(name):
    docstring = ast.get_docstring(ast.parse((PACKAGE / name / "__init__.py").read_text()))
    assert docstring, f"{name}/__init__.py has no docstring"
    assert "Imports:" in docstring, f"{name}/__init__.py doesn't say what it may import"


def test_the_layers_contract_names_every_subpackage_once():
    config = configparser.ConfigParser()
    config.read(ROOT / ".importlinter")
    layers = config["importlinter:contract:layers"]["layers"].split()
    named = [layer for layer in layers if layer != "|"]
    assert sorted(named) == SUBPACKAGES


@pytest.mark.parametrize(
    "module", sorted(PACKAGE.rglob("*.py")), ids=lambda path: str(path.relative_to(PACKAGE))
)
def test_no_module_outgrows_one_job(module):
    lines = len(module.read_text().splitlines())
    assert lines <= MAX_MODULE_LINES, f"{module.relative_to(ROOT)}: {lines} lines"
