"""The summary printed at the end of a full run: where things are, what was built, how to look inside."""

from __future__ import annotations

import shlex

from pyspark.sql import functions as F

from gold import customer_marketing
from gold.summary import models_lines
from pipelines import runner
from pipelines.runtime import RunContext

LOOK_INSIDE = """
Look inside:
  lakehouse sql --root {root} "SELECT * FROM gold.segment_summary"
  lakehouse sql --root {root}      (a SQL shell; or: make sql)
  lakehouse sql --root {root} "SELECT * FROM ops.dq_trend WHERE outcome != 'passed'"
  lakehouse tables                 (every table: grain, key, inputs, write mode, checks)
  mlflow ui --backend-store-uri {mlflow}   (or: make mlflow-ui)"""


def print_summary(ctx: RunContext) -> None:
    config, rule = ctx.config, "=" * 100
    marketing = runner.read(ctx, customer_marketing.TABLE).where(F.col("as_of_date") == F.lit(ctx.as_of))
    print(f"\n{rule}\nLakehouse at {config.root}  (run {ctx.run_id}, as of {ctx.as_of})")
    print(f"  tables:   {config.tables_dir}/<layer>/<table>   landing zone: {config.landing_dir}")
    print(f"  tables: {', '.join(ctx.lakehouse.register_catalog())}")
    print("  views:  gold.segment_summary, gold.campaign_targets, gold.objective_summary, ops.dq_trend")
    print(f"  MLflow:   {config.mlflow_tracking_uri}")
    print(f"\nTop of {customer_marketing.TABLE.name} (highest acceptance probability first):")
    rounded = [F.round(c, 3).alias(c) for c in ("acceptance_probability", "expected_profit")]
    top = marketing.orderBy(F.col("acceptance_probability").desc(), "customer_id")
    top.select("customer_id", "segment_name", *rounded, "decile", "contact_balanced").show(5, truncate=False)
    print("Segments:")
    sizes = [
        F.count(F.lit(1)).alias("customers"),
        F.round(F.avg("acceptance_probability"), 3).alias("mean_acceptance"),
    ]
    marketing.groupBy("segment_id", "segment_name").agg(*sizes).orderBy("segment_id").show(truncate=False)
    print("Business objectives (contacts, expected acceptances and profit if run today):")
    ctx.spark.sql(
        f"SELECT objective, contacts, expected_acceptances, expected_profit, lowest_probability_contacted "
        f"FROM gold.objective_summary WHERE as_of_date = DATE'{ctx.as_of.isoformat()}' ORDER BY contacts"
    ).show(truncate=False)
    print("\n".join(models_lines(ctx.report)))
    print(
        LOOK_INSIDE.format(root=shlex.quote(str(config.root)), mlflow=config.mlflow_tracking_uri)
        + f"\n{rule}"
    )
