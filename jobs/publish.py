"""Publish the lakehouse to its catalog: every table on disk by name, and the documented views."""

from __future__ import annotations

import sys

from gold.tables import EVERY_VIEW
from jobs.common import job_main
from pipelines import runner
from pipelines.log import step
from pipelines.runtime import RunContext


def run(ctx: RunContext) -> list[str]:
    """Register every table, and the views whose tables exist, in the catalog (returns their names)."""
    with step("publish: tables and views in the catalog"):
        return runner.publish(ctx, EVERY_VIEW)


if __name__ == "__main__":
    sys.exit(job_main("publish", run))
