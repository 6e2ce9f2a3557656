"""Run every stage in one process: ingest, silver, features, train, score, publish; then print the summary."""

from __future__ import annotations

import sys

from jobs import features, ingest, publish, refine, report, score, train
from jobs.common import job_main
from pipelines.runtime import RunContext

STAGES = (
    ("ingest", ingest.run),
    ("silver", refine.run),
    ("features", features.run),
    ("train", train.run),
    ("score", score.run),
    ("publish", publish.run),
)


def run(ctx: RunContext) -> None:
    """Run ingest, silver, features, train and score for the run date; publish the catalog."""
    for name, stage in STAGES:
        with ctx.work.stage(name):
            stage(ctx)
    with ctx.work.stage("summary"):
        report.print_summary(ctx)
    print(f"Work per stage (Spark jobs, Delta commits, data files written, JVM starts):\n{ctx.work.table()}")


if __name__ == "__main__":
    sys.exit(job_main("run_all", run))
