"""SIGKILL at random moments across a whole run, each followed by a new attempt: afterwards every table
holds what an uninterrupted run wrote, each landed file is logged once, and each model has one champion
with its decision row (`make test-faults`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyspark.sql import functions as F

from pipelines import tracking
from pipelines.config import load_config
from pipelines.tables import VOLATILE_COLUMNS, Lakehouse
from tests.faults.conftest import KILLS

pytestmark = pytest.mark.faults
# columns naming a registration or a run attempt rather than what was computed
IDENTIFIERS = ("model_version", "acceptance_model_version", "segment_model_version", "refined_at")
ATTEMPT_LOGS = ("ops.refine_log", "ops.ingest_log", "ops.model_promotions")


@pytest.fixture(scope="module")
def lakehouses(uninterrupted, kill_sequence):  # type: ignore[no-untyped-def]
    root, moments = kill_sequence.result()
    return {"clean": uninterrupted, "killed": root}, moments


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
