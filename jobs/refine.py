"""Refine bronze into silver: type, check, quarantine, deduplicate, MERGE."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import asdict

from jobs.common import job_main
from pipelines.log import step
from pipelines.parallel import map_concurrently
from pipelines.quality import RuleResult
from pipelines.refine import SilverResult, SilverTable, quarantine_contract, record_results, run_silver
from pipelines.runtime import RunContext
from silver.tables import TABLES


def run(ctx: RunContext, tables: Sequence[SilverTable] = TABLES) -> list[SilverResult]:
    """Refine every bronze table into its silver table; record every rule's outcome, even on failure."""
    rule_results: list[RuleResult] = []
    with step("silver: bronze -> typed, checked, deduplicated"):
        try:
            refine = lambda table: run_silver(ctx, table, rule_results)  # noqa: E731
            # customers first: the other tables check their customer_id against it
            first = [refine(t) for t in tables if not t.customers]
            rest = [t for t in tables if t.customers]
            results = first + map_concurrently(refine, rest, ctx.config.spark.parallel_tables)
            for result in results:
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
        finally:
            record_results(ctx, rule_results)
    return results


def replay_quarantine(ctx: RunContext, table_names: Sequence[str] = ()) -> dict[str, tuple[int, int]]:
    """Re-validate quarantined rows (after a rule fix, or once missing data such as a customer arrived):
    silver is recomputed from bronze, so rows that now pass move to the main table. Returns, per table,
    the quarantined row counts before and after."""
    unknown = set(table_names) - {t.contract.name for t in TABLES}
    if unknown:
        raise ValueError(
            f"unknown silver table(s) {sorted(unknown)}; known: {[t.contract.name for t in TABLES]}"
        )
    chosen = [t for t in TABLES if not table_names or t.contract.name in table_names]

    def quarantined(table: SilverTable) -> int:
        name = quarantine_contract(table.contract.name).name
        return ctx.lakehouse.read(name).count() if ctx.lakehouse.exists(name) else 0

    before = {t.contract.name: quarantined(t) for t in chosen}
    run(ctx, chosen)
    moves = {t.contract.name: (before[t.contract.name], quarantined(t)) for t in chosen}
    for name, (was, now) in moves.items():
        ctx.log.info(
            "  %-32s quarantined %6d -> %6d (%d moved to the table)", name, was, now, max(was - now, 0)
        )
    return moves


if __name__ == "__main__":
    sys.exit(job_main("refine", run))
