"""Publish the lakehouse to its catalog: every table on disk by name, and the documented views."""

from __future__ import annotations

import sys

from gold.views import VIEWS
from jobs.common import job_main
from pipelines.log import step
from pipelines.runtime import RunContext


def run(ctx: RunContext) -> list[str]:
    """Register every table and create the views whose tables exist; returns the names published."""
    with step("publish: tables and views in the catalog"):
        lakehouse = ctx.lakehouse
        tables = lakehouse.register_catalog()
        views = []
        for view in VIEWS:
            if all(name in tables for name in view.reads):
                lakehouse.create_view(view.name, view.query, view.description)
                views.append(view.name)
        ctx.log.info("  %d tables, %d views: %s", len(tables), len(views), ", ".join(views) or "none yet")
    return tables + views


if __name__ == "__main__":
    sys.exit(job_main("publish", run))
