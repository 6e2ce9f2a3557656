"""The catalog: tables and documented views by name, the SQL shell, and reading gold without Spark."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F

from commands import cli
from gold.objectives import OBJECTIVES, contact_column
from gold.views import VIEWS
from jobs import publish
from pipelines.pandas_io import latest_as_of, read_table
from pipelines.tables import Lakehouse

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def published(generated):  # type: ignore[no-untyped-def]
    names = publish.run(generated)
    return generated, names


def test_every_table_and_view_is_published_with_comments_and_properties(published):
    ctx, names = published
    assert {v.name for v in VIEWS} <= set(names)
    for name in [n for n in names if n.startswith("gold.") and n not in {v.name for v in VIEWS}]:
        columns = ctx.spark.sql(f"DESCRIBE TABLE {name}").where("col_name NOT LIKE '#%'").collect()
        uncommented = [r["col_name"] for r in columns if r["col_name"] and not r["comment"]]
        assert uncommented == [], f"{name} columns without a comment: {uncommented}"
        properties = {r["key"]: r["value"] for r in ctx.spark.sql(f"SHOW TBLPROPERTIES {name}").collect()}
        assert properties["lakehouse.layer"] == "gold" and properties["lakehouse.grain"]


def test_segment_summary_adds_up_to_the_marketing_table(published):
    ctx, _ = published
    marketing = Lakehouse(ctx.spark, ctx.config).read("gold.customer_marketing")
    summary = ctx.spark.sql("SELECT * FROM gold.segment_summary").where(F.col("as_of_date") == ctx.as_of)
    totals = summary.agg(
        F.sum("customers"), F.sum("revenue_share"), F.sum("customer_share"), F.sum("balanced_contacts")
    ).collect()[0]
    assert totals[0] == marketing.count()
    assert totals[1] == pytest.approx(1.0, abs=1e-3) and totals[2] == pytest.approx(1.0, abs=1e-3)
    assert totals[3] == marketing.where("contact_balanced").count()
    expected = marketing.groupBy("segment_id").agg(F.count(F.lit(1)).alias("customers"))
    assert_df_equality(
        summary.select("segment_id", "customers"),
        expected,
        ignore_row_order=True,
        ignore_nullable=True,
        ignore_metadata=True,
    )


def test_campaign_targets_list_each_objectives_contacts_ranked(published):
    ctx, _ = published
    marketing = Lakehouse(ctx.spark, ctx.config).read("gold.customer_marketing")
    targets = ctx.spark.sql("SELECT * FROM gold.campaign_targets")
    for objective in OBJECTIVES:
        listed = targets.where(F.col("objective") == objective)
        flagged = marketing.where(F.col(contact_column(objective)))
        assert_df_equality(
            listed.select("customer_id"),
            flagged.select("customer_id"),
            ignore_row_order=True,
            ignore_metadata=True,
        )
        ranks = [
            r["objective_rank"] for r in listed.orderBy(F.col("acceptance_probability").desc()).collect()
        ]
        assert ranks == sorted(ranks)
    summary = {
        r["objective"]: r["contacts"] for r in ctx.spark.sql("SELECT * FROM gold.objective_summary").collect()
    }
    contacts = [summary.get(o, 0) for o in ("cost_saving", "balanced", "aggressive_acquisition")]
    assert contacts == sorted(contacts)  # an objective nobody passes has no row


def test_dq_trend_has_a_row_per_rule_result(published):
    ctx, _ = published
    trend = ctx.spark.sql("SELECT table_name, rule, run_id, failed FROM ops.dq_trend")
    results = Lakehouse(ctx.spark, ctx.config).read("ops.dq_results").select(trend.columns)
    assert_df_equality(trend, results, ignore_row_order=True, ignore_nullable=True, ignore_metadata=True)


def test_the_sql_shell_runs_statements_and_survives_errors(published, monkeypatch, capsys):
    ctx, _ = published
    statements = (
        "SELECT count(*) AS n\n  FROM gold.segment_summary;\nSELECT * FROM gold.nothing;\nSHOW TABLES IN ops"
    )
    monkeypatch.setattr("sys.stdin", io.StringIO(statements))
    assert cli.main(["sql", "--root", str(ctx.config.root)]) == 0
    out = capsys.readouterr()
    segments = ctx.spark.sql("SELECT * FROM gold.segment_summary").count()
    assert f"|{segments}  |" in out.out or f"|{segments}|" in out.out.replace(" ", "")
    assert "TABLE_OR_VIEW_NOT_FOUND" in out.err and "`nothing`" in out.err and "dq_trend" in out.out


def test_gold_tables_read_into_pandas_without_spark_match_spark(published):
    ctx, _ = published
    as_of = latest_as_of("gold.customer_marketing", ctx.config)
    assert as_of == str(ctx.as_of)
    frame = read_table("gold.customer_marketing", ctx.config, filters=[("as_of_date", "=", as_of)])
    from_spark = Lakehouse(ctx.spark, ctx.config).read("gold.customer_marketing")
    assert_df_equality(
        ctx.spark.createDataFrame(frame[["customer_id", "segment_name", "acceptance_probability"]]),
        from_spark.select("customer_id", "segment_name", "acceptance_probability"),
        ignore_row_order=True,
        ignore_nullable=True,
        ignore_metadata=True,
    )


def test_targets_by_budget_and_by_objective(published, tmp_path, capsys):
    ctx, _ = published
    root = str(ctx.config.root)
    marketing = Lakehouse(ctx.spark, ctx.config).read("gold.customer_marketing")
    assert cli.main(["targets", "--root", root, "--budget", "25", "--output", str(tmp_path / "t.csv")]) == 0
    listed = pd.read_csv(tmp_path / "t.csv")
    best = marketing.orderBy(F.col("acceptance_probability").desc(), "customer_id").limit(25)
    assert listed["customer_id"].tolist() == [r["customer_id"] for r in best.collect()]
    assert "the best 25 as of 2026-06-30: 25 contacts" in capsys.readouterr().out
    assert (
        cli.main(["targets", "--root", root, "--objective", "balanced", "--output", str(tmp_path / "b.csv")])
        == 0
    )
    assert len(pd.read_csv(tmp_path / "b.csv")) == marketing.where("contact_balanced").count()
    assert cli.main(["targets", "--root", root]) == 2
    assert "give --objective, --budget N, or both" in capsys.readouterr().err
