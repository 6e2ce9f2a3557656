"""Score every current customer with the champion models and write the gold marketing tables."""

from __future__ import annotations

import json
import sys
from datetime import date

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from gold import (
    acceptance,
    campaign_responses,
    customer_features,
    customer_marketing,
    customer_segments,
    feature_drift,
    segment_profiles,
)
from gold.objectives import Economics
from jobs.common import job_main
from jobs.registry import ACCEPTANCE_MODEL, SEGMENT_MODEL, THRESHOLDS_TAG, read_features
from pipelines import tracking
from pipelines.log import step
from pipelines.runtime import RunContext


def run(ctx: RunContext) -> None:
    """Assign segments and acceptance probabilities as of the run date with the champion models."""
    client = tracking.configure(ctx.config)
    lakehouse, vocabulary = ctx.lakehouse, ctx.config.vocabulary
    features = lakehouse.read(customer_features.contract(vocabulary).name).where(
        F.col("as_of_date") == F.lit(ctx.as_of)
    )
    with step(f"score: segments as of {ctx.as_of}"):
        champion = tracking.get_alias(client, SEGMENT_MODEL)
        views = {
            view: {
                int(c): customer_segments.Segment(int(v[0]), str(v[1]), 0)
                for c, v in json.loads(champion.tags.get(view, "{}")).items()
            }
            for view in ("segments", "tastes")
        }
        if not views["tastes"]:
            raise tracking.ModelNotFoundError(
                f"{SEGMENT_MODEL} version {champion.version} predates the taste view: run `lakehouse train`"
            )
        clustered = tracking.load_model(SEGMENT_MODEL).transform(
            customer_segments.segment_input(features, ctx.config.categories)
        )
        segments = customer_segments.assign(
            clustered,
            views["segments"],
            views["tastes"],
            as_of=ctx.as_of,
            model_version=champion.version,
            run_id=ctx.run_id,
        )
        written = lakehouse.overwrite(
            customer_segments.CONTRACT, segments, partition={"as_of_date": ctx.as_of}
        )
        ctx.log.info(
            "  %s: %d customers (model version %s)",
            customer_segments.CONTRACT.name,
            written.metric("numOutputRows"),
            champion.version,
        )
    with step(f"score: campaign acceptance as of {ctx.as_of}"):
        scorer = tracking.get_alias(client, ACCEPTANCE_MODEL)
        scores = acceptance.score(
            tracking.load_model(ACCEPTANCE_MODEL), features, customer_features.numeric_columns(vocabulary)
        )
        settings = ctx.config.model
        marketing = customer_marketing.transform(
            lakehouse.read(customer_segments.CONTRACT.name),
            scores,
            as_of=ctx.as_of,
            thresholds=json.loads(scorer.tags.get(THRESHOLDS_TAG, "{}")),
            economics=Economics(settings.contact_cost, settings.revenue_per_acceptance),
            acceptance_model_version=scorer.version,
            run_id=ctx.run_id,
        )
        written = lakehouse.overwrite(
            customer_marketing.CONTRACT, marketing, partition={"as_of_date": ctx.as_of}
        )
        rows = written.metric("numOutputRows")
        ctx.record(
            "score",
            customer_marketing.CONTRACT.name,
            {
                "rows": rows,
                "segment_model_version": champion.version,
                "acceptance_model_version": scorer.version,
                "version": written.version,
            },
        )
        ctx.log.info(
            "  %s: %d customers (acceptance model version %s)",
            customer_marketing.CONTRACT.name,
            rows,
            scorer.version,
        )
    with step("score: segment profiles"):
        profiles = segment_profiles.transform(
            lakehouse.read(customer_marketing.CONTRACT.name), features, as_of=ctx.as_of, run_id=ctx.run_id
        )
        written = lakehouse.overwrite(
            segment_profiles.CONTRACT, profiles, partition={"as_of_date": ctx.as_of}
        )
        ctx.log.info("  %s: %d segments", segment_profiles.CONTRACT.name, written.metric("numOutputRows"))
    with step("score: drift of features and score since the champion's training"):
        check_drift(ctx, scorer, features, scores)


def check_drift(
    ctx: RunContext, scorer: tracking.RegisteredModel, features: DataFrame, scores: DataFrame
) -> None:
    """Compare today's scored population with the champion's training population; write ops.feature_drift."""
    settings, lakehouse = ctx.config.model, ctx.lakehouse
    reference_as_of = scorer.tags.get("features_as_of")
    if not reference_as_of:
        ctx.log.info("  the champion carries no training features date: drift not measured")
        return
    numeric = customer_features.numeric_columns(ctx.config.vocabulary)
    contacted = lakehouse.read(campaign_responses.CONTRACT.name).where(
        F.col("campaign_id") == scorer.tags.get("campaign_id")
    )
    reference = read_features(ctx, date.fromisoformat(reference_as_of)).join(
        contacted.select("customer_id"), "customer_id", how="left_semi"
    )
    reference_scores = acceptance.score(tracking.load_model(ACCEPTANCE_MODEL), reference, numeric)
    before = (
        acceptance.prepare(reference, numeric)
        .join(reference_scores, "customer_id")
        .select(*numeric, acceptance.PROBABILITY)
        .toPandas()
    )
    now = (
        acceptance.prepare(features, numeric)
        .join(scores, "customer_id")
        .select(*numeric, acceptance.PROBABILITY)
        .toPandas()
    )
    drift = feature_drift.rows(
        {c: before[c].to_numpy(dtype=float) for c in before.columns},
        {c: now[c].to_numpy(dtype=float) for c in now.columns},
        settings.drift_psi_threshold,
        settings.drift_ks_threshold,
    )
    keys = {
        "run_id": ctx.run_id,
        "as_of_date": ctx.as_of,
        "model_version": scorer.version,
        "reference_as_of": date.fromisoformat(reference_as_of),
    }
    frame = ctx.spark.createDataFrame(
        [tuple({**keys, **r}[c] for c in feature_drift.CONTRACT.columns) for r in drift],
        feature_drift.CONTRACT.schema,
    )
    lakehouse.replace_where(feature_drift.CONTRACT, frame, {"run_id": ctx.run_id})
    flagged = [r["feature"] for r in drift if r["flagged"]]
    ctx.record("drift", "flagged", flagged)
    ctx.log.info(
        "  %s: %d features compared with the training population as of %s; flagged: %s",
        feature_drift.CONTRACT.name,
        len(drift),
        reference_as_of,
        ", ".join(flagged) or "none",
    )


if __name__ == "__main__":
    sys.exit(job_main("score", run))
