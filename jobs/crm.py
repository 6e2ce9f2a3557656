"""The public CRM case: import its file (landing -> bronze.crm_case -> silver.crm_customers -> the same
gold.customer_features schema as the event pipeline, the pilot response as the label), and judge the
acceptance pipeline on it (`lakehouse evaluate-crm`: its last line is JSON, {"roc_auc": ..., "pr_auc": ...,
"f1": ..., "profit": ..., "folds": 5})."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from pyspark.sql import functions as F

from bronze import crm_case
from gold import acceptance, campaign_responses, customer_features, model_selection
from gold import acceptance_training as at
from ops import dq_results, ingest_log, refine_log
from pipelines import runner
from pipelines.ingest import IngestError, ingest_all, land
from pipelines.log import step
from pipelines.refine import refine_all
from pipelines.runtime import RunContext
from silver import crm_customers


def prepare(ctx: RunContext, path: Path, *, snapshot: date | None = None) -> RunContext:
    """Land, ingest, refine and build the gold features and labels from the case file; returns the run's
    context on the snapshot date (what training and scoring run as of)."""
    ctx.log.info("CRM case file %s landed as %s", path, land(ctx.config, crm_case.TABLE, path))
    with step("ingest: the CRM case file -> bronze"):
        rejected = [
            m for result in ingest_all(ctx, (crm_case.TABLE,), ingest_log.TABLE) for m in result.rejected
        ]
    if rejected:
        raise IngestError("; ".join(rejected))
    with step("silver: the CRM case -> typed, checked"):
        refine_all(ctx, (crm_customers.TABLE,), dq_results.TABLE, refine_log.TABLE)
    snapshot = snapshot or crm_customers.snapshot_date(runner.read(ctx, crm_customers.TABLE)).collect()[0][0]
    if snapshot is None:
        raise IngestError(f"{crm_customers.TABLE.name} is empty: every row of {path} was quarantined")
    with step(f"gold: customer features from the CRM case as of {snapshot}"):
        for table in (customer_features.FROM_CRM, campaign_responses.FROM_CRM):
            runner.refresh(ctx, table, dq_results.TABLE, as_of=snapshot)
    return ctx.on(snapshot)


def evaluate(ctx: RunContext, folds: int, inner_folds: int) -> dict[str, float]:
    """Nested, stratified cross-validation of the acceptance pipeline and the baselines on the same folds
    (the majority class, the "accepted a past campaign" rule, gradient-boosted trees) on the case's pilot.
    Prints the comparison table, then one line of JSON with the pipeline's pooled figures."""
    responses = runner.read(ctx, campaign_responses.TABLE)
    features = runner.read_partition(ctx, customer_features.TABLE, ctx.as_of)
    numeric = customer_features.numeric_columns(ctx.config.vocabulary)
    labelled = (
        acceptance.prepare(
            acceptance.training_set(features, responses, campaign_responses.CRM_PILOT), numeric
        )
        .withColumn("campaign_id", F.lit(campaign_responses.CRM_PILOT))
        .persist()
    )
    rows = labelled.select(*at.memory_columns(ctx.config)).toPandas()
    progress = lambda line: ctx.log.info("  %s", line)  # noqa: E731
    final = at.fitted_by_spark(labelled, ctx.config)
    table, summaries = model_selection.compare_nested(rows, ctx.config, folds, inner_folds, progress, final)
    labelled.unpersist()
    print("\n" + model_selection.as_text(table))
    ctx.record("evaluate", "models", summaries)
    ctx.log.info("run report: %s", ctx.write_report())
    best = summaries[model_selection.MODEL]
    line = {k: round(best[k], 4) for k in ("roc_auc", "pr_auc", "f1")} | {"profit": round(best["profit"], 2)}
    print(json.dumps({**line, "folds": folds}))
    return line
