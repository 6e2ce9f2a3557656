"""Train the segmentation and acceptance models, log them to MLflow and register them."""

from __future__ import annotations

import json
import sys
from datetime import date

import mlflow
from pyspark.ml.evaluation import BinaryClassificationEvaluator, ClusteringEvaluator
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from gold import acceptance, campaign_responses, customer_features, customer_segments, objectives
from jobs.common import job_main
from pipelines import tracking
from pipelines.log import step
from pipelines.runtime import RunContext

THRESHOLDS_TAG = "objective_thresholds"
SEGMENT_MODEL = "customer_segments"
ACCEPTANCE_MODEL = "campaign_acceptance"


class TrainingError(RuntimeError):
    """The data cannot train a model (no completed campaign, a single class, too few customers)."""


def _reuse(
    ctx: RunContext, client: mlflow.MlflowClient, name: str, fingerprint: str
) -> tracking.RegisteredModel | None:
    """The version already trained on identical data and parameters, made champion again; else None."""
    existing = tracking.find_trained(client, name, fingerprint)
    if existing:
        ctx.log.info("  %s: same data and parameters as version %s, reusing it", name, existing.version)
        tracking.set_alias(client, name, existing.version)
    return existing


def read_features(ctx: RunContext, as_of: date) -> DataFrame:
    """The gold.customer_features partition as of ``as_of``; an error naming the stage when it is missing."""
    name = customer_features.contract(ctx.config.vocabulary).name
    features = ctx.lakehouse.read(name).where(F.col("as_of_date") == F.lit(as_of))
    if not features.take(1):
        raise TrainingError(f"{name} has no rows as of {as_of}: run the features stage for that date first")
    return features


def train_segments(ctx: RunContext, client: mlflow.MlflowClient) -> tracking.RegisteredModel:
    settings = ctx.config.model
    features = read_features(ctx, ctx.as_of)
    data = customer_segments.segment_input(features).persist()
    params = {
        "k_min": settings.segment_k_min,
        "k_max": settings.segment_k_max,
        "seed": settings.seed,
        "max_iter": settings.segment_max_iter,
        "features": list(customer_segments.FEATURES),
    }
    fp = tracking.fingerprint(data, ["customer_id", *customer_segments.FEATURES], params)
    existing = _reuse(ctx, client, SEGMENT_MODEL, fp)
    if existing:
        data.unpersist()
        return existing
    n = data.count()
    k_values = [k for k in range(settings.segment_k_min, settings.segment_k_max + 1) if k < n]
    if not k_values:
        raise TrainingError(f"gold.customer_features as of {ctx.as_of} has {n} customers: too few to segment")
    evaluator = ClusteringEvaluator(featuresCol="segment_scaled", predictionCol=customer_segments.CLUSTER)
    with mlflow.start_run(run_name=f"segments {ctx.as_of}"):
        mlflow.log_params(
            {**params, "features": ",".join(params["features"]), "as_of": str(ctx.as_of), "rows": n}
        )
        fitted = {}
        for k in k_values:
            model = customer_segments.build_pipeline(k, settings.seed, settings.segment_max_iter).fit(data)
            silhouette = evaluator.evaluate(model.transform(data))
            inertia = float(model.stages[-1].summary.trainingCost)
            fitted[k] = (silhouette, model)
            mlflow.log_metrics({"silhouette": silhouette, "inertia": inertia}, step=k)
            ctx.log.info("  segmentation k=%d: silhouette %.3f, inertia %.0f", k, silhouette, inertia)
        best_k = max(fitted, key=lambda k: (fitted[k][0], -k))
        silhouette, model = fitted[best_k]
        clustered = model.transform(data)
        profiles = [
            customer_segments.ClusterProfile(
                cluster=int(r[customer_segments.CLUSTER]),
                size=int(r["size"]),
                mean_spend=float(r["mean_spend"]),
                mean_recency=float(r["mean_recency"]),
                mean_orders=float(r["mean_orders"]),
                category_spend={c: float(r[f"spend_{c}"] or 0.0) for c in ctx.config.categories},
            )
            for r in clustered.groupBy(customer_segments.CLUSTER)
            .agg(*customer_segments.profile_columns(ctx.config.categories))
            .collect()
        ]
        segments = customer_segments.name_segments(profiles, customer_segments.mean_recency(profiles))
        mapping = {str(c): [s.segment_id, s.name] for c, s in segments.items()}
        mlflow.log_metrics({"k": best_k, "best_silhouette": silhouette})
        mlflow.log_dict({s.name: s.size for s in segments.values()}, "segment_sizes.json")
        registered = tracking.log_model(
            client,
            model,
            SEGMENT_MODEL,
            {tracking.FINGERPRINT_TAG: fp, "segments": json.dumps(mapping), "as_of": str(ctx.as_of)},
        )
    data.unpersist()
    tracking.set_alias(client, SEGMENT_MODEL, registered.version)
    ctx.log.info(
        "  segmentation: k=%d (silhouette %.3f) registered as version %s",
        best_k,
        silhouette,
        registered.version,
    )
    return registered


def train_acceptance(ctx: RunContext, client: mlflow.MlflowClient) -> tracking.RegisteredModel:
    settings = ctx.config.model
    responses = ctx.lakehouse.read(campaign_responses.CONTRACT.name)
    campaigns = campaign_responses.latest_campaign(responses, ctx.as_of).collect()
    if not campaigns:
        raise TrainingError(
            f"{campaign_responses.CONTRACT.name} has no campaign whose responses were final by {ctx.as_of}: "
            "nothing to train the acceptance model on (run the features stage, or import the CRM case)"
        )
    campaign = campaigns[0]
    ctx.log.info(
        "  acceptance: training on campaign %s, features as of %s (%d contacts, %d accepted)",
        campaign["campaign_id"],
        campaign["features_as_of"],
        campaign["contacts"],
        campaign["acceptances"],
    )
    if campaign["acceptances"] in (0, campaign["contacts"]):
        raise TrainingError(
            f"campaign {campaign['campaign_id']} has a single outcome for every contact: cannot learn"
        )
    numeric = customer_features.numeric_columns(ctx.config.vocabulary)
    features = read_features(ctx, campaign["features_as_of"])
    labelled = (
        acceptance.prepare(acceptance.training_set(features, responses, campaign["campaign_id"]), numeric)
        .withColumn("_holdout", acceptance.in_holdout(settings.holdout_fraction, settings.seed))
        .persist()
    )
    params = {
        "campaign_id": campaign["campaign_id"],
        "features_as_of": str(campaign["features_as_of"]),
        "reg_param": settings.reg_param,
        "holdout_fraction": settings.holdout_fraction,
        "seed": settings.seed,
        "numeric": numeric,
    }
    fp = tracking.fingerprint(
        labelled, ["customer_id", acceptance.LABEL, *numeric, "education", "marital_status"], params
    )
    existing = _reuse(ctx, client, ACCEPTANCE_MODEL, fp)
    if existing:
        labelled.unpersist()
        return existing
    train, holdout = labelled.where(~F.col("_holdout")), labelled.where(F.col("_holdout"))
    with mlflow.start_run(run_name=f"acceptance {ctx.as_of}"):
        mlflow.log_params({**params, "numeric": ",".join(numeric), "as_of": str(ctx.as_of)})
        model = acceptance.build_pipeline(numeric, settings.seed, settings.reg_param).fit(train)
        predictions = model.transform(holdout).persist()
        metrics = {
            "roc_auc": BinaryClassificationEvaluator(
                labelCol=acceptance.LABEL, metricName="areaUnderROC"
            ).evaluate(predictions),
            "pr_auc": BinaryClassificationEvaluator(
                labelCol=acceptance.LABEL, metricName="areaUnderPR"
            ).evaluate(predictions),
        }
        counts = (
            labelled.groupBy("_holdout")
            .agg(F.count(F.lit(1)).alias("n"), F.avg(acceptance.LABEL).alias("rate"))
            .collect()
        )
        for row in counts:
            prefix = "holdout" if row["_holdout"] else "train"
            metrics[f"{prefix}_rows"] = float(row["n"])
            metrics[f"{prefix}_acceptance_rate"] = float(row["rate"])
        scored = acceptance.probabilities(predictions).select(acceptance.PROBABILITY, acceptance.LABEL)
        decisions = decide(ctx, scored.collect())
        predictions.unpersist()
        mlflow.log_metrics(metrics)
        mlflow.log_dict({o: d.as_dict() for o, d in decisions.items()}, "objectives.json")
        registered = tracking.log_model(
            client,
            model,
            ACCEPTANCE_MODEL,
            {
                tracking.FINGERPRINT_TAG: fp,
                "campaign_id": campaign["campaign_id"],
                "as_of": str(ctx.as_of),
                THRESHOLDS_TAG: json.dumps({o: d.threshold for o, d in decisions.items()}),
            },
        )
    labelled.unpersist()
    tracking.set_alias(client, ACCEPTANCE_MODEL, registered.version)
    ctx.log.info(
        "  acceptance: ROC AUC %.3f, PR AUC %.3f on %d held-out customers; registered as version %s",
        metrics["roc_auc"],
        metrics["pr_auc"],
        int(metrics.get("holdout_rows", 0)),
        registered.version,
    )
    return registered


def decide(ctx: RunContext, scored: list) -> dict[str, objectives.Decision]:  # type: ignore[type-arg]
    """The business objectives' thresholds, chosen on held-out (probability, label) pairs, logged."""
    settings = ctx.config.model
    economics = objectives.Economics(settings.contact_cost, settings.revenue_per_acceptance)
    decisions = objectives.choose([r[0] for r in scored], [r[1] for r in scored], economics)
    for name, d in decisions.items():
        mlflow.log_metrics({f"{name}_threshold": min(d.threshold, 1.0), f"{name}_profit": d.profit})
        ctx.log.info(
            "  objective %-22s threshold %.3f: contact %5.1f%%, %d acceptances, profit %.0f (held out)",
            name,
            d.threshold,
            100 * d.contact_share,
            d.acceptances,
            d.profit,
        )
    return decisions


def run(ctx: RunContext) -> None:
    """Train (or reuse) the segmentation and acceptance models and make them the champions."""
    client = tracking.configure(ctx.config)
    stages = (
        ("train: segmentation (KMeans, k by silhouette)", train_segments),
        ("train: campaign acceptance (LogisticRegression)", train_acceptance),
    )
    for title, train in stages:
        with step(title):
            model = train(ctx, client)
        ctx.record(
            "models",
            model.name,
            {"version": model.version, "reused": model.reused, "metrics": dict(model.metrics)},
        )


if __name__ == "__main__":
    sys.exit(job_main("train", run))
