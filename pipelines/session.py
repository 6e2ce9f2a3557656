"""The Spark session factory: Delta Lake configured, UTC, adaptive execution on.

It never forces a master: under ``spark-submit`` the submitter decides; callers that start Spark
themselves (the CLI, tests) pass one.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
from collections.abc import Mapping
from datetime import date, datetime, timezone
from pathlib import Path

from delta import configure_spark_with_delta_pip
from pyspark.sql import SparkSession

from pipelines import lock
from pipelines.config import JIT_OPTIONS, Config
from pipelines.runtime import RunContext, check_run_id, default_run_id

IVY_SETTINGS = str(Path(__file__).with_name("ivysettings.xml"))
# Delta's transitive dependencies that Spark already ships: excluding them saves ~75 MB of downloads on a
# fresh machine and keeps older copies (jackson 2.13, log4j, hadoop-client) off the classpath.
PROVIDED_BY_SPARK = (
    "org.apache.hadoop:hadoop-client-api",
    "org.apache.hadoop:hadoop-client-runtime",
    "org.apache.parquet:parquet-column",
    "org.apache.parquet:parquet-common",
    "org.apache.parquet:parquet-encoding",
    "org.apache.parquet:parquet-format-structures",
    "org.apache.parquet:parquet-hadoop",
    "org.apache.parquet:parquet-jackson",
    "com.fasterxml.jackson.core:jackson-core",
    "com.fasterxml.jackson.core:jackson-databind",
    "com.fasterxml.jackson.core:jackson-annotations",
    "org.apache.logging.log4j:log4j-api",
    "org.apache.logging.log4j:log4j-core",
    "org.apache.logging.log4j:log4j-slf4j2-impl",
    "org.slf4j:slf4j-api",
    "com.github.luben:zstd-jni",
    "org.xerial.snappy:snappy-java",
    "io.airlift:aircompressor",
    "org.roaringbitmap:RoaringBitmap",
    "org.locationtech.jts:jts-core",
    "commons-pool:commons-pool",
    "com.google.code.findbugs:jsr305",
)


def discard_unfinished_metastore(catalog_dir: Path) -> bool:
    """Remove a metastore whose creation was cut off (a process killed while Derby created it leaves the
    folder without ``service.properties``, and every later session fails to open it). It never held an
    entry; the catalog is rebuilt from the tables on disk (every table registers when written, `publish`
    registers them all). Returns whether one was removed."""
    metastore = catalog_dir / "metastore_db"
    if not metastore.is_dir() or (metastore / "service.properties").is_file():
        return False
    logging.getLogger("lakehouse").warning(
        "catalog: %s was left half created by a stopped process; created again", metastore
    )
    shutil.rmtree(metastore)
    return True


def catalog_conf(catalog_dir: Path) -> dict[str, str]:
    """Spark settings for a persistent catalog in ``catalog_dir``: an embedded Hive metastore (Derby), so
    ``gold.customer_marketing`` resolves by name in every session, notebook and SQL shell of the lakehouse.
    Derby admits one process at a time: stop a running job before opening a shell on the same lakehouse."""
    home = catalog_dir.resolve()
    return {
        "spark.sql.catalogImplementation": "hive",
        "spark.sql.warehouse.dir": str(home / "warehouse"),
        "spark.hadoop.javax.jdo.option.ConnectionURL": (
            f"jdbc:derby:;databaseName={home / 'metastore_db'};create=true"
        ),
        "spark.hadoop.datanucleus.schema.autoCreateAll": "true",
        "spark.hadoop.hive.metastore.schema.verification": "false",
        "spark.driver.extraJavaOptions": f"-Dderby.stream.error.file={home / 'derby.log'}",
    }


def build_session(
    app_name: str = "marketing-lakehouse",
    *,
    master: str | None = None,
    catalog_dir: Path | None = None,
    shuffle_partitions: int = 8,
    driver_memory: str | None = None,
    log_level: str = "ERROR",
    java_options: str = JIT_OPTIONS,
    extra_conf: Mapping[str, str] | None = None,
) -> SparkSession:
    """Return the active session, or start one configured for Delta Lake (and, given ``catalog_dir``, a
    persistent catalog there; without it, tables are registered in memory for the session)."""
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
        .config("spark.jars.excludes", ",".join(PROVIDED_BY_SPARK))
    )
    if master:
        builder = builder.master(master)
    if driver_memory:
        builder = builder.config("spark.driver.memory", driver_memory)
    if catalog_dir is not None:
        catalog_dir.mkdir(parents=True, exist_ok=True)
        discard_unfinished_metastore(catalog_dir)
        extra_conf = {**catalog_conf(catalog_dir), **(extra_conf or {})}
    extra_conf = dict(extra_conf or {})
    for role in ("driver", "executor"):  # the JVM options and any a setting above adds (the catalog's)
        key = f"spark.{role}.extraJavaOptions"
        options = " ".join(o for o in (java_options, extra_conf.pop(key, "")) if o)
        if options:
            builder = builder.config(key, options)
    for key, value in extra_conf.items():
        builder = builder.config(key, value)
    spark = configure_spark_with_delta_pip(builder).getOrCreate()
    spark.sparkContext.setLogLevel(log_level)
    if log_level.upper() in ("ERROR", "FATAL", "OFF"):
        # a failed task is logged by the executor and the scheduler, then raised to the caller, which says
        # it once (in local mode the executor shares the console)
        jvm = spark.sparkContext._jvm
        assert jvm is not None
        for name in ("org.apache.spark.executor.Executor", "org.apache.spark.scheduler.TaskSetManager"):
            jvm.org.apache.logging.log4j.core.config.Configurator.setLevel(
                name, jvm.org.apache.logging.log4j.Level.FATAL
            )
    return spark


def start_run(
    config: Config,
    app: str,
    as_of: date | None = None,
    run_id: str | None = None,
    *,
    master_given: bool = False,
    full_refresh: bool = False,
    writer: bool = True,
) -> RunContext:
    """A run's context: the session (under spark-submit, the submitter's master unless one was given), the
    run date (default today, UTC) and the run id (default ``run-<date>``). A writer holds the lakehouse's
    writer lock and uses its persistent catalog; a reader takes no lock and registers the tables in a
    catalog of its own session, so it never blocks a writer."""
    as_of = as_of or datetime.now(timezone.utc).date()
    run_id = check_run_id(run_id or default_run_id(as_of))  # before the session: a bad id costs no startup
    if writer:
        lock.hold(config, app)
    submitted = "PYSPARK_GATEWAY_PORT" in os.environ
    spark = build_session(
        app,
        master=None if submitted and not master_given else config.spark.master,
        shuffle_partitions=config.spark.shuffle_partitions,
        driver_memory=None if submitted else config.spark.driver_memory,
        log_level=config.spark.log_level,
        java_options=config.spark.java_options,
        catalog_dir=config.catalog_dir if writer and config.spark.catalog == "hive" else None,
    )
    return RunContext(spark, config, as_of, run_id, full_refresh=full_refresh)
