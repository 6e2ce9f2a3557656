"""The runner on real Delta tables: each write mode, checks recorded in ops.dq_results, a failing rule."""

import dataclasses
from datetime import date

import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F

from ops import dq_results
from pipelines import runner
from pipelines.contract import Contract
from pipelines.declare import Table
from pipelines.quality import Check, DataQualityError, unique

DAY = date(2026, 6, 30)
SCORES = Contract(
    name="gold.test_scores",
    ddl="customer_id BIGINT NOT NULL, as_of_date DATE NOT NULL, score DOUBLE NOT NULL, run_id STRING NOT NULL",
    grain="one row per customer_id and as_of_date",
    primary_key=("customer_id", "as_of_date"),
    partition_by=("as_of_date",),
)


def checks(vocabulary):  # type: ignore[no-untyped-def]
    return [
        unique("customer_id", "as_of_date"),
        Check("score_in_0_1", lambda: F.col("score").between(0.0, 1.0), "fail"),
        Check("score_not_tiny", lambda: F.col("score") > 0.01, "warn"),
    ]


def scores(spark, rows):  # type: ignore[no-untyped-def]
    return spark.createDataFrame(rows, SCORES.schema)


def dq(ctx, day=DAY):  # type: ignore[no-untyped-def]
    rows = ctx.lakehouse.read("ops.dq_results").where(F.col("table_name") == SCORES.name)
    return {r["rule"]: (r["failed"], r["outcome"]) for r in rows.where(F.col("as_of_date") == day).collect()}


def test_a_partition_write_replaces_the_days_rows_and_records_every_rule(ctx):
    table = Table(SCORES, stage="score", write="partition", checks=checks)
    runner.write(ctx, table, scores(ctx.spark, [(1, DAY, 0.5, "r"), (2, DAY, 0.001, "r")]), dq_results.TABLE)
    runner.write(ctx, table, scores(ctx.spark, [(1, DAY, 0.7, "r")]), dq_results.TABLE)
    expected = scores(ctx.spark, [(1, DAY, 0.7, "r")])
    assert_df_equality(ctx.lakehouse.read(SCORES.name), expected, ignore_nullable=True, ignore_metadata=True)
    assert dq(ctx) == {
        "customer_id_as_of_date_unique": (0, "passed"),
        "score_in_0_1": (0, "passed"),
        "score_not_tiny": (0, "passed"),  # the second write of the run replaced the first one's results
    }
    later = date(2026, 7, 1)
    runner.write(ctx, table, scores(ctx.spark, [(1, later, 0.001, "r")]), dq_results.TABLE, as_of=later)
    assert dq(ctx, later)["score_not_tiny"] == (1, "warned") and dq(ctx)["score_not_tiny"] == (0, "passed")


def test_a_failing_rule_stops_the_write_and_names_table_and_rule(ctx):
    table = Table(SCORES, stage="score", write="partition", checks=checks)
    duplicated = scores(ctx.spark, [(1, DAY, 0.5, "r"), (1, DAY, 1.5, "r"), (2, DAY, 0.005, "r")])
    with pytest.raises(DataQualityError, match=r"gold.test_scores: rule 'customer_id_as_of_date_unique'"):
        runner.write(ctx, table, duplicated, dq_results.TABLE)
    assert not ctx.lakehouse.exists(SCORES.name)  # nothing written
    assert dq(ctx) == {
        "customer_id_as_of_date_unique": (2, "failed"),
        "score_in_0_1": (1, "failed"),
        "score_not_tiny": (1, "warned"),
    }


def test_merge_append_and_replace_modes(ctx):
    merged = Table(SCORES, stage="score", write="merge")
    runner.write(ctx, merged, scores(ctx.spark, [(1, DAY, 0.5, "r1")]), dq_results.TABLE)
    runner.write(ctx, merged, scores(ctx.spark, [(1, DAY, 0.6, "r1"), (2, DAY, 0.1, "r1")]), dq_results.TABLE)
    assert sorted(
        tuple(r) for r in ctx.lakehouse.read(SCORES.name).select("customer_id", "score").collect()
    ) == [
        (1, 0.6),
        (2, 0.1),
    ]
    log = Contract(
        name="ops.test_log", ddl="run_id STRING NOT NULL, n INT NOT NULL", grain="one row per event"
    )
    appended = Table(log, stage="any", write="append")
    replaced = Table(log, stage="any", write="replace")
    runner.write_rows(ctx, appended, [("run-test", 1), ("other", 2)], dq_results.TABLE)
    runner.write_rows(ctx, appended, [("run-test", 3)], dq_results.TABLE)
    runner.write_rows(ctx, replaced, [("run-test", 4)], dq_results.TABLE)  # replaces this run's rows only
    assert sorted(tuple(r) for r in ctx.lakehouse.read(log.name).collect()) == [("other", 2), ("run-test", 4)]


def test_refresh_calls_the_transform_with_its_inputs_the_run_values_and_the_params(ctx):
    source = Table(SCORES, stage="score", write="partition")
    runner.write(ctx, source, scores(ctx.spark, [(1, DAY, 0.5, "r"), (2, DAY, 0.25, "r")]), dq_results.TABLE)

    def double(frame, *, as_of, run_id, factor):  # type: ignore[no-untyped-def]
        return frame.where(F.col("as_of_date") == F.lit(as_of)).select(
            "customer_id",
            "as_of_date",
            (F.col("score") * factor).alias("score"),
            F.lit(run_id).alias("run_id"),
        )

    doubled = dataclasses.replace(SCORES, name="gold.test_doubled")
    table = Table(doubled, stage="score", write="partition", inputs=(source,), transform=double,
                  params=lambda config: {"factor": 2.0})  # fmt: skip
    runner.refresh(ctx, table, dq_results.TABLE, as_of=DAY)
    rows = sorted(
        tuple(r) for r in ctx.lakehouse.read(doubled.name).select("customer_id", "score", "run_id").collect()
    )
    assert rows == [(1, 1.0, ctx.run_id), (2, 0.5, ctx.run_id)]


def test_a_commit_records_what_its_rows_were_computed_from(ctx):
    """The table's own commit says whether computing it again would write what it holds: the same inputs'
    versions, code, parameters and date, and no unrecorded write since."""
    source = Table(SCORES, stage="score", write="partition")
    runner.write(ctx, source, scores(ctx.spark, [(1, DAY, 0.5, "r")]), dq_results.TABLE)

    def copy(frame, *, as_of, factor):  # type: ignore[no-untyped-def]
        return frame.where(F.col("as_of_date") == F.lit(as_of)).withColumn("score", F.col("score") * factor)

    table = Table(dataclasses.replace(SCORES, name="gold.test_copy"), stage="score", write="partition",
                  inputs=(source,), transform=copy, params=lambda config: {"factor": 1.0})  # fmt: skip

    def current(t: Table = table, day: date = DAY) -> bool:
        return runner.written_from(ctx, t, runner.inputs_key(ctx, t, [day]))

    assert not current()  # never computed
    runner.refresh(ctx, table, dq_results.TABLE, as_of=DAY)
    assert current()
    runner.write(ctx, source, scores(ctx.spark, [(1, DAY, 0.25, "r")]), dq_results.TABLE)  # input changed
    assert not current()
    runner.refresh(ctx, table, dq_results.TABLE, as_of=DAY)
    assert current() and [r["score"] for r in ctx.lakehouse.read(table.name).collect()] == [0.25]
    doubled = dataclasses.replace(table, params=lambda config: {"factor": 2.0})  # parameters changed
    assert not current(doubled) and not current(day=date(2026, 7, 1))  # or another day
    runner.write(ctx, table, scores(ctx.spark, [(1, DAY, 0.9, "x")]), dq_results.TABLE)  # unrecorded write
    assert not current()
    assert runner.outdated(ctx, table, [DAY]) == {DAY: "no commit records its computation"}


def test_a_partition_that_is_missing_names_the_stage_that_writes_it(ctx):
    table = Table(SCORES, stage="score", write="partition")
    runner.write(ctx, table, scores(ctx.spark, [(1, DAY, 0.5, "r")]), dq_results.TABLE)
    with pytest.raises(
        Exception, match=r"gold.test_scores has no rows as of 2026-07-01: run the score stage"
    ):
        runner.read_partition(ctx, table, date(2026, 7, 1))


def test_the_run_context_is_immutable_and_moves_to_another_date_sharing_its_report(ctx):
    with pytest.raises(AttributeError):
        ctx.as_of = DAY  # type: ignore[misc]
    later = ctx.on(date(2027, 1, 1))
    later.record("stage", "key", 1)
    assert (
        later.as_of == date(2027, 1, 1) and later.run_id == ctx.run_id and ctx.report["stage"] == {"key": 1}
    )
