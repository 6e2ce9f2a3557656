"""The notebooks run top to bottom against a generated lakehouse, so they never rot (as readers: no writer
lock, no persistent catalog); and what a writer published stays in the lakehouse's persistent catalog for
any later session."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import GENERATED_CUSTOMERS

pytestmark = pytest.mark.e2e
NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def execute(
    name: str, root: Path, after_first_cell: Callable[[], None] | None = None
) -> nbformat.NotebookNode:
    """Run a notebook top to bottom in a new kernel; ``after_first_cell`` runs while the kernel is open
    after its first cell (which opens the lakehouse)."""
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    env = {**os.environ, "LAKEHOUSE_ROOT": str(root), "SPARK_LOCAL_IP": "127.0.0.1"}
    client = NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    )
    with client.setup_kernel(env=env):
        for index, cell in enumerate(notebook.cells):
            client.execute_cell(cell, index)
            if index == 0 and after_first_cell is not None:
                after_first_cell()
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


def test_the_analyst_notebook_runs_while_a_job_publishes_and_a_new_session_finds_the_names(root):
    """The notebook is a reader: with its session open, a writer (`lakehouse publish`) runs, finds the
    catalog as a process killed while Derby created it leaves it (``metastore_db`` without
    ``service.properties``) and creates it again; a fresh process with only the catalog settings then
    finds what the writer registered in <root>/catalog by name."""
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1"}
    shutil.rmtree(root / "catalog", ignore_errors=True)  # only this test writes the lakehouse's catalog
    (root / "catalog" / "metastore_db" / "seg0").mkdir(parents=True)
    published: list[subprocess.CompletedProcess] = []  # type: ignore[type-arg]

    def publish() -> None:
        command = [
            sys.executable,
            "-m",
            "commands.cli",
            "publish",
            "--root",
            str(root),
            "--master",
            "local[1]",
        ]
        published.append(subprocess.run(command, capture_output=True, text=True, timeout=300, env=env))

    notebook = execute("analyst_queries.ipynb", root, after_first_cell=publish)
    text = "".join(o.get("text", "") for o in outputs(notebook, "stream"))
    assert "100 best contacts" in text and not outputs(notebook, "error")
    (job,) = published
    assert job.returncode == 0, job.stderr[-3000:]
    assert "left half created by a stopped process" in job.stderr
    assert "tables, 4 views" in job.stdout + job.stderr
    assert "Ivy Default Cache" not in job.stderr  # Delta's jars named by path, resolved before
    assert (root / "catalog" / "metastore_db" / "service.properties").is_file()
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
