"""Bronze -> silver: parse, check (one pass), quarantine, keep the latest version per key, MERGE.

Silver is recomputed from the whole bronze table each run, so a rule or data fix takes effect on the next
run, and the accounting always balances per table and run:

    rows read from bronze = rows kept (unique keys) + rows quarantined + older versions superseded
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timezone

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from pipelines import quality
from pipelines.contract import Contract
from pipelines.declare import Table
from pipelines.frames import BRONZE_RECORD
from pipelines.parallel import map_concurrently
from pipelines.runtime import RunContext


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


def _too_much_quarantined(
    name: str, share: float, tolerated: float, results: Sequence[quality.RuleResult]
) -> str:
    top = sorted((r for r in results if r.action == "quarantine" and r.failed), key=lambda r: -r.failed)[:3]
    rules = ", ".join(f"{r.rule} {r.failed:,}" for r in top)
    return (
        f"{name}: {share:.1%} of {results[0].evaluated:,} rows quarantined, above the tolerated {tolerated:.0%} "
        f"(top rules: {rules}); the rows are in {name}_quarantine. Check those rules against how this source "
        f"delivers (docs/raw-contract.md), fix the data, or raise quality.max_quarantine_share(s) for {name}"
    )


def run_silver(ctx: RunContext, table: Table, rule_results: list[quality.RuleResult]) -> SilverResult:
    """Refine one table. Its rule results are appended to ``rule_results`` even when a ``fail`` rule stops it."""
    if table.parse is None or table.transform is None:
        raise ValueError(f"{table.name} declares no parse and transform: it is not a silver table")
    lakehouse = ctx.lakehouse
    contract = table.contract_for(ctx.config.vocabulary)
    name = contract.name
    checks = list(table.checks(ctx.config.vocabulary))
    parsed = table.parse(with_bronze_record(lakehouse.read(table.bronze().name)))
    customers = table.customers()
    if customers is not None:
        parsed = with_known_customer(ctx, parsed, customers.name)
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
        tolerated = ctx.config.quality.share_for(name)
        if results and results[0].evaluated:
            share = flagged.where(quality.is_quarantined()).count() / results[0].evaluated
            if share > tolerated:  # keep the evidence, then stop before silver takes the rest
                lakehouse.overwrite(quarantine_contract(name), quarantined)
                raise quality.DataQualityError(_too_much_quarantined(name, share, tolerated, results))
        valid = flagged.where(~quality.is_quarantined()).drop(quality.FAILED_RULES, quality.QUARANTINE_RULES)
        current = table.transform(valid, **table.params(ctx.config)).persist()
        try:
            rows_written = current.count()
            write = lakehouse.merge(contract, current)
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


def record_results(ctx: RunContext, dq_results: Table, results: Sequence[quality.RuleResult]) -> None:
    """Write this run's rule results, replacing what an earlier attempt of the run wrote for those tables
    on the same date (a stage that writes a table for two dates keeps both dates' outcomes)."""
    now = datetime.now(timezone.utc).replace(microsecond=0)
    contract = dq_results.contract_for(ctx.config.vocabulary)
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
            contract,
            ctx.spark.createDataFrame(rows, contract.schema),
            {"run_id": ctx.run_id, "as_of_date": ctx.as_of, "table_name": tables},
        )


def _report(ctx: RunContext, result: SilverResult) -> None:
    ctx.record("silver", result.table, {**asdict(result), "balances": result.balances})
    ctx.log.info(
        "  %-26s read %8d = kept %8d + quarantined %6d + superseded %6d%s",
        result.table,
        result.rows_read,
        result.rows_written,
        result.rows_quarantined,
        result.rows_superseded,
        "" if result.balances else "  (DOES NOT BALANCE)",
    )
    for warning in result.warnings:
        ctx.log.info("      %s", warning)


def refine_all(ctx: RunContext, tables: Sequence[Table], dq_results: Table) -> list[SilverResult]:
    """Refine every bronze table into its silver table; record every rule's outcome, even on failure.
    Tables that check customer ids run after the customers table, side by side."""
    rule_results: list[quality.RuleResult] = []
    try:
        refine = lambda table: run_silver(ctx, table, rule_results)  # noqa: E731
        first = [refine(t) for t in tables if t.customers() is None]
        rest = [t for t in tables if t.customers() is not None]
        results = first + map_concurrently(refine, rest, ctx.config.spark.parallel_tables)
        for result in results:
            _report(ctx, result)
    finally:
        record_results(ctx, dq_results, rule_results)
    return results


def replay_quarantine(
    ctx: RunContext, tables: Sequence[Table], dq_results: Table, names: Sequence[str] = ()
) -> dict[str, tuple[int, int]]:
    """Re-validate quarantined rows (after a rule fix, or once missing data such as a customer arrived):
    silver is recomputed from bronze, so rows that now pass move to the main table. Returns, per table,
    the quarantined row counts before and after."""
    unknown = set(names) - {t.name for t in tables}
    if unknown:
        raise ValueError(f"unknown silver table(s) {sorted(unknown)}; known: {[t.name for t in tables]}")
    chosen = [t for t in tables if not names or t.name in names]

    def quarantined(table: Table) -> int:
        name = quarantine_contract(table.name).name
        return ctx.lakehouse.read(name).count() if ctx.lakehouse.exists(name) else 0

    before = {t.name: quarantined(t) for t in chosen}
    refine_all(ctx, chosen, dq_results)
    moves = {t.name: (before[t.name], quarantined(t)) for t in chosen}
    for name, (was, now) in moves.items():
        ctx.log.info(
            "  %-32s quarantined %6d -> %6d (%d moved to the table)", name, was, now, max(was - now, 0)
        )
    return moves
