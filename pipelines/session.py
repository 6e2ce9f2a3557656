"""The Spark session factory: Delta Lake configured, UTC, adaptive execution on.

It never forces a master: under ``spark-submit`` the submitter decides; callers that start Spark
themselves (the CLI, tests) pass one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import sys
from collections.abc import Mapping
from datetime import date, datetime, timezone
from pathlib import Path
from urllib.parse import urlparse

from delta import configure_spark_with_delta_pip
from pyspark import SparkContext
from pyspark.sql import SparkSession

from pipelines import jvm_classes, lock
from pipelines.config import JIT_OPTIONS, Config
from pipelines.runtime import RunContext, check_run_id, default_run_id, write_json

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


# Where a session records the jars Ivy resolved for Delta's packages: the next session names them directly
# and skips resolution (about 2 s of every start). Written by any session that resolved them.
RESOLVED_JARS = jvm_classes.CACHE_DIR / "jars.json"


def delta_packages() -> str:
    """The Maven coordinates of the Delta jars matching the installed delta-spark and pyspark."""
    return str(configure_spark_with_delta_pip(SparkSession.Builder())._options["spark.jars.packages"])


def _packages_key(packages: str) -> str:
    """What decides the jars Ivy resolves: the packages, their exclusions and the resolver settings."""
    settings = Path(IVY_SETTINGS).read_text()
    return hashlib.sha256("\n".join((packages, *PROVIDED_BY_SPARK, settings)).encode()).hexdigest()[:16]


def resolved_jars(packages: str) -> list[str] | None:
    """The jars a session resolved for ``packages`` before, if every one of them is still on disk."""
    try:
        jars = json.loads(RESOLVED_JARS.read_text()).get(_packages_key(packages))
    except (OSError, ValueError, AttributeError):
        return None
    if not jars or not all(Path(urlparse(j).path).is_file() for j in jars):
        return None
    return [str(j) for j in jars]


def remember_jars(packages: str, jars: str) -> None:
    """Record the jars Ivy resolved for ``packages`` (``spark.jars`` of the session that resolved them)."""
    listed = [j for j in jars.split(",") if j]
    if not listed:
        return
    try:
        known = json.loads(RESOLVED_JARS.read_text())
    except (OSError, ValueError):
        known = {}
    try:
        write_json(RESOLVED_JARS, {**known, _packages_key(packages): listed})
    except OSError:
        pass  # a read-only home: every session resolves them


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
    # Delta's jars: by path when a session resolved them before, else through Ivy (and recorded)
    packages = delta_packages()
    # (a JVM started by spark-submit has its jars already: nothing is recorded from it)
    launching = "PYSPARK_GATEWAY_PORT" not in os.environ and "spark.jars" not in extra_conf
    jars = resolved_jars(packages) if launching else None
    if jars:
        builder = builder.config("spark.jars", ",".join(jars))
    else:
        builder = builder.config("spark.jars.packages", packages)
    # a driver JVM this session starts maps the classes recorded by `python -m pipelines.jvm_classes`
    sharing = jvm_classes.driver_options(packages) if launching and SparkContext._gateway is None else ""
    for role in ("driver", "executor"):  # the JVM options and any a setting above adds (the catalog's)
        key = f"spark.{role}.extraJavaOptions"
        added = sharing if role == "driver" else ""
        options = " ".join(o for o in (java_options, extra_conf.pop(key, ""), added) if o)
        if options:
            builder = builder.config(key, options)
    for key, value in extra_conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    if launching and not jars and spark.conf.get("spark.jars.packages", None) == packages:
        remember_jars(packages, spark.sparkContext.getConf().get("spark.jars", ""))
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
