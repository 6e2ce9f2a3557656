"""Refine bronze into silver: type, check, quarantine, deduplicate, MERGE."""

from __future__ import annotations

import sys
from dataclasses import asdict

from jobs.common import job_main
from pipelines.log import step
from pipelines.parallel import map_concurrently
from pipelines.quality import RuleResult
from pipelines.refine import record_results, run_silver
from pipelines.runtime import RunContext
from silver.tables import TABLES


def run(ctx: RunContext) -> None:
    """Refine every bronze table into its silver table; record every rule's outcome, even on failure."""
    rule_results: list[RuleResult] = []
    with step("silver: bronze -> typed, checked, deduplicated"):
        try:
            refine = lambda table: run_silver(ctx, table, rule_results)  # noqa: E731
            # customers first: the other tables check their customer_id against it
            first = [refine(t) for t in TABLES if not t.customers]
            rest = [t for t in TABLES if t.customers]
            for result in first + map_concurrently(refine, rest, ctx.config.spark.parallel_tables):
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


if __name__ == "__main__":
    sys.exit(job_main("refine", run))
