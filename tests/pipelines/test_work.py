"""Counting a stage's work: Spark jobs, Delta commits and the data files they added."""

from __future__ import annotations

from pipelines.work import Meter, from_report


def test_a_stage_counts_its_jobs_commits_and_files(spark, tmp_path):  # type: ignore[no-untyped-def]
    tables = tmp_path / "tables"
    meter = Meter(spark, tables)
    with meter.stage("write"):
        spark.range(10).repartition(3).write.format("delta").save(str(tables / "ops" / "a"))
        spark.range(4).coalesce(1).write.format("delta").mode("append").save(str(tables / "ops" / "a"))
        spark.range(5).coalesce(1).write.format("delta").save(str(tables / "gold" / "b"))
    with meter.stage("read"):
        assert spark.read.format("delta").load(str(tables / "ops" / "a")).count() == 14
    written, read = meter.stages["write"], meter.stages["read"]
    assert (written.commits, written.files) == (3, 5)  # 3 + 1 + 1 files in three commits
    assert written.jobs >= 3 and read.jobs >= 1 and (read.commits, read.files) == (0, 0)
    assert meter.total.commits == 3 and meter.total.jobs == written.jobs + read.jobs


def test_a_report_gives_back_the_work_it_recorded(spark, tmp_path):  # type: ignore[no-untyped-def]
    import json

    meter = Meter(spark, tmp_path)
    with meter.stage("count"):
        spark.sparkContext.parallelize(range(3), 1).count()  # one job
    path = tmp_path / "run.json"
    path.write_text(json.dumps({"work": meter.as_dict()}))
    assert from_report(path) == meter.stages and meter.stages["count"].jobs == 1
    assert "count" in meter.table() and "total" in meter.table()


def test_a_context_still_starting_in_another_thread_counts_no_job(monkeypatch):  # type: ignore[no-untyped-def]
    """`lakehouse demo` writes its sample while the session starts: a step ending then finds the context
    registered but without its JVM handle yet."""
    from pyspark import SparkContext

    from pipelines.work import spark_jobs

    monkeypatch.setattr(SparkContext, "_active_spark_context", object.__new__(SparkContext))
    assert spark_jobs() is None
