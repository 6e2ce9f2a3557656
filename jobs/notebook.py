"""Start a Spark session on a lakehouse from a notebook, with its tables and views published by name."""

from __future__ import annotations

import argparse
import os

from jobs import publish
from jobs.common import start_context
from pipelines.runtime import RunContext


def open_lakehouse(root: str | None = None, app: str = "lakehouse-notebook") -> RunContext:
    """``ctx = open_lakehouse(); ctx.spark.sql("SELECT * FROM gold.segment_summary")``."""
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    args = argparse.Namespace(config=None, root=root, master=None, as_of=None, run_id=None)
    ctx = start_context(args, app)
    publish.run(ctx)
    return ctx
