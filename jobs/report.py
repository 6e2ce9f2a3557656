"""The summary printed at the end of a full run: where things are, what was built, how to look inside."""

from __future__ import annotations

import shlex

from pyspark.sql import functions as F

from gold import customer_marketing
from jobs.train import ACCEPTANCE_MODEL, SEGMENT_MODEL
from pipelines.runtime import RunContext


def print_summary(ctx: RunContext) -> None:
    config, lakehouse = ctx.config, ctx.lakehouse
    marketing = lakehouse.read(customer_marketing.CONTRACT.name).where(
        F.col("as_of_date") == F.lit(ctx.as_of)
    )
    root = shlex.quote(str(config.root))
    print("\n" + "=" * 100)
    print(f"Lakehouse at {config.root}  (run {ctx.run_id}, as of {ctx.as_of})")
    print(f"  tables:   {config.tables_dir}/<layer>/<table>   landing zone: {config.landing_dir}")
    print(f"  tables: {', '.join(lakehouse.register_catalog())}")
    print("  views:  gold.segment_summary, gold.campaign_targets, gold.objective_summary, ops.dq_trend")
    print(f"  MLflow:   {config.mlflow_tracking_uri}")
    print(f"\nTop of {customer_marketing.CONTRACT.name} (highest acceptance probability first):")
    marketing.orderBy(F.col("acceptance_probability").desc(), "customer_id").select(
        "customer_id",
        "segment_name",
        F.round("acceptance_probability", 3).alias("acceptance_probability"),
        F.round("expected_profit", 2).alias("expected_profit"),
        "decile",
        "contact_balanced",
    ).show(5, truncate=False)
    print("Segments:")
    (
        marketing.groupBy("segment_id", "segment_name")
        .agg(
            F.count(F.lit(1)).alias("customers"),
            F.round(F.avg("acceptance_probability"), 3).alias("mean_acceptance"),
        )
        .orderBy("segment_id")
        .show(truncate=False)
    )
    print("Business objectives (contacts, expected acceptances and profit if run today):")
    ctx.spark.sql(
        f"SELECT objective, contacts, expected_acceptances, expected_profit, lowest_probability_contacted "
        f"FROM gold.objective_summary WHERE as_of_date = DATE'{ctx.as_of.isoformat()}' ORDER BY contacts"
    ).show(truncate=False)
    models = ctx.report.get("models", {})
    acc = models.get(ACCEPTANCE_MODEL, {})
    seg = models.get(SEGMENT_MODEL, {})
    if acc:
        m = acc.get("metrics", {})
        print(
            f"Acceptance model {ACCEPTANCE_MODEL} v{acc['version']}{' (reused)' if acc.get('reused') else ''}: "
            f"ROC AUC {m.get('roc_auc', float('nan')):.3f}, PR AUC {m.get('pr_auc', float('nan')):.3f} "
            f"on {int(m.get('holdout_rows', 0))} held-out customers "
            f"(acceptance rate {m.get('holdout_acceptance_rate', float('nan')):.1%}), "
            f"profit {m.get('profit', float('nan')):,.0f} at the balanced threshold"
        )
    flagged = ctx.report.get("drift", {}).get("flagged")
    if flagged is not None:
        print(
            "Drift since the champion's training population: "
            + (f"FLAGGED {', '.join(flagged)} (see ops.feature_drift)" if flagged else "no feature flagged")
        )
    if seg:
        m = seg.get("metrics", {})
        print(
            f"Segmentation model {SEGMENT_MODEL} v{seg['version']}: value view k={int(m.get('value_k', 0))} "
            f"(silhouette {m.get('value_best_silhouette', float('nan')):.3f}), taste view "
            f"k={int(m.get('taste_k', 0))} (silhouette {m.get('taste_best_silhouette', float('nan')):.3f})"
        )
    print("\nLook inside:")
    print(f'  lakehouse sql --root {root} "SELECT * FROM gold.segment_summary"')
    print(f"  lakehouse sql --root {root}      (a SQL shell; or: make sql)")
    print(f"  lakehouse sql --root {root} \"SELECT * FROM ops.dq_trend WHERE outcome != 'passed'\"")
    print(f"  mlflow ui --backend-store-uri {config.mlflow_tracking_uri}   (or: make mlflow-ui)")
    print("=" * 100)
