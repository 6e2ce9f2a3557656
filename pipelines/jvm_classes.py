"""Class-data sharing for the driver's JVM: the classes Spark, Delta and the catalog load (about 13,000) are
read, parsed and verified again by every JVM that starts. ``record`` runs a small piece of everything the
jobs do (the catalog, Delta writes, MERGE, change feed, SQL, Spark ML) in a JVM that writes the classes it
loaded to a class-data sharing archive when it ends (Java's dynamic CDS, ``-XX:ArchiveClassesAtExit``);
every later session maps that archive (``-XX:SharedArchiveFile``): a session's start and first query took
11-12 s instead of 21 on two cores, a rerun of a day already done 48 s instead of 55. ``make jvm-classes``
records it (the test targets do), in about two minutes, once.

One archive per Java runtime, Spark installation and Delta packages, under the user's cache folder; one
process records it at a time (a lock), and it is named as the archive only once the JVM wrote it whole. A
JVM that cannot map an archive (a jar replaced in place) starts as it would without one. Recording is not
left to the jobs' own JVMs: a whole run that recorded took 328 s against 271-284 for runs that did not.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyspark

CACHE_DIR = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "marketing-lakehouse"
# the first bytes of a dynamic archive the JVM finished: it writes its header last
DYNAMIC_ARCHIVE_MAGIC = 0xF00BABA8.to_bytes(4, "little")
# the JVM's notes on the classes it cannot archive (thousands of lines) and on an archive it cannot map
QUIET = "-Xlog:cds*=off"
WRITE_SECONDS = 300  # a JVM writes its archive in well under a minute


def archive_path(packages: str) -> Path:
    """Where the archive for this Java runtime, this Spark installation and Delta's ``packages`` is kept:
    a JVM maps an archive only with the classpath it was written with."""
    java_home = os.environ.get("JAVA_HOME")
    java = Path(java_home, "bin", "java") if java_home else Path(shutil.which("java") or "java")
    spark_home = Path(os.environ.get("SPARK_HOME") or Path(pyspark.__file__).parent).resolve()
    files = _stamps([java.resolve(), *(spark_home / "jars").glob("*.jar")])
    key = "\n".join((str(java), str(spark_home), pyspark.__version__, packages, files))
    return CACHE_DIR / f"classes-{hashlib.sha256(key.encode()).hexdigest()[:16]}.jsa"


def _stamps(files: list[Path]) -> str:
    """Each file's path, size and modification time (none for a file that is not there): the JVM maps an
    archive only with the very runtime and jars it was written from, so a reinstalled pyspark (same version,
    same folder, new files) gets an archive of its own."""
    stamps = []
    for file in sorted(files):
        try:
            stat = file.stat()
        except OSError:
            continue
        stamps.append(f"{file}:{stat.st_size}:{stat.st_mtime_ns}")
    return "\n".join(stamps)


def driver_options(packages: str) -> str:
    """The driver JVM's options to map the archive, when one was recorded."""
    archive = archive_path(packages)
    return f"-XX:SharedArchiveFile={archive} {QUIET}" if archive.is_file() else ""


def complete(partial: Path, archive: Path) -> bool:
    """Name the partial archive as the archive if the JVM wrote it whole; remove it otherwise."""
    try:
        with partial.open("rb") as written:
            whole = written.read(4) == DYNAMIC_ARCHIVE_MAGIC
        if whole:
            os.replace(partial, archive)
        else:
            partial.unlink()
    except OSError:
        return False
    return whole


def record() -> Path | None:
    """Record the archive unless it exists or another process is recording it, in a process of its own
    (its JVM ends to write the archive); returns the archive when there is one."""
    from pipelines.session import delta_packages  # the session factory imports this module

    archive = archive_path(delta_packages())
    if not archive.is_file():
        subprocess.run([sys.executable, "-m", "pipelines.jvm_classes"], check=False)
    return archive if archive.is_file() else None


def _record_in_this_process() -> Path | None:
    from pipelines.session import build_session, delta_packages

    archive = archive_path(delta_packages())
    if archive.is_file():
        return archive
    archive.parent.mkdir(parents=True, exist_ok=True)
    with (archive.parent / f"{archive.name}.lock").open("wb") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            print(f"JVM classes: another process is recording {archive}; not waiting for it")
            return None
        if archive.is_file():  # recorded by the process that held the lock just before
            return archive
        partial = archive.with_suffix(".jsa.partial")
        print(
            f"JVM classes: recording what Spark, Delta and Spark ML load, once (about two minutes) -> {archive}"
        )
        began = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="jvm-classes-") as work:
            spark = build_session(
                "jvm-classes", master="local[2]", shuffle_partitions=2, catalog_dir=Path(work) / "catalog",
                java_options=f"-XX:ArchiveClassesAtExit={partial} {QUIET}",
                extra_conf={"spark.ui.enabled": "false"},
            )  # fmt: skip
            jvm = spark.sparkContext._gateway.proc  # type: ignore[union-attr]
            try:
                _exercise(spark, Path(work))
                print(f"JVM classes: work done in {time.monotonic() - began:.0f} s; writing the archive")
            finally:  # what a failed piece of work loaded until then is recorded all the same
                spark.stop()
                jvm.stdin.close()  # the JVM exits when its input closes, then writes the archive
                jvm.wait(timeout=WRITE_SECONDS)
                whole = complete(partial, archive)
        print(f"JVM classes: {'recorded' if whole else 'not recorded'} in {time.monotonic() - began:.0f} s")
        return archive if whole else None


def _exercise(spark, work: Path) -> None:  # type: ignore[no-untyped-def]
    """A little of every kind of work the jobs give the driver's JVM."""
    from delta.tables import DeltaTable
    from pyspark.ml import Estimator, Pipeline, Transformer
    from pyspark.ml.classification import LogisticRegression
    from pyspark.ml.clustering import KMeans
    from pyspark.ml.feature import StandardScaler, VectorAssembler
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    (work / "landing.jsonl").write_text(
        "".join(
            f'{{"id": "{i}", "x": {i % 7}, "at": "2026-06-0{1 + i % 9}T10:00:00Z"}}\n' for i in range(200)
        )
    )
    (work / "landing.csv").write_text("id,y\n" + "".join(f"{i},{i * 0.5}\n" for i in range(200)))
    rows = spark.read.schema("id string, x int, at timestamp").json(str(work / "landing.jsonl"))
    rows = rows.withColumn("_source_file", F.col("_metadata.file_name"))
    labels = spark.read.option("header", True).csv(str(work / "landing.csv"))
    rows = rows.join(labels, "id", how="left").withColumn("y", F.col("y").cast("double"))
    table = str(work / "tables" / "example")
    rows.write.format("delta").option("delta.enableChangeDataFeed", "true").save(table)
    spark.sql("CREATE DATABASE IF NOT EXISTS gold")
    spark.sql(f"CREATE TABLE IF NOT EXISTS gold.example USING DELTA LOCATION '{table}'")
    changed = rows.withColumn("x", F.col("x") + 1).where("x > 3")
    (
        DeltaTable.forPath(spark, table).alias("t").merge(changed.alias("s"), "t.id = s.id")
        .whenMatchedUpdateAll().whenNotMatchedInsertAll().whenNotMatchedBySourceDelete("t.x < 1").execute()
    )  # fmt: skip
    spark.read.format("delta").option("readChangeFeed", "true").option("startingVersion", 1).load(
        table
    ).count()
    DeltaTable.forPath(spark, table).history().collect()
    spark.sql(
        "CREATE OR REPLACE VIEW gold.example_view AS SELECT x, count(*) AS n FROM gold.example GROUP BY x"
    )
    spark.table("gold.example_view").collect()
    ranked = spark.table("gold.example").withColumn(
        "rank", F.row_number().over(Window.partitionBy("x").orderBy("at"))
    )
    features = ranked.groupBy("x").agg(
        F.sum(F.when(F.col("rank") <= 3, F.col("y"))).alias("top"), F.avg("y").alias("mean")
    )
    features.toPandas()
    data = (
        spark.table("gold.example").withColumn("label", (F.col("y") > 40).cast("double")).fillna(0.0, ["y"])
    )
    assembled: list[Transformer | Estimator] = [  # type: ignore[type-arg]
        VectorAssembler(inputCols=["x", "y"], outputCol="raw"),
        StandardScaler(inputCol="raw", outputCol="features"),
    ]
    for model in (LogisticRegression(maxIter=5), KMeans(k=2, maxIter=3, seed=1)):
        Pipeline(stages=[*assembled, model]).fit(data).transform(data).select("prediction").collect()
    rows.where("x = 1").write.format("delta").mode("overwrite").option("replaceWhere", "x = 1").save(table)


if __name__ == "__main__":
    sys.exit(0 if _record_in_this_process() else 1)
