"""A real Spark standalone cluster (a master and two workers from the installed pyspark) runs the whole
pipeline and writes the same tables as local mode. `make test-cluster`; CI runs it after `make test`, beside
the fault suite."""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from commands import cluster
from pipelines.config import load_config
from pipelines.tables import VOLATILE_COLUMNS, Lakehouse
from sample import generate

pytestmark = pytest.mark.cluster
CONFIG = (
    "[model]\nsegment_k_max = 4\ncv_folds = 2\nreg_params = [0.01]\npositive_weights = [3.0]\n"
    "tree_baseline = false\n[spark]\nshuffle_partitions = 2\n"
)
LAKEHOUSE = [sys.executable, "-m", "commands.cli"]


def _start(root: Path, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1"}
    command = [*LAKEHOUSE, "run", "--config", str(root.parent / "lakehouse.toml"), "--root", str(root)]
    return subprocess.Popen(
        [*command, "--as-of", "2026-06-30", *extra], env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _finished(run: subprocess.Popen[str], *extra: str) -> None:
    _, err = run.communicate()
    assert run.returncode == 0, f"lakehouse run {' '.join(extra)} failed:\n{err[-3000:]}"


@pytest.fixture(scope="module")
def lakehouses(tmp_path_factory):  # type: ignore[no-untyped-def]
    base = tmp_path_factory.mktemp("cluster")
    (base / "lakehouse.toml").write_text(CONFIG)
    local, remote = base / "local", base / "remote"
    generate(local / "landing", 200, seed=5)
    shutil.copytree(local / "landing", remote / "landing")
    running = cluster.of(load_config(overrides={"root": remote}, environ={}))
    # local mode alongside: the cluster's run waits on its workers' messages much of the time
    in_local_mode = _start(local)
    try:
        url = cluster.up(running)
        try:
            assert cluster.alive_workers(running) == 2
            _finished(_start(remote, "--master", url), "--master", url)
            applications = list((running.directory / "work").glob("worker-*/app-*"))
        finally:
            cluster.down(running)
    finally:
        _finished(in_local_mode)
    return local, remote, applications


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
