"""Bronze -> silver: parse, check (one pass), quarantine, keep one row per key, MERGE; then account for
every row read, from the tables as written.

**Incremental.** A table that declares ``newest_first`` refines only the bronze rows appended since its
last refine (read from bronze's Delta change data feed: only the files those commits added are read) plus
its quarantined rows, re-checked every run (a customer who arrives later lets their events through). The
winner per key between those rows and silver's stored row is chosen by the same order as within a batch,
so an incremental run writes what a full refresh would. A full refresh (every bronze row; silver's rows
that no longer win are deleted) happens on ``--full-refresh``, for a table without ``newest_first``, on
the first run, and whenever the table's rules, code, vocabulary or parameters changed (their fingerprint
is kept in ``ops.refine_log``), or silver was written by someone else since.

Why the change feed rather than ingest run ids or a stream: bronze is append-only, so the feed of the
versions after the last refined one is exactly the new rows, read without scanning older files, and the
version pins what a run saw. Run ids would need a scan or a side table of their own; an ``availableNow``
stream would keep its own checkpoint beside ``ops.refine_log``, two records of one fact.

**Accounting** (per table and run, read back after the write, so it can fail):

    rows read = valid rows + rows in the quarantine table
    winners written = rows silver's change feed shows this run wrote, same values (incremental)
    winners         = silver's whole content, same rows and values (full refresh)

Rows and values are compared by count and a sum of per-row hashes; on a mismatch the rows are matched one
by one to say how many are missing. A failure stops the run naming the table; ``rows_superseded`` (valid
rows that are not their key's winner, or lost to the row silver holds) is reported.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timezone

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from pipelines import quality
from pipelines.contract import Contract
from pipelines.declare import Table
from pipelines.frames import BRONZE_RECORD, LINEAGE, keep_latest
from pipelines.parallel import map_concurrently
from pipelines.runtime import RunContext
from pipelines.tables import Lakehouse, WriteResult

REFINE_LOG = "ops.refine_log"
STORED = "_stored"  # a winner that silver already held
EXISTED = "_existed"  # silver held a row of the winner's key
WHOLE = "refined whole on every run (no newest_first order)"


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
class Plan:
    """What one refine reads: every bronze row (full) or those after ``bronze_from`` (incremental)."""

    mode: str  # "full" | "incremental"
    reason: str
    bronze_from: int | None  # the last version already refined; None: full
    bronze_to: int
    fingerprint: str
    seen: bool = False  # the last refine read bronze up to this same version, with the same fingerprint


@dataclass(frozen=True)
class SilverResult:
    table: str
    mode: str
    rows_new: int  # bronze rows read (all of bronze on a full refresh)
    rows_rechecked: int  # quarantined rows checked again (incremental)
    rows_read: int
    rows_written: int  # this run's winners that the silver table holds (inserted, updated or already current)
    rows_quarantined: int
    rows_superseded: int  # valid rows that are not their key's winner
    inserted: int
    updated: int
    deleted: int
    version: int
    warnings: tuple[str, ...] = ()


def rules_fingerprint(table: Table, ctx: RunContext) -> str:
    """A hash of what decides a table's rows besides its input: rules (as Spark expressions), the modules
    declaring parse and transform, the vocabulary and parameters. A change means a full refresh."""
    # a rule's expression, its lambda variables (numbered per session: x_12) unnumbered
    rules = [
        re.sub(r"\b([a-z]+)_\d+\b", r"\1", f"{c.name}|{c.action}|{c.condition()}")
        for c in table.checks(ctx.config.vocabulary)
    ]
    return table.fingerprint(ctx.config, repr(ctx.config.vocabulary), *rules)


def plan(ctx: RunContext, table: Table, full_refresh: bool = False) -> Plan:
    """Incremental when the last refine of this table can be continued; otherwise full, saying why."""
    lakehouse, name = ctx.lakehouse, table.name
    bronze = table.bronze().name
    fingerprint = rules_fingerprint(table, ctx)
    if not lakehouse.records_changes(bronze):
        lakehouse.enable_change_feed(bronze)  # a lakehouse from before the change feed: from now on
        return Plan(
            "full", f"{bronze} starts recording its change feed", None, lakehouse.version(bronze), fingerprint
        )
    bronze_to = lakehouse.version(bronze)
    last = last_refine(lakehouse, name)
    if lakehouse.exists(name) and not lakehouse.records_changes(name):
        lakehouse.enable_change_feed(name)  # incremental accounting reads back what a run wrote from it
        return Plan("full", f"{name} starts recording its change feed", None, bronze_to, fingerprint)

    seen = last is not None and (last["bronze_version_to"], last["rules_fingerprint"]) == (
        bronze_to,
        fingerprint,
    )

    def full(reason: str) -> Plan:
        return Plan("full", reason, None, bronze_to, fingerprint)

    if full_refresh:
        return full("--full-refresh")
    if table.newest_first is None:
        return Plan("full", WHOLE, None, bronze_to, fingerprint, seen)
    if last is None or not lakehouse.exists(name):
        return full("first refine")
    if last["rules_fingerprint"] != fingerprint:
        return full("its rules, code, vocabulary or parameters changed")
    if lakehouse.version(name) != last["silver_version"]:
        return full(f"{name} was written since the last refine (version {lakehouse.version(name)}, "
                    f"refined {last['silver_version']})")  # fmt: skip
    if not lakehouse.exists(quarantine_contract(name).name):
        return full(f"{quarantine_contract(name).name} is missing")
    if bronze_to < last["bronze_version_to"]:
        return full(
            f"{bronze} is older than the last refine (version {bronze_to} < {last['bronze_version_to']})"
        )
    return Plan("incremental", "incremental", int(last["bronze_version_to"]), bronze_to, fingerprint, seen)


def last_refine(lakehouse: Lakehouse, name: str) -> dict | None:  # type: ignore[type-arg]
    if not lakehouse.exists(REFINE_LOG):
        return None
    columns = ("refined_at", "silver_version", "bronze_version_to", "rules_fingerprint")
    rows = lakehouse.rows(REFINE_LOG, columns, [("table_name", "=", name)])
    return max(rows, key=lambda r: (r["refined_at"], r["silver_version"]), default=None)


def _rechecked(lakehouse: Lakehouse, table: Table, bronze_rows: DataFrame, skip_runs: list[str]) -> DataFrame:
    """The quarantined rows as bronze rows again (their raw values parsed back, with their lineage), except
    those of ``skip_runs``: read from bronze again this run (an earlier attempt quarantined them)."""
    raw = [f for f in bronze_rows.schema.fields if f.name not in LINEAGE]
    # the raw values include _corrupt_record, which from_json would otherwise take for its own error column
    record = F.from_json("raw_record", StructType(raw), {"columnNameOfCorruptRecord": "_refine_unparsed"})
    quarantined = lakehouse.read(quarantine_contract(table.name).name)
    if skip_runs:
        quarantined = quarantined.where(~F.col("_run_id").isin(*skip_runs))
    return quarantined.select(
        *[record[f.name].alias(f.name) for f in raw], *[F.col(c) for c in LINEAGE]
    ).select(*bronze_rows.columns)


def with_bronze_record(bronze: DataFrame) -> DataFrame:
    """Add the raw values as delivered as one struct column, for checks and the quarantine."""
    raw = [c for c in bronze.columns if not c.startswith("_") or c in ("_corrupt_record", "_extra_columns")]
    return bronze.withColumn(BRONZE_RECORD, F.struct(*raw))


def _too_much_quarantined(
    name: str, share: float, of: int, tolerated: float, results: Sequence[quality.RuleResult]
) -> str:
    top = sorted((r for r in results if r.action == "quarantine" and r.failed), key=lambda r: -r.failed)[:3]
    rules = ", ".join(f"{r.rule} {r.failed:,}" for r in top)
    return (
        f"{name}: {share:.1%} of {of:,} rows quarantined, above the tolerated {tolerated:.0%} "
        f"(top rules: {rules}); the rows are in {name}_quarantine. Check those rules against how this source "
        f"delivers (docs/raw-contract.md), fix the data, or raise quality.max_quarantine_share(s) for {name}"
    )


def _batch(ctx: RunContext, table: Table, plan: Plan) -> tuple[DataFrame, list[str]]:
    """The bronze rows this refine reads (incremental: the new ones and the quarantined ones again), and
    the ingest runs the new ones came from."""
    lakehouse, bronze = ctx.lakehouse, table.bronze().name
    if plan.bronze_from is None:
        return lakehouse.read(bronze, plan.bronze_to), []
    new = lakehouse.changes(bronze, plan.bronze_from, plan.bronze_to)
    runs = sorted(r[0] for r in new.select("_run_id").distinct().collect())
    return new.unionByName(_rechecked(lakehouse, table, new, runs)), runs


def _winners(ctx: RunContext, table: Table, batch_winners: DataFrame, contract: Contract) -> DataFrame:
    """Incremental: per key of the batch, the winner between the batch's row and silver's stored row."""
    keys = list(contract.primary_key)
    silver, batch_keys = ctx.lakehouse.read(contract.name), batch_winners.select(*keys)
    # a day's keys are mostly new: looking for them in the key columns alone reads a sliver of silver, and
    # silver's whole rows are read only when some key is already there
    held = silver.select(*keys).join(batch_keys, keys, "left_semi")
    stored = silver.limit(0) if held.isEmpty() else silver.join(batch_keys, keys, "left_semi")
    assert table.newest_first is not None
    both = batch_winners.select(*contract.columns, F.lit(False).alias(STORED)).unionByName(
        stored.select(*contract.columns, F.lit(True).alias(STORED))
    )
    existed = F.max(F.col(STORED).cast("int")).over(Window.partitionBy(*keys)) == 1
    return both.withColumn(EXISTED, existed).transform(keep_latest(keys, table.newest_first()))


@dataclass(frozen=True)
class Accounting:
    """One refine's rows: counted in the pass that checks them, and as the writes' own metrics and the Delta
    log's row counts report them (no read of the data after the writes)."""

    table: str
    read: int
    valid: int
    quarantined: int  # rows the quarantine table holds after its write
    winners: int  # rows this refine chose to write (incremental: those not already in silver as chosen)
    written: int  # rows the writes say they wrote (inserted or updated)
    silver_rows: int | None  # full refresh: silver's rows after the write

    def problems(self) -> list[str]:
        found = []
        if self.read != self.valid + self.quarantined:
            found.append(
                f"rows read {self.read:,} != valid {self.valid:,} + in the quarantine table {self.quarantined:,}"
            )
        held = self.written if self.silver_rows is None else self.silver_rows
        if held < self.winners:
            found.append(f"{self.winners - held:,} of {self.winners:,} winners are not in silver as chosen")
        elif held > self.winners:
            found.append(f"silver has {held:,} rows of this refine for {self.winners:,} winners")
        return found

    def check(self) -> None:
        problems = self.problems()
        if problems:
            raise quality.DataQualityError(f"{self.table} does not balance: " + "; ".join(problems))


def _write_changes(
    lakehouse: Lakehouse, contract: Contract, winners: DataFrame, fresh: Mapping[str, int]
) -> WriteResult:
    """Incremental: append the winners of keys silver did not hold (no scan of silver), MERGE those that
    replace a stored row; each only when there are some."""
    rows = winners.where(~F.col(STORED)).drop(STORED)
    inserts, replacing = rows.where(~F.col(EXISTED)).drop(EXISTED), rows.where(F.col(EXISTED)).drop(EXISTED)
    metrics: dict[str, int] = {"numTargetRowsInserted": 0, "numTargetRowsUpdated": 0}
    if fresh["new"]:
        metrics["numTargetRowsInserted"] += lakehouse.append(contract, inserts).metric("numOutputRows")
    if fresh["replacing"]:
        merged = lakehouse.merge(contract, replacing)
        for key in ("numTargetRowsInserted", "numTargetRowsUpdated"):
            metrics[key] += merged.metric(key)
    return WriteResult(contract.name, lakehouse.version(contract.name), "WRITE", metrics)


def run_silver(
    ctx: RunContext, table: Table, rule_results: list[quality.RuleResult], chosen: Plan | None = None
) -> tuple[SilverResult, Plan]:
    """Refine one table. Its rule results are appended to ``rule_results`` even when a ``fail`` rule stops it."""
    if table.parse is None or table.transform is None:
        raise ValueError(f"{table.name} declares no parse and transform: it is not a silver table")
    lakehouse = ctx.lakehouse
    contract = table.contract_for(ctx.config.vocabulary)
    name = contract.name
    checks = list(table.checks(ctx.config.vocabulary))
    chosen = chosen or plan(ctx, table, ctx.full_refresh)
    incremental = chosen.mode == "incremental"
    batch, new_runs = _batch(ctx, table, chosen)
    parsed = table.parse(with_bronze_record(batch))
    customers = table.customers()
    if customers is not None:
        parsed = with_known_customer(ctx, parsed, customers.name)
    flagged = quality.flag(parsed, checks).persist()
    try:
        # every rule and every count of the batch in one pass
        results, counts = quality.evaluate(name, flagged, checks, _counts(new_runs if incremental else None))
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
        delivered, rejected = counts["delivered"], counts["rejected"]
        tolerated = ctx.config.quality.share_for(name)
        if delivered and rejected / delivered > tolerated:
            # keep the evidence, then stop before silver takes the rest
            lakehouse.overwrite(quarantine_contract(name), quarantined)
            raise quality.DataQualityError(
                _too_much_quarantined(name, rejected / delivered, delivered, tolerated, results)
            )
        valid = flagged.where(~quality.is_quarantined()).drop(quality.FAILED_RULES, quality.QUARANTINE_RULES)
        winners = table.transform(valid, **table.params(ctx.config))
        if incremental:
            winners = _winners(ctx, table, winners, contract)
        else:
            winners = winners.select(
                *contract.columns, F.lit(False).alias(STORED), F.lit(False).alias(EXISTED)
            )
        winners = winners.persist()
        try:
            chosen_rows = winners.agg(
                F.count(F.lit(1)).alias("all"),
                F.count_if(~F.col(STORED) & ~F.col(EXISTED)).alias("new"),
                F.count_if(~F.col(STORED) & F.col(EXISTED)).alias("replacing"),
            ).first()
            assert chosen_rows is not None
            fresh = {k: int(chosen_rows[k]) for k in ("all", "new", "replacing")}
            if incremental:
                write = _write_changes(lakehouse, contract, winners, fresh)
                expected, silver_rows = fresh["new"] + fresh["replacing"], None
            else:
                write = lakehouse.merge(contract, winners.drop(STORED, EXISTED), complete=True)
                expected, silver_rows = fresh["all"], lakehouse.row_count(name)
            in_quarantine = lakehouse.overwrite(quarantine_contract(name), quarantined).metric(
                "numOutputRows"
            )
        finally:
            winners.unpersist()
    finally:
        flagged.unpersist()
    written = write.metric("numTargetRowsInserted") + write.metric("numTargetRowsUpdated")
    accounting = Accounting(
        name, counts["read"], counts["valid"], in_quarantine, expected, written, silver_rows
    )
    accounting.check()
    warnings = tuple(f"{r.rule}: {r.failed} row(s) {r.outcome}" for r in results if r.outcome != "passed")
    result = SilverResult(
        table=name,
        mode=chosen.mode,
        rows_new=counts["delivered"],
        rows_rechecked=counts["read"] - counts["delivered"],
        rows_read=counts["read"],
        rows_written=fresh["all"],
        rows_quarantined=in_quarantine,
        rows_superseded=counts["valid"] - fresh["all"],
        inserted=write.metric("numTargetRowsInserted"),
        updated=write.metric("numTargetRowsUpdated"),
        deleted=write.metric("numTargetRowsDeleted"),
        version=write.version,
        warnings=warnings,
    )
    return result, chosen


def _counts(new_runs: Sequence[str] | None) -> dict[str, Column]:
    """Rows read, valid rows, and the rows of this delivery (those of ``new_runs``; every row when None)
    with how many of them were quarantined: re-checked quarantine rows are not a delivery."""
    delivered = (
        F.lit(True) if new_runs is None else F.col("_run_id").isin(*new_runs) if new_runs else F.lit(False)
    )
    return {
        "read": F.count(F.lit(1)),
        "valid": F.count_if(~quality.is_quarantined()),
        "delivered": F.count_if(delivered),
        "rejected": F.count_if(delivered & quality.is_quarantined()),
    }


def record_results(
    ctx: RunContext, dq_results: Table, results: Sequence[quality.RuleResult], by_rule: bool = False
) -> None:
    """Write this run's rule results, replacing what an earlier attempt of the run wrote for those tables
    on the same date (a stage that writes a table for two dates keeps both dates' outcomes); ``by_rule``:
    for those rules only (a stage's own rules about a table another step checks)."""
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
            {"run_id": ctx.run_id, "as_of_date": ctx.as_of, "table_name": tables}
            | ({"rule": sorted({r.rule for r in results})} if by_rule else {}),
        )


def _report(ctx: RunContext, result: SilverResult, chosen: Plan) -> None:
    ctx.record("silver", result.table, {**asdict(result), "reason": chosen.reason})
    ctx.log.info(
        "  %-26s %-11s read %8d = kept %8d + quarantined %6d + superseded %6d  (inserted %d, updated %d, "
        "deleted %d)",
        result.table,
        result.mode,
        result.rows_read,
        result.rows_written,
        result.rows_quarantined,
        result.rows_superseded,
        result.inserted,
        result.updated,
        result.deleted,
    )
    if chosen.mode == "full" and chosen.reason != WHOLE:
        ctx.log.info("      full refresh: %s", chosen.reason)
    for warning in result.warnings:
        ctx.log.info("      %s", warning)


def _log_rows(ctx: RunContext, refine_log: Table, done: Sequence[tuple[SilverResult, Plan]]) -> None:
    """One ops.refine_log row per refined table: where the next incremental run starts, and the figures."""
    if not done:
        return
    now = datetime.now(timezone.utc)
    contract = refine_log.contract_for(ctx.config.vocabulary)
    rows = [
        (ctx.run_id, ctx.as_of, r.table, p.mode, p.reason, p.bronze_from, p.bronze_to, p.fingerprint,
         r.rows_new, r.rows_rechecked, r.rows_read, r.rows_written, r.rows_superseded, r.rows_quarantined,
         r.inserted, r.updated, r.deleted, ctx.lakehouse.version(r.table), now)
        for r, p in done
    ]  # fmt: skip
    ctx.lakehouse.append(contract, ctx.spark.createDataFrame(rows, contract.schema))


def refine_all(
    ctx: RunContext, tables: Sequence[Table], dq_results: Table, refine_log: Table
) -> list[SilverResult]:
    """Refine every bronze table into its silver table (incrementally where it can, see the module's
    docstring); record every rule's outcome and every finished table's progress, even on failure.
    Tables run side by side; those that check customer ids after the customers table."""
    rule_results: list[quality.RuleResult] = []
    done: list[tuple[SilverResult, Plan]] = []
    idle: set[str] = set()

    def refine(table: Table) -> SilverResult:
        chosen = plan(ctx, table, ctx.full_refresh)
        customers = table.customers()
        if chosen.seen and (customers is None or customers.name in idle):
            # bronze as refined last time, the customers as known then: nothing can change, no job runs
            idle.add(table.name)
            ctx.record("silver", table.name, {"mode": chosen.mode, "rows_new": 0, "reason": "nothing new"})
            ctx.log.info("  %-26s %-11s nothing new since the last refine", table.name, chosen.mode)
            return SilverResult(
                table.name, chosen.mode, 0, 0, 0, 0, 0, 0, 0, 0, 0, ctx.lakehouse.version(table.name)
            )
        result, chosen = run_silver(ctx, table, rule_results, chosen)
        if chosen.seen and not result.inserted + result.updated + result.deleted:
            # bronze as refined last time, and no row moved out of the quarantine: nothing to record (a
            # rerun of a day keeps that day's outcomes in ops.dq_results and ops.refine_log)
            idle.add(result.table)
            ctx.record(
                "silver", result.table, {**asdict(result), "reason": "nothing new since the last refine"}
            )
            ctx.log.info("  %-26s %-11s nothing new since the last refine", result.table, result.mode)
            return result
        done.append((result, chosen))
        _report(ctx, result, chosen)
        return result

    try:
        workers = ctx.config.spark.parallel_tables
        first = map_concurrently(refine, [t for t in tables if t.customers() is None], workers)
        return first + map_concurrently(refine, [t for t in tables if t.customers() is not None], workers)
    finally:
        record_results(ctx, dq_results, [r for r in rule_results if r.table not in idle])
        _log_rows(ctx, refine_log, done)


def replay_quarantine(
    ctx: RunContext, tables: Sequence[Table], dq_results: Table, refine_log: Table, names: Sequence[str] = ()
) -> dict[str, tuple[int, int]]:
    """Re-validate quarantined rows (after a rule fix, or once missing data such as a customer arrived): a
    full refresh of the chosen tables, so rows that now pass move to the main table. Returns, per table,
    the quarantined row counts before and after."""
    unknown = set(names) - {t.name for t in tables}
    if unknown:
        raise ValueError(f"unknown silver table(s) {sorted(unknown)}; known: {[t.name for t in tables]}")
    chosen = [t for t in tables if not names or t.name in names]

    def quarantined(table: Table) -> int:
        name = quarantine_contract(table.name).name
        return ctx.lakehouse.row_count(name) if ctx.lakehouse.exists(name) else 0

    before = {t.name: quarantined(t) for t in chosen}
    refine_all(dataclasses.replace(ctx, full_refresh=True), chosen, dq_results, refine_log)
    moves = {t.name: (before[t.name], quarantined(t)) for t in chosen}
    for name, (was, now) in moves.items():
        ctx.log.info(
            "  %-32s quarantined %6d -> %6d (%d moved to the table)", name, was, now, max(was - now, 0)
        )
    return moves
