"""The Spark session factory: Delta Lake configured, UTC, adaptive execution on.

It never forces a master: under ``spark-submit`` the submitter decides; callers that start Spark
themselves (the CLI, tests) pass one.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

from delta import configure_spark_with_delta_pip
from pyspark.sql import SparkSession

IVY_SETTINGS = str(Path(__file__).with_name("ivysettings.xml"))


def build_session(
    app_name: str = "marketing-lakehouse",
    *,
    master: str | None = None,
    shuffle_partitions: int = 8,
    driver_memory: str | None = None,
    log_level: str = "ERROR",
    extra_conf: Mapping[str, str] | None = None,
) -> SparkSession:
    """Return the active session, or start one configured for Delta Lake."""
    # Executors started by a local master must run this interpreter, which has the project installed.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.appName(app_name)
        .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
        .config("spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.adaptive.enabled", "true")
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        # Delta rebuilds table state with 50 tasks by default: far too many for small tables.
        .config("spark.databricks.delta.snapshotPartitions", str(max(2, shuffle_partitions)))
        .config("spark.databricks.delta.schema.autoMerge.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.jars.ivySettings", IVY_SETTINGS)
    )
    if master:
        builder = builder.master(master)
    if driver_memory:
        builder = builder.config("spark.driver.memory", driver_memory)
    for key, value in (extra_conf or {}).items():
        builder = builder.config(key, value)
    spark = configure_spark_with_delta_pip(builder).getOrCreate()
    spark.sparkContext.setLogLevel(log_level)
    return spark
