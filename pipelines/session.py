"""The Spark session factory: Delta Lake configured, UTC, sized to the data.

It never forces a master: under ``spark-submit`` the submitter decides; callers that start Spark
themselves (the CLI, tests) pass one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from datetime import date, datetime, timezone
from pathlib import Path
from urllib.parse import urlparse

from delta import configure_spark_with_delta_pip
from pyspark import SparkContext
from pyspark.sql import SparkSession

from pipelines import lock, work
from pipelines.config import Config
from pipelines.runtime import RunContext, check_run_id, default_run_id, write_json

IVY_SETTINGS = str(Path(__file__).with_name("ivysettings.xml"))
PARTITION_BYTES = 128 << 20  # input bytes per shuffle partition above one partition per core
MAX_PARTITIONS = 200
# Below this much input, expressions are interpreted rather than compiled to Java: on small data, compiling
# each new query's code costs more than it saves (400 customers, 1.7 MB: a whole run 63 s against 72;
# 5,000 customers, 21.6 MB: 79 s against 84). The gain shrinks as the rows grow; above this, compile.
COMPILED_BYTES = 32 << 20
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


def delta_packages() -> str:
    """The Maven coordinates of the Delta jars matching the installed delta-spark and pyspark."""
    return str(configure_spark_with_delta_pip(SparkSession.Builder())._options["spark.jars.packages"])


# Where a session records the jars Ivy resolved for Delta's packages: later sessions name them directly and
# skip resolution, its ~25 lines of output and 1.5 s of every start (4.8 s instead of 6.3 here)
RESOLVED_JARS = (
    Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "marketing-lakehouse" / "jars.json"
)


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
    try:
        known = json.loads(RESOLVED_JARS.read_text())
    except (OSError, ValueError):
        known = {}
    if listed:
        try:
            write_json(RESOLVED_JARS, {**known, _packages_key(packages): listed})
        except OSError:
            pass  # a read-only home: every session resolves them


def delta_classpath() -> str:
    """Delta's jars as a class path for the driver's JVM, resolving them first (in a process of their own)
    when no session has. A long-lived server needs them there: the Thrift server closes the class loader
    that ``spark.jars`` adds to when a client's session ends, and every Delta class not loaded by then
    would fail to load after it."""
    packages = delta_packages()
    jars = resolved_jars(packages)
    if jars is None:
        script = "from pipelines.session import build_session; build_session('lakehouse-jars').stop()"
        subprocess.run([sys.executable, "-c", script], check=True, stdout=subprocess.DEVNULL)
        jars = resolved_jars(packages)
    if jars is None:
        raise RuntimeError(f"Delta's jars could not be recorded in {RESOLVED_JARS} (is the home read-only?)")
    return os.pathsep.join(urlparse(j).path for j in jars)


def sized_partitions(data_bytes: int, cores: int) -> int:
    """Shuffle partitions for this much input: one per core on small data (a task per core; more only
    add per-task cost), then one per ``PARTITION_BYTES``, at most ``MAX_PARTITIONS``."""
    return max(cores, min(MAX_PARTITIONS, -(-data_bytes // PARTITION_BYTES)))


def sized_codegen(data_bytes: int) -> bool:
    """Whether queries on this much input compile their code (above ``COMPILED_BYTES``) or interpret it."""
    return data_bytes > COMPILED_BYTES


def cores_of(master: str | None) -> int:
    """The cores a local master uses (``local[4]``: 4; ``local[*]`` or another master: this machine's)."""
    if master and master.startswith("local"):
        inside = master[master.find("[") + 1 : master.find("]")] if "[" in master else "1"
        if inside.isdigit():
            return int(inside)
    return os.cpu_count() or 1


def data_bytes(folder: Path) -> int:
    """The size of the files under ``folder`` (the landing zone: every delivery is kept there)."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else 0


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
    shuffle_partitions: int = 2,
    adaptive: bool = False,
    compiled: bool = True,
    driver_memory: str | None = None,
    log_level: str = "ERROR",
    java_options: str = "",
    ui: bool = False,
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
        .config("spark.sql.adaptive.enabled", str(adaptive).lower())
        # compiled: whole-stage and expression code generation (Spark's default); else interpreted
        .config("spark.sql.codegen.wholeStage", str(compiled).lower())
        .config("spark.sql.codegen.factoryMode", "FALLBACK" if compiled else "NO_CODEGEN")
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        # Delta rebuilds a table's state with 50 tasks by default: as many as the shuffles use here
        .config("spark.databricks.delta.snapshotPartitions", str(shuffle_partitions))
        .config("spark.databricks.delta.schema.autoMerge.enabled", "false")
        .config("spark.ui.enabled", str(ui).lower())
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.jars.ivySettings", IVY_SETTINGS)
        .config("spark.jars.excludes", ",".join(PROVIDED_BY_SPARK))
    )
    if master:
        builder = builder.master(master)
    if driver_memory:
        builder = builder.config("spark.driver.memory", driver_memory)
    conf = dict(extra_conf or {})
    if catalog_dir is not None:
        catalog_dir.mkdir(parents=True, exist_ok=True)
        discard_unfinished_metastore(catalog_dir)
        conf = {**catalog_conf(catalog_dir), **conf}
    # Delta's jars: by path when a session resolved them before, else through Ivy (and recorded); a JVM
    # started by spark-submit has its jars already
    packages = delta_packages()
    launching = "PYSPARK_GATEWAY_PORT" not in os.environ and "spark.jars" not in conf
    jars = resolved_jars(packages) if launching else None
    builder = builder.config(*(("spark.jars", ",".join(jars)) if jars else ("spark.jars.packages", packages)))
    for role in ("driver", "executor"):  # the configured JVM options and any a setting above adds
        key = f"spark.{role}.extraJavaOptions"
        options = " ".join(o for o in (java_options, conf.pop(key, "")) if o)
        if options:
            builder = builder.config(key, options)
    for key, value in conf.items():
        builder = builder.config(key, value)
    if SparkContext._active_spark_context is None and "PYSPARK_GATEWAY_PORT" not in os.environ:
        work.jvm_started()
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
    extra_conf: Mapping[str, str] | None = None,
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
    master = None if submitted and not master_given else config.spark.master
    cores = cores_of(master or config.spark.master)
    landed = data_bytes(config.landing_dir)
    partitions = config.spark.shuffle_partitions or sized_partitions(landed, cores)
    before = work.mark(None, config.tables_dir)
    spark = build_session(
        app,
        master=master,
        shuffle_partitions=partitions,
        # adaptive execution re-plans a query between its stages, each stage then a job of its own: on data
        # of one partition per core it has nothing to coalesce and only adds jobs (368 against 505 in a run)
        adaptive=partitions > cores,
        compiled=sized_codegen(landed),
        driver_memory=None if submitted else config.spark.driver_memory,
        log_level=config.spark.log_level,
        java_options=config.spark.java_options,
        ui=config.spark.ui,
        catalog_dir=config.catalog_dir if writer and config.spark.catalog == "hive" else None,
        extra_conf=extra_conf,
    )
    ctx = RunContext(spark, config, as_of, run_id, full_refresh=full_refresh)
    ctx.work.add("start", work.since(before, work.mark(spark, config.tables_dir)))
    return ctx
