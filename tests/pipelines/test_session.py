"""The session factory: sizing, Delta's jars, and a catalog a stopped process left half created (the
writer that finds one: tests/notebooks)."""

from __future__ import annotations

import os

from pipelines import session
from pipelines.session import delta_packages, discard_unfinished_metastore, remember_jars, resolved_jars


def test_a_complete_metastore_is_kept(tmp_path):  # type: ignore[no-untyped-def]
    metastore = tmp_path / "metastore_db"
    metastore.mkdir()
    (metastore / "service.properties").write_text("derby")
    assert not discard_unfinished_metastore(tmp_path) and (metastore / "service.properties").is_file()
    assert not discard_unfinished_metastore(tmp_path / "absent")


def test_delta_s_jars_are_named_by_path_once_a_session_resolved_them(spark, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    """Resolving Delta's packages with Ivy costs every start about 2 s: a session records the jars it
    resolved and later ones name them, unless one of them is gone or the packages changed."""
    jars = resolved_jars(delta_packages())
    assert jars and any("delta-spark" in jar for jar in jars), jars
    assert set(jars) <= set(spark.sparkContext.getConf().get("spark.jars").split(","))
    monkeypatch.setattr(session, "RESOLVED_JARS", tmp_path / "jars.json")
    assert resolved_jars(delta_packages()) is None
    remember_jars(delta_packages(), ",".join([*jars, "file:///nowhere/gone.jar"]))
    assert resolved_jars(delta_packages()) is None  # a jar gone: resolved again
    remember_jars(delta_packages(), ",".join(jars))
    assert resolved_jars(delta_packages()) == jars
    assert resolved_jars("io.delta:delta-spark_4.1_2.13:0.0.1") is None


def test_shuffle_partitions_follow_the_data_one_per_core_on_small_data():  # type: ignore[no-untyped-def]
    mib = 1 << 20
    assert session.sized_partitions(10 * mib, 2) == 2
    assert session.sized_partitions(0, 4) == 4
    assert session.sized_partitions(1024 * mib, 2) == 8  # one per 128 MiB above one per core
    assert session.sized_partitions(1025 * mib, 2) == 9
    assert session.sized_partitions(10**13, 2) == session.MAX_PARTITIONS


def test_small_data_is_interpreted_and_large_data_compiled(spark):  # type: ignore[no-untyped-def]
    assert not session.sized_codegen(0) and not session.sized_codegen(session.COMPILED_BYTES)
    assert session.sized_codegen(session.COMPILED_BYTES + 1)
    # the tests' session is built for small data
    assert spark.conf.get("spark.sql.codegen.factoryMode") == "NO_CODEGEN"
    assert spark.conf.get("spark.sql.codegen.wholeStage") == "false"


def test_the_cores_of_a_master():  # type: ignore[no-untyped-def]
    assert session.cores_of("local[3]") == 3 and session.cores_of("local") == 1
    assert session.cores_of("local[*]") == session.cores_of("spark://host:7077") == os.cpu_count()
    assert session.cores_of(None) == os.cpu_count()
