"""Start a Spark session on a lakehouse from a notebook, with its tables and views published by name."""

from __future__ import annotations

import argparse
import os

from gold.tables import EVERY_VIEW
from jobs.common import start_context
from pipelines import runner
from pipelines.runtime import RunContext


def open_lakehouse(root: str | None = None, app: str = "lakehouse-notebook") -> RunContext:
    """``ctx = open_lakehouse(); ctx.spark.sql("SELECT * FROM gold.segment_summary")``."""
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    ctx = start_context(argparse.Namespace(config=None, root=root, master=None), app, writer=False)
    runner.publish(ctx, EVERY_VIEW)
    return ctx
