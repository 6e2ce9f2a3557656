"""Train the segmentation and acceptance models, log them to MLflow and register them."""

from __future__ import annotations

import json
import sys

import mlflow
from pyspark.ml.evaluation import ClusteringEvaluator

from gold import customer_segments
from jobs.common import job_main
from jobs.registry import (  # noqa: F401  (the names other jobs import from here)
    ACCEPTANCE_MODEL,
    SEGMENT_MODEL,
    THRESHOLDS_TAG,
    TrainingError,
    read_features,
    reuse,
)
from jobs.train_acceptance import train_acceptance
from pipelines import figures, tracking
from pipelines.log import step
from pipelines.runtime import RunContext


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
    existing = reuse(ctx, client, SEGMENT_MODEL, fp)
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
            fitted[k] = (silhouette, model, inertia)
            mlflow.log_metrics({"silhouette": silhouette, "inertia": inertia}, step=k)
            ctx.log.info("  segmentation k=%d: silhouette %.3f, inertia %.0f", k, silhouette, inertia)
        mlflow.log_figure(
            figures.k_selection({k: fitted[k][0] for k in fitted}, {k: fitted[k][2] for k in fitted}),
            "segmentation_k_selection.png",
        )
        best_k = max(fitted, key=lambda k: (fitted[k][0], -k))
        silhouette, model, _ = fitted[best_k]
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
        segments = customer_segments.name_segments(
            profiles, customer_segments.mean_recency(profiles), previous_centroids(client)
        )
        centroids = {p.cluster: customer_segments.centroid(p) for p in profiles}
        mapping = {str(c): [s.segment_id, s.name, centroids[c]] for c, s in segments.items()}
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


def previous_centroids(client: mlflow.MlflowClient) -> dict[int, list[float]]:
    """The champion segmentation's segment ids and centroids, for keeping ids across retrains."""
    try:
        champion = tracking.get_alias(client, SEGMENT_MODEL)
    except tracking.ModelNotFoundError:
        return {}
    mapping = json.loads(champion.tags.get("segments", "{}"))
    return {int(v[0]): list(v[2]) for v in mapping.values() if len(v) > 2}


def run(ctx: RunContext) -> None:
    """Train (or reuse) the segmentation and acceptance models and make them the champions."""
    client = tracking.configure(ctx.config)
    stages = (
        ("train: segmentation (KMeans, k by silhouette)", train_segments),
        ("train: campaign acceptance (LogisticRegression, cross-validated, gated)", train_acceptance),
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
