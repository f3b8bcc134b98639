"""The Makefile's own promise: `make help` lists every target, and nothing that isn't one."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.conftest import ROOT

# A rule's target at the start of a line (`name:` or `name: prerequisites`), not a variable
# (`:=`), not a special target (`.PHONY`), not a file target built from a variable (`$(STAMP)`).
TARGET = re.compile(r"^([A-Za-z][\w-]*)\s*:(?!=)", re.MULTILINE)
PHONY = re.compile(r"^\.PHONY\s*:(.*)$", re.MULTILINE)


def makefile_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    targets = set(TARGET.findall(text))
    phony = {name for line in PHONY.findall(text) for name in line.split()}
    # Every phony name is a rule too: a .PHONY entry without its rule would list a ghost.
    assert phony <= targets, f".PHONY names without a rule: {sorted(phony - targets)}"
    return targets


def test_the_makefile_is_parsed_into_its_targets() -> None:
    targets = makefile_targets()

    assert {"help", "test", "demo", "ui", "ui-down", "clean", "query"} <= targets
    assert not {"VENV", "STAMP", "PHONY"} & targets


@pytest.mark.skipif(shutil.which("make") is None, reason="no make here")
def test_make_help_lists_every_target() -> None:
    # `make help` only echoes: it needs no venv and starts nothing.
    shown = subprocess.run(
        ["make", "--no-print-directory", "help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    listed = re.findall(r"^make ([\w-]+)", shown, re.MULTILINE)

    targets = makefile_targets()
    assert sorted(targets - set(listed)) == [], "targets `make help` doesn't list"
    assert sorted(set(listed) - targets) == [], "`make help` lists targets the Makefile lacks"
    assert len(listed) == len(set(listed)), "a target listed twice"
