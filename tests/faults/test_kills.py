"""SIGKILL at four failpoints at first writes and at random moments across whole runs, in run order on one
lakehouse, each followed by a new attempt that must end killed or succeeded: afterwards every table of the
killed lakehouse holds what an uninterrupted run wrote, each landed file is logged once, and each model has
one champion with its decision row (`make test-faults`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyspark.sql import functions as F

from pipelines import tracking
from pipelines.config import load_config
from pipelines.tables import VOLATILE_COLUMNS, Lakehouse
from tests.faults.conftest import FAILPOINTS, KILLS

pytestmark = pytest.mark.faults
# columns naming a registration or a run attempt rather than what was computed
IDENTIFIERS = ("model_version", "acceptance_model_version", "segment_model_version", "refined_at")
ATTEMPT_LOGS = ("ops.refine_log", "ops.ingest_log", "ops.model_promotions")


IGNORED = (*VOLATILE_COLUMNS, *IDENTIFIERS)


def _lakehouse(spark, root: Path) -> Lakehouse:  # type: ignore[no-untyped-def]
    return Lakehouse(spark, load_config(overrides={"root": root}, environ={}))


def _contents(lakehouse: Lakehouse) -> dict[str, tuple[int, str]]:
    """Each table's (rows, content hash), but for the logs of attempts."""
    return {n: lakehouse.content_hash(n, IGNORED) for n in lakehouse.tables() if n not in ATTEMPT_LOGS}


def _logged(lakehouse: Lakehouse) -> list[tuple]:  # type: ignore[type-arg]
    rows = lakehouse.read("ops.ingest_log").select("source", "file", "rows", "status", "content_sha256")
    return sorted(tuple(r) for r in rows.collect())


@pytest.fixture(scope="module")
def lakehouses(spark, reference, kill_sequence):  # type: ignore[no-untyped-def]
    """The reference's tables and log (an uninterrupted run), read while the kills still run; then the
    killed lakehouse, once its last attempt has finished, and what each attempt was cut at."""
    clean = _lakehouse(spark, reference)
    expected = {"tables": clean.tables(), "contents": _contents(clean), "logged": _logged(clean)}
    root, moments = kill_sequence.result()
    return expected, _lakehouse(spark, root), moments


def test_every_attempt_was_cut_where_planned(lakehouses):
    """Each failpoint was reached in run order, and each random kill fell after its step's start line (an
    attempt that never printed it ran to its end): the kills found work to cut."""
    *_, moments = lakehouses
    failpoints = [m for m in moments if m.startswith("failpoint ")]
    assert failpoints == [f"failpoint {f}" for f in FAILPOINTS]
    random_kills = [m for m in moments if m not in failpoints]
    assert len(random_kills) == KILLS and all("▶" in m for m in random_kills), moments


def test_every_table_equals_an_uninterrupted_run(lakehouses):
    expected, killed, _ = lakehouses
    assert killed.tables() == expected["tables"]
    contents = _contents(killed)
    assert [n for n, content in expected["contents"].items() if contents[n] != content] == []


def test_each_landed_file_is_logged_once(lakehouses):
    expected, killed, _ = lakehouses
    assert _logged(killed) == expected["logged"]
    assert len(expected["logged"]) == len({(s, f) for s, f, *_ in expected["logged"]})


def test_each_model_has_one_champion_with_its_decision(lakehouses):
    _, lakehouse, _ = lakehouses
    client = tracking.configure(lakehouse.config)
    promotions = lakehouse.read("ops.model_promotions")
    for name in ("customer_segments", "campaign_acceptance"):
        champion = tracking.get_alias(client, name).version
        decisions = promotions.where((F.col("model_name") == name) & (F.col("candidate_version") == champion))
        assert [r["decision"] for r in decisions.collect()] == ["promoted"], name
