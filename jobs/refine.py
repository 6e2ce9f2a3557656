"""Refine bronze into silver: type, check, quarantine, deduplicate, MERGE."""

from __future__ import annotations

import sys

from jobs.common import job_main
from ops import dq_results, refine_log
from pipelines.log import step
from pipelines.refine import SilverResult, refine_all
from pipelines.runtime import RunContext
from silver.tables import TABLES


def run(ctx: RunContext) -> list[SilverResult]:
    """Refine every bronze table into its silver table; record every rule's outcome, even on failure."""
    with step("silver: bronze -> typed, checked, deduplicated"):
        return refine_all(ctx, TABLES, dq_results.TABLE, refine_log.TABLE)


if __name__ == "__main__":
    sys.exit(job_main("refine", run))
