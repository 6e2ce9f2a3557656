"""Bronze -> silver: parse, check (one pass), quarantine, keep the latest version per key, MERGE.

Silver is recomputed from the whole bronze table each run, so a rule or data fix takes effect on the next
run, and the accounting always balances per table and run:

    rows read from bronze = rows kept (unique keys) + rows quarantined + older versions superseded
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from pipelines import quality
from pipelines.config import Vocabulary
from pipelines.contract import Contract
from pipelines.frames import BRONZE_RECORD
from pipelines.runtime import RunContext

DQ_RESULTS = Contract(
    name="ops.dq_results",
    ddl=(
        "run_id STRING NOT NULL, as_of_date DATE NOT NULL, table_name STRING NOT NULL, rule STRING NOT NULL, "
        "action STRING NOT NULL, evaluated BIGINT NOT NULL, failed BIGINT NOT NULL, ratio DOUBLE NOT NULL, "
        "max_ratio DOUBLE, outcome STRING NOT NULL, evaluated_at TIMESTAMP NOT NULL"
    ),
    grain="one row per rule per table per run, passed rules included",
    primary_key=("run_id", "table_name", "rule"),
    comments={"outcome": "passed | warned | quarantined | failed"},
)


def quarantine_contract(table: str) -> Contract:
    return Contract(
        name=f"{table}_quarantine",
        ddl=(
            "raw_record STRING NOT NULL, failed_rules ARRAY<STRING> NOT NULL, _source_file STRING, "
            "_ingested_at TIMESTAMP, _run_id STRING, quarantined_by_run STRING NOT NULL"
        ),
        grain=f"one row per bronze record that failed a quarantine rule of {table}",
        comments={
            "raw_record": "the record's values as delivered (JSON), including _corrupt_record for malformed lines",
            "failed_rules": "every rule the record failed (warn rules included)",
        },
    )


@dataclass(frozen=True)
class SilverTable:
    contract: Contract
    source: str  # bronze table name
    parse: Callable[[DataFrame], DataFrame]  # typed columns + lineage + _bronze
    checks: Callable[[Vocabulary], Sequence[quality.Check]]
    transform: Callable[[DataFrame], DataFrame]  # valid parsed rows -> contract (one row per key)
    customers: str | None = None  # when set, `_customer_known` tells whether customer_id is in this table


KNOWN_CUSTOMER = "_customer_known"


def with_known_customer(ctx: RunContext, parsed: DataFrame, customers: str) -> DataFrame:
    """Flag rows whose customer_id is in the customers table (a later export may still bring it: the
    quarantined row then passes on the next run, since silver is recomputed from bronze)."""
    if ctx.lakehouse.exists(customers):
        known = ctx.lakehouse.read(customers).select("customer_id").distinct()
    else:
        known = ctx.spark.createDataFrame([], "customer_id BIGINT")
    flagged = known.withColumn(KNOWN_CUSTOMER, F.lit(True))
    return parsed.join(flagged, "customer_id", how="left").withColumn(
        KNOWN_CUSTOMER, F.coalesce(F.col(KNOWN_CUSTOMER), F.lit(False))
    )


@dataclass(frozen=True)
class SilverResult:
    table: str
    rows_read: int
    rows_written: int  # unique keys kept this run (inserted, updated or already current)
    rows_quarantined: int
    rows_superseded: int
    inserted: int
    updated: int
    version: int
    warnings: tuple[str, ...] = ()

    @property
    def balances(self) -> bool:
        return self.rows_read == self.rows_written + self.rows_quarantined + self.rows_superseded


def with_bronze_record(bronze: DataFrame) -> DataFrame:
    """Add the raw values as delivered as one struct column, for checks and the quarantine."""
    raw = [c for c in bronze.columns if not c.startswith("_") or c in ("_corrupt_record", "_extra_columns")]
    return bronze.withColumn(BRONZE_RECORD, F.struct(*raw))


def run_silver(ctx: RunContext, table: SilverTable, rule_results: list[quality.RuleResult]) -> SilverResult:
    """Refine one table. Its rule results are appended to ``rule_results`` even when a ``fail`` rule stops it."""
    lakehouse = ctx.lakehouse
    name = table.contract.name
    checks = list(table.checks(ctx.config.vocabulary))
    parsed = table.parse(with_bronze_record(lakehouse.read(table.source)))
    if table.customers:
        parsed = with_known_customer(ctx, parsed, table.customers)
    flagged = quality.flag(parsed, checks).persist()
    try:
        results = quality.evaluate(name, flagged, checks)
        rule_results.extend(results)
        quality.raise_on_failure(results, checks)
        quarantined = flagged.where(quality.is_quarantined()).select(
            F.to_json(BRONZE_RECORD).alias("raw_record"),
            F.col(quality.FAILED_RULES).alias("failed_rules"),
            "_source_file",
            "_ingested_at",
            "_run_id",
            F.lit(ctx.run_id).alias("quarantined_by_run"),
        )
        valid = flagged.where(~quality.is_quarantined()).drop(quality.FAILED_RULES, quality.QUARANTINE_RULES)
        current = table.transform(valid).persist()
        try:
            rows_written = current.count()
            write = lakehouse.merge(table.contract, current)
        finally:
            current.unpersist()
        q_write = lakehouse.overwrite(quarantine_contract(name), quarantined)
        rows_quarantined = q_write.metric("numOutputRows")
    finally:
        flagged.unpersist()
    rows_read = results[0].evaluated if results else flagged.count()
    rows_valid = rows_read - rows_quarantined  # every row read is either valid or quarantined
    warnings = tuple(f"{r.rule}: {r.failed} row(s) {r.outcome}" for r in results if r.outcome != "passed")
    return SilverResult(
        table=name,
        rows_read=rows_read,
        rows_written=rows_written,
        rows_quarantined=rows_quarantined,
        rows_superseded=rows_valid - rows_written,
        inserted=write.metric("numTargetRowsInserted"),
        updated=write.metric("numTargetRowsUpdated"),
        version=write.version,
        warnings=warnings,
    )


def record_results(ctx: RunContext, results: Sequence[quality.RuleResult]) -> None:
    """Write this run's rule results to ops.dq_results, replacing what an earlier attempt of the run wrote."""
    now = datetime.now(timezone.utc).replace(microsecond=0)
    rows = [
        (
            ctx.run_id,
            ctx.as_of,
            r.table,
            r.rule,
            r.action,
            r.evaluated,
            r.failed,
            float(r.ratio),
            r.max_ratio,
            r.outcome,
            now,
        )
        for r in results
    ]
    tables = sorted({r.table for r in results})
    if tables:
        ctx.lakehouse.replace_where(
            DQ_RESULTS,
            ctx.spark.createDataFrame(rows, DQ_RESULTS.schema),
            {"run_id": ctx.run_id, "table_name": tables},
        )
