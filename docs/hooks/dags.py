"""MkDocs hook: the DAGs' params tables and task graphs, generated at build time from the DAGs
themselves, so that the documentation can't drift from them.

The DAG folder is parsed once per build, as Airflow's dag-processor parses it (`DagBag`), and
each page's markers, each on a line of its own, are replaced:

- `<!-- dag-params: DAG_ID -->`: a table of every `Param` of that DAG (name, default, the
  trigger form's title and description, what it accepts);
- `<!-- dag-graph: DAG_ID -->`: a Mermaid flowchart of its tasks, mapped ones marked.

A marker naming a DAG that doesn't exist, or a DAG file that doesn't import, fails the build.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import sys
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError

ROOT = Path(__file__).resolve().parents[2]
MARKER = re.compile(r"^<!--\s*dag-(params|graph):\s*([\w.-]+)\s*-->[ \t]*$", re.MULTILINE)


@cache
def dags() -> dict[str, Any]:
    """Every DAG of dags/, by id, as Airflow parses the folder."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    # Airflow reads its configuration on first import: a throw-away home, unless one is set,
    # and the DAGs' own defaults (no schedule override from the environment of the build).
    if "AIRFLOW_HOME" not in os.environ:
        home = tempfile.mkdtemp(prefix="ftm-docs-airflow-")
        atexit.register(shutil.rmtree, home, ignore_errors=True)
        os.environ["AIRFLOW_HOME"] = home
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    if bag.import_errors:
        raise PluginError(f"the DAG folder doesn't import: {bag.import_errors}")
    return dict(bag.dags)


def dag(dag_id: str) -> Any:
    found = dags()
    if dag_id not in found:
        raise PluginError(f"no DAG {dag_id!r} in dags/ (there are {', '.join(sorted(found))})")
    return found[dag_id]


def _code(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, list | tuple):
        return ", ".join(f"`{item}`" for item in value) if value else "none"
    if isinstance(value, int):
        return f"{value:,}"
    return f"`{value}`"


def accepts(schema: dict[str, Any]) -> str:
    """What a param's JSON schema accepts, in a few words."""
    types = schema.get("type", [])
    types = [types] if isinstance(types, str) else list(types)
    nullable = "null" in types
    types = [kind for kind in types if kind != "null"]
    kind = types[0] if types else ""
    if "enum" in schema:
        text = "one of " + ", ".join(f"`{item}`" for item in schema["enum"])
    elif kind == "array":
        items = schema.get("items", {})
        text = "a list of " + (
            ", ".join(f"`{item}`" for item in items["enum"]) if "enum" in items else "values"
        )
        if schema.get("uniqueItems"):
            text += ", each once"
        if schema.get("minItems"):
            text += f", at least {schema['minItems']}"
    elif kind == "integer":
        low, high = schema.get("minimum"), schema.get("maximum")
        if low is not None and high is not None:
            text = f"an integer from {low:,} to {high:,}"
        elif low is not None:
            text = f"an integer ≥ {low:,}"
        else:
            text = "an integer"
    elif kind == "boolean":
        text = "`true` or `false`"
    elif kind == "string" and "pattern" in schema:
        text = "an ISO 8601 date-time"
    elif kind == "string":
        text = "a non-empty string" if schema.get("minLength") else "a string"
    else:
        text = kind or "anything"
    return f"empty or {text}" if nullable else text


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def params_table(dag_id: str) -> str:
    """A Markdown table of every param of the DAG, in the trigger form's order."""
    params = dag(dag_id).params
    lines = [
        f'<div class="dag-params" data-dag="{dag_id}" markdown>',
        "",
        "| param | default | in the trigger form, and what it accepts |",
        "| --- | --- | --- |",
    ]
    for name in params:
        param = params.get_param(name)
        schema = param.schema
        title = schema.get("title", name)
        description = param.description or ""
        lines.append(
            f"| `{name}` | {_code(param.value)} | **{_cell(title)}**: {_cell(description)} "
            f"<br/>*Accepts {_cell(accepts(schema))}.* |"
        )
    lines += ["", "</div>"]
    return "\n".join(lines)


def _node(task: Any) -> str:
    label = task.task_id
    if type(task).__name__.endswith("MappedOperator"):
        label += "<br/><i>mapped: one per partition</i>"
    return f'  {task.task_id.replace("-", "_")}["{label}"]'


def task_graph(dag_id: str) -> str:
    """A Mermaid flowchart of the DAG's tasks and their dependencies."""
    the_dag = dag(dag_id)
    lines = ["```mermaid", "flowchart LR"]
    lines += [_node(task) for task in the_dag.tasks]
    for task in the_dag.tasks:
        for downstream in sorted(task.downstream_task_ids):
            lines.append(f"  {task.task_id} --> {downstream}")
    lines.append("```")
    return "\n".join(lines)


def render(markdown: str) -> str:
    """`markdown` with every marker replaced by what it names."""

    def replace(match: re.Match[str]) -> str:
        what, dag_id = match.groups()
        return params_table(dag_id) if what == "params" else task_graph(dag_id)

    return MARKER.sub(replace, markdown)


def on_page_markdown(markdown: str, **_: Any) -> str:
    return render(markdown)
