"""The notebooks run top to bottom against a generated lakehouse, so they never rot (as readers: no writer
lock, no persistent catalog); and what a writer published stays in the lakehouse's persistent catalog for
any later session."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import GENERATED_CUSTOMERS, read_until

pytestmark = pytest.mark.e2e
NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def execute(name: str, root: Path) -> nbformat.NotebookNode:
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    env = {**os.environ, "LAKEHOUSE_ROOT": str(root), "SPARK_LOCAL_IP": "127.0.0.1"}
    client = NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    )
    client.execute(env=env)
    return notebook


def outputs(notebook: nbformat.NotebookNode, kind: str) -> list:
    return [
        o
        for cell in notebook.cells
        if cell.cell_type == "code"
        for o in cell.outputs
        if o.output_type == kind
    ]


@pytest.fixture(scope="module")
def root(generated):  # type: ignore[no-untyped-def]
    return generated.config.root


def test_the_exploration_notebook_runs_and_plots(root):
    notebook = execute("explore_marketing.ipynb", root)
    images = [o for o in outputs(notebook, "display_data") if "image/png" in o.data]
    assert len(images) >= 3  # distributions, correlations, acceptance by segment and by history
    assert not outputs(notebook, "error")


def test_the_analyst_notebook_runs_its_queries(root):
    notebook = execute("analyst_queries.ipynb", root)
    text = "".join(o.get("text", "") for o in outputs(notebook, "stream"))
    assert "100 best contacts" in text and not outputs(notebook, "error")


def test_a_job_publishes_while_a_sql_shell_is_open_and_a_new_session_finds_the_names(root):
    """A reader (the SQL shell) never blocks a writer; what the writer (`lakehouse publish`) registers in
    <root>/catalog is found by name by a fresh process with only the catalog settings. The catalog is
    left as a process killed while Derby created it leaves it (``metastore_db`` without
    ``service.properties``): the writer creates it again instead of failing."""
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1"}
    shutil.rmtree(root / "catalog", ignore_errors=True)  # only this test writes the lakehouse's catalog
    (root / "catalog" / "metastore_db" / "seg0").mkdir(parents=True)
    lakehouse = [sys.executable, "-m", "commands.cli"]
    shell = subprocess.Popen(
        [*lakehouse, "sql", "--root", str(root), "--master", "local[1]"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert "Statements end with ';'" in read_until(shell, "Statements end with ';'")  # open, waiting
        published = subprocess.run(
            [*lakehouse, "publish", "--root", str(root), "--master", "local[1]"],
            capture_output=True, text=True, timeout=300, env=env,
        )  # fmt: skip
        assert published.returncode == 0, published.stderr[-3000:]
        assert "left half created by a stopped process" in published.stderr
        assert "tables, 4 views" in published.stdout + published.stderr
        assert "Ivy Default Cache" not in published.stderr  # Delta's jars named by path, resolved before
        assert (root / "catalog" / "metastore_db" / "service.properties").is_file()
        out, err = shell.communicate(
            "SELECT sum(customers) AS total FROM gold.segment_summary;\n", timeout=120
        )
    finally:
        shell.kill()
    assert shell.returncode == 0, err[-2000:]
    assert f"|{GENERATED_CUSTOMERS}|" in out.replace(" ", "")
    script = (
        "from pathlib import Path; from pipelines.session import build_session; "
        f"spark = build_session('check', master='local[1]', catalog_dir=Path({str(root / 'catalog')!r})); "
        "print('customers', spark.sql('SELECT sum(customers) FROM gold.segment_summary').first()[0]); "
        "print('tables', sorted(r.tableName for r in spark.sql('SHOW TABLES IN gold').collect()))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, env=env
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"customers {GENERATED_CUSTOMERS}" in done.stdout
    assert "'customer_marketing'" in done.stdout and "'campaign_targets'" in done.stdout  # a table, a view
