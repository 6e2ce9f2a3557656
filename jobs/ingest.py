"""Ingest new landed files into bronze."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import asdict

from bronze.sources import SOURCES
from jobs.common import job_main
from pipelines.ingest import IngestResult, RawSource, ingest_source, write_log
from pipelines.log import step
from pipelines.parallel import map_concurrently
from pipelines.runtime import RunContext


def run(ctx: RunContext, sources: Sequence[RawSource] = SOURCES) -> list[IngestResult]:
    """Ingest every landed file not yet in bronze (exactly once per file)."""
    results: list[IngestResult] = []
    with step("ingest: landing zone -> bronze"):
        try:
            _ingest_all(ctx, sources, results)
        finally:
            write_log(ctx, results)
    return results


def _ingest_all(ctx: RunContext, sources: Sequence[RawSource], results: list[IngestResult]) -> None:
    def ingest(source: RawSource) -> None:
        result = ingest_source(ctx, source)
        results.append(result)
        ctx.record("ingest", source.table, {k: v for k, v in asdict(result).items() if k != "log_rows"})
        ctx.log.info(
            "  %-26s %4d new file(s) %9d rows %6d malformed %3d rejected",
            source.table,
            result.files,
            result.rows,
            result.malformed_rows,
            len(result.rejected),
        )

    map_concurrently(ingest, sources, ctx.config.spark.parallel_tables)


if __name__ == "__main__":
    sys.exit(job_main("ingest", run))
