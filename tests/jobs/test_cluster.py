"""A real Spark standalone cluster (a master and two workers from the installed pyspark) runs the whole
pipeline on the reference's landed files and writes the same tables as the reference's run in local mode.
`make test-cluster`; CI runs it with the fault suite and the SQL endpoint's tests (`make test-slow`)."""

from __future__ import annotations

import math
import shutil
import subprocess

import pytest

from commands import cluster
from pipelines.config import load_config
from pipelines.tables import VOLATILE_COLUMNS, Lakehouse
from tests.conftest import RUN_ENV, lakehouse_run

pytestmark = pytest.mark.cluster


@pytest.fixture(scope="module")
def lakehouses(reference, tmp_path_factory):  # type: ignore[no-untyped-def]
    """The reference lakehouse (local mode), the same landed files run on a cluster of two workers, and the
    applications the workers ran."""
    remote = tmp_path_factory.mktemp("cluster") / "lakehouse"
    shutil.copytree(reference / "landing", remote / "landing")
    running = cluster.of(load_config(overrides={"root": remote}, environ={}))
    url = cluster.up(running)
    try:
        assert cluster.alive_workers(running) == 2
        run = subprocess.run(
            lakehouse_run(remote, "--master", url), env=RUN_ENV, capture_output=True, text=True
        )
        assert run.returncode == 0, f"lakehouse run --master {url} failed:\n{run.stderr[-3000:]}"
        applications = list((running.directory / "work").glob("worker-*/app-*"))
    finally:
        cluster.down(running)
    return reference, remote, applications


def test_the_cluster_ran_the_work_on_its_workers(lakehouses):
    _, _, applications = lakehouses
    assert {a.parent.name for a in applications} == {"worker-1", "worker-2"}


def _rows(lakehouse: Lakehouse, name: str) -> list[tuple]:
    frame = lakehouse.read(name)
    kept = sorted(c for c in frame.columns if c not in VOLATILE_COLUMNS)
    rows = [tuple(r) for r in frame.select(*kept).collect()]
    return sorted(
        rows, key=lambda row: repr([v for v in row if not isinstance(v, float)])
    )  # floats may differ


def _close(left: object, right: object) -> bool:
    if isinstance(left, float) and isinstance(right, float):
        return math.isclose(left, right, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(left, (list, tuple)) and isinstance(right, (list, tuple)):
        return len(left) == len(right) and all(_close(a, b) for a, b in zip(left, right, strict=True))
    return left == right


def test_cluster_and_local_mode_write_the_same_tables(lakehouses, spark):
    """Every table's content hash is equal; where a sum of doubles may have been added in another order
    (model training on a cluster), every value is equal to 1e-9 and every other column exactly."""
    local, remote = (Lakehouse(spark, load_config(overrides={"root": r}, environ={})) for r in lakehouses[:2])
    names = local.tables()
    assert names == remote.tables() and "gold.customer_marketing" in names
    differing = [n for n in names if local.content_hash(n) != remote.content_hash(n)]
    for name in differing:
        mine, theirs = _rows(local, name), _rows(remote, name)
        assert _close(mine, theirs), f"{name} differs between local mode and the cluster"


def test_down_stops_every_process_and_frees_the_port(lakehouses, tmp_path):
    running = cluster.of(load_config(overrides={"root": lakehouses[1]}, environ={}))
    assert not list(running.directory.glob("*.pid"))
    assert not cluster._listening(running.port)
