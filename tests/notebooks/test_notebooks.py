"""The notebooks run top to bottom against a generated lakehouse, so they never rot (as readers: no writer
lock, no persistent catalog); and what a writer published stays in the lakehouse's persistent catalog for
any later session."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import GENERATED_CUSTOMERS

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


def test_a_new_session_finds_the_published_tables_and_views_by_name(root):
    # `lakehouse publish` (a writer) registers into <root>/catalog; a fresh process with only the catalog
    # settings, no registration, finds the names.
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1"}
    published = subprocess.run(
        [sys.executable, "-m", "commands.cli", "publish", "--root", str(root), "--master", "local[1]"],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert published.returncode == 0, published.stderr[-3000:]
    script = (
        "from pathlib import Path; from pipelines.session import build_session; "
        f"spark = build_session('check', master='local[1]', catalog_dir=Path({str(root / 'catalog')!r})); "
        "print('customers', spark.sql('SELECT sum(customers) FROM gold.segment_summary').first()[0]); "
        "print('tables', spark.sql('SHOW TABLES IN gold').count())"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "SPARK_LOCAL_IP": "127.0.0.1"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"customers {GENERATED_CUSTOMERS}" in done.stdout
