"""The session factory: a catalog a stopped process left half created is created again, not fatal."""

from __future__ import annotations

import os
import subprocess
import sys

from pipelines.config import JIT_OPTIONS
from pipelines.session import discard_unfinished_metastore


def test_a_metastore_cut_off_while_created_is_created_again(spark, tmp_path):  # type: ignore[no-untyped-def]
    """A process killed while Derby created the catalog leaves ``metastore_db`` without
    ``service.properties``; every later writer failed to open it. Now the next one creates it again."""
    root = tmp_path / "lakehouse"
    spark.range(3).write.format("delta").save(str(root / "tables" / "ops" / "example"))
    (root / "catalog" / "metastore_db" / "seg0").mkdir(parents=True)
    done = subprocess.run(
        [sys.executable, "-m", "commands.cli", "publish", "--root", str(root)],
        capture_output=True, text=True, env={**os.environ, "SPARK_LOCAL_IP": "127.0.0.1"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "left half created by a stopped process" in done.stderr
    assert "1 tables" in done.stdout + done.stderr
    assert (root / "catalog" / "metastore_db" / "service.properties").is_file()


def test_a_complete_metastore_is_kept(tmp_path):  # type: ignore[no-untyped-def]
    metastore = tmp_path / "metastore_db"
    metastore.mkdir()
    (metastore / "service.properties").write_text("derby")
    assert not discard_unfinished_metastore(tmp_path) and (metastore / "service.properties").is_file()
    assert not discard_unfinished_metastore(tmp_path / "absent")


def test_the_jvm_spark_starts_gets_the_configured_java_options(spark):  # type: ignore[no-untyped-def]
    """The JIT setting reaches the JVM as launched (a conf set too late would be read by no JVM)."""
    jvm = spark.sparkContext._jvm
    arguments = list(jvm.java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments())
    assert JIT_OPTIONS in arguments
    assert spark.conf.get("spark.executor.extraJavaOptions") == JIT_OPTIONS
