"""Run every stage in one process: ingest, silver, features, train, score, publish; then print the summary."""

from __future__ import annotations

import sys

from jobs import features, ingest, publish, refine, report, score, train
from jobs.common import job_main
from pipelines.runtime import RunContext

STAGES = (ingest.run, refine.run, features.run, train.run, score.run, publish.run)


def run(ctx: RunContext) -> None:
    """Run ingest, silver, features, train and score for the run date; publish the catalog."""
    for stage in STAGES:
        stage(ctx)
    report.print_summary(ctx)


if __name__ == "__main__":
    sys.exit(job_main("run_all", run))
