"""Ingest new landed files into bronze."""

from __future__ import annotations

import sys

from bronze.tables import TABLES
from jobs.common import job_main
from ops import ingest_log
from pipelines.ingest import IngestResult, ingest_all, refusals, require_rows
from pipelines.log import step
from pipelines.runtime import RunContext


def run(ctx: RunContext) -> list[IngestResult]:
    """Ingest every landed file not yet in bronze (exactly once per file); stop when every landed file is
    still settling and bronze holds nothing for the next stages. The refused deliveries still landed go
    into the run's report (the run then ends with ``REFUSED_EXIT``)."""
    with step("ingest: landing zone -> bronze"):
        results = ingest_all(ctx, TABLES, ingest_log.TABLE)
    ctx.record("refused", "deliveries", refusals(results))
    require_rows(ctx, results)
    return results


if __name__ == "__main__":
    sys.exit(job_main("ingest", run))
