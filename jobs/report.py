"""The summary printed at the end of a full run: where things are, what was built, how to look inside."""

from __future__ import annotations

import shlex

from pyspark.sql import functions as F

from gold import customer_marketing, summary
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
    summary.most_likely(marketing).show(5, truncate=False)
    print("Segments:")
    summary.segment_sizes(marketing).show(truncate=False)
    print("Business objectives (contacts, expected acceptances and profit if run today):")
    ctx.spark.sql(
        f"SELECT objective, contacts, expected_acceptances, expected_profit, lowest_probability_contacted "
        f"FROM gold.objective_summary WHERE as_of_date = DATE'{ctx.as_of.isoformat()}' ORDER BY contacts"
    ).show(truncate=False)
    print("\n".join(summary.models_lines(ctx.report)))
    print(
        LOOK_INSIDE.format(root=shlex.quote(str(config.root)), mlflow=config.mlflow_tracking_uri)
        + f"\n{rule}"
    )
