"""The silver runner on real Delta tables: a table that quarantines too much of its input stops the run."""

import dataclasses

import pytest

from bronze import customers as bronze_customers
from ops import dq_results, ingest_log, refine_log
from pipelines.config import QualitySettings
from pipelines.ingest import ingest_source
from pipelines.quality import DataQualityError
from pipelines.refine import refine_all
from silver import customers
from tests.conftest import deliver

HEADER = ",".join(bronze_customers.SOURCE.raw_columns)


def _land(ctx, lines):  # type: ignore[no-untyped-def]
    deliver(ctx.config.landing("customers") / "export.csv", "\n".join([HEADER, *lines]) + "\n")
    ingest_source(ctx, bronze_customers.TABLE, ingest_log.TABLE)


def test_a_table_quarantining_more_than_its_tolerated_share_fails_naming_the_top_rules(ctx):
    good = "1,1980,PhD,Single,50000,0,1,2024-01-01,2025-01-01T00:00:00Z"
    undated = [f"{i},1980,PhD,Single,50000,0,1,2024-01-01," for i in range(2, 5)]  # no updated_at
    _land(ctx, [good, *undated, "x,1980,PhD,Single,1,0,0,2024-01-01,2025-01-01T00:00:00Z"])
    with pytest.raises(DataQualityError) as failure:
        refine_all(ctx, [customers.TABLE], dq_results.TABLE, refine_log.TABLE)
    message = str(failure.value)
    assert message.startswith("silver.customers: 80.0% of 5 rows quarantined, above the tolerated 20%")
    assert (
        "top rules: updated_at_valid 3, customer_id_valid 1" in message
        and "silver.customers_quarantine" in message
    )
    assert ctx.lakehouse.read("silver.customers_quarantine").count() == 4  # the evidence is kept
    assert not ctx.lakehouse.exists("silver.customers")  # and nothing half-refined reaches silver
    outcomes = {r["rule"]: r["failed"] for r in ctx.lakehouse.read("ops.dq_results").collect()}
    assert outcomes["updated_at_valid"] == 3 and outcomes["customer_id_valid"] == 1


def test_a_per_table_share_lets_a_known_noisy_source_through(ctx):
    relaxed = dataclasses.replace(
        ctx.config, quality=QualitySettings(max_quarantine_shares=("silver.customers=0.9",))
    )
    run = dataclasses.replace(ctx, config=relaxed)
    _land(
        run,
        [
            "1,1980,PhD,Single,50000,0,1,2024-01-01,2025-01-01T00:00:00Z",
            "2,1980,PhD,Single,1,0,1,2024-01-01,",
        ],
    )
    (result,) = refine_all(run, [customers.TABLE], dq_results.TABLE, refine_log.TABLE)
    assert (result.rows_read, result.rows_written, result.rows_quarantined) == (2, 1, 1)
