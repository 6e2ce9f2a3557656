"""SIGKILL at random moments across a whole run, each followed by a new attempt: afterwards every table
holds what an uninterrupted run wrote, each landed file is logged once, and each model has one champion
with its decision row (`make test-faults`)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from pipelines import tracking
from pipelines.config import load_config
from pipelines.tables import VOLATILE_COLUMNS, Lakehouse
from sample import generate

pytestmark = pytest.mark.faults
KILLS = int(os.environ.get("FAULT_KILLS", "20"))
# the moments: a step's start line, then a random delay; steps are cycled so kills reach every stage
STEPS = (
    "▶ ingest", "▶ silver", "▶ gold: customer features", "▶ gold: responses", "▶ train: segmentation",
    "▶ train: campaign acceptance", "▶ score: segments", "▶ score: campaign acceptance",
    "▶ score: segment profiles", "▶ score: drift", "▶ publish",
)  # fmt: skip
ENV = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "LAKEHOUSE_MODEL_SEGMENT_K_MAX": "3"}
# columns naming a registration or a run attempt rather than what was computed
IDENTIFIERS = ("model_version", "acceptance_model_version", "segment_model_version", "refined_at")
ATTEMPT_LOGS = ("ops.refine_log", "ops.ingest_log", "ops.model_promotions")


def _command(root: Path) -> list[str]:
    run = [sys.executable, "-m", "commands.cli", "run", "--root", str(root), "--as-of", "2026-06-30"]
    return [*run, "--master", "local[2]"]


def _killed_attempt(root: Path, step: str, delay: float) -> str:
    """Start a run, kill it ``delay`` seconds after it starts ``step`` (or when it ends first)."""
    process = subprocess.Popen(
        _command(root), env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    assert process.stdout is not None
    where = "the end"
    for line in process.stdout:
        if step in line:
            where = line.strip()
            break
    time.sleep(delay)
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    return where


@pytest.fixture(scope="module")
def lakehouses(tmp_path_factory):  # type: ignore[no-untyped-def]
    base = tmp_path_factory.mktemp("faults")
    roots = {"clean": base / "clean", "killed": base / "killed"}
    for root in roots.values():
        generate(root / "landing", 150, seed=4)
    done = subprocess.run(_command(roots["clean"]), env=ENV, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    rng = random.Random(20261130)
    moments = []
    for n in range(KILLS):
        step, delay = STEPS[n % len(STEPS)], rng.uniform(0.0, 4.0)
        moments.append(f"{_killed_attempt(roots['killed'], step, delay)} +{delay:.1f}s")
        print(f"kill {n + 1:2d}/{KILLS}: {moments[-1]}", flush=True)
    final = subprocess.run(_command(roots["killed"]), env=ENV, capture_output=True, text=True)
    assert final.returncode == 0, final.stderr[-3000:]
    return roots, moments


def _lakehouse(spark, root: Path) -> Lakehouse:  # type: ignore[no-untyped-def]
    return Lakehouse(spark, load_config(overrides={"root": root}, environ={}))


def test_every_table_equals_an_uninterrupted_run(spark, lakehouses):
    roots, moments = lakehouses
    assert len(moments) == KILLS
    clean, killed = (_lakehouse(spark, roots[k]) for k in ("clean", "killed"))
    assert killed.tables() == clean.tables()
    ignored = (*VOLATILE_COLUMNS, *IDENTIFIERS)
    differ = [
        name
        for name in clean.tables()
        if name not in ATTEMPT_LOGS
        and clean.content_hash(name, ignored) != killed.content_hash(name, ignored)
    ]
    assert differ == []


def test_each_landed_file_is_logged_once(spark, lakehouses):
    roots, _ = lakehouses
    clean, killed = (_lakehouse(spark, roots[k]) for k in ("clean", "killed"))

    def logged(lakehouse: Lakehouse) -> list[tuple]:  # type: ignore[type-arg]
        rows = lakehouse.read("ops.ingest_log").select("source", "file", "rows", "status", "content_sha256")
        return sorted(tuple(r) for r in rows.collect())

    assert logged(killed) == logged(clean)
    assert len(logged(clean)) == len({(s, f) for s, f, *_ in logged(clean)})


def test_each_model_has_one_champion_with_its_decision(spark, lakehouses):
    roots, _ = lakehouses
    config = load_config(overrides={"root": roots["killed"]}, environ={})
    client = tracking.configure(config)
    promotions = _lakehouse(spark, roots["killed"]).read("ops.model_promotions")
    for name in ("customer_segments", "campaign_acceptance"):
        champion = tracking.get_alias(client, name).version
        decisions = promotions.where((F.col("model_name") == name) & (F.col("candidate_version") == champion))
        assert [r["decision"] for r in decisions.collect()] == ["promoted"], name
