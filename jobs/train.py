"""Train the segmentation and acceptance models, log them to MLflow and register them."""

from __future__ import annotations

import json
import sys

import mlflow
from pyspark.ml import PipelineModel
from pyspark.ml.evaluation import ClusteringEvaluator
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

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


def _choose_k(ctx: RunContext, data: DataFrame, view: str, k_values: list[int]):  # type: ignore[no-untyped-def]
    """Fit KMeans for every k of the range; log silhouette and inertia (numbers and the elbow figure)."""
    settings = ctx.config.model
    prediction = customer_segments.CLUSTER if view == "value" else customer_segments.TASTE_CLUSTER
    evaluator = ClusteringEvaluator(
        featuresCol=customer_segments.scaled_column(view), predictionCol=prediction
    )
    fitted = {}
    for k in k_values:
        model = customer_segments.build_pipeline(
            k, settings.seed, settings.segment_max_iter, view, ctx.config.categories
        ).fit(data)
        silhouette = evaluator.evaluate(model.transform(data))
        summary = model.stages[-1].summary
        inertia = float(summary.trainingCost)
        smallest = min(summary.clusterSizes) / max(sum(summary.clusterSizes), 1)
        fitted[k] = (silhouette, model, inertia, smallest)
        mlflow.log_metrics(
            {
                f"{view}_silhouette": silhouette,
                f"{view}_inertia": inertia,
                f"{view}_smallest_share": smallest,
            },
            step=k,
        )
        ctx.log.info(
            "  %s view k=%d: silhouette %.3f, inertia %.1f, smallest segment %.1f%%",
            view,
            k,
            silhouette,
            inertia,
            100 * smallest,
        )
    mlflow.log_figure(
        figures.k_selection({k: v[0] for k, v in fitted.items()}, {k: v[2] for k, v in fitted.items()}),
        f"{view}_k_selection.png",
    )
    # a segment of a handful of outliers is no persona: k whose smallest segment is too small is passed over
    usable = [k for k in fitted if fitted[k][3] >= settings.segment_min_share] or list(fitted)
    best = max(usable, key=lambda k: (fitted[k][0], -k))
    mlflow.log_metrics({f"{view}_k": best, f"{view}_best_silhouette": fitted[best][0]})
    return best, fitted[best][0], fitted[best][1]


def train_segments(ctx: RunContext, client: mlflow.MlflowClient) -> tracking.RegisteredModel:
    settings = ctx.config.model
    categories = ctx.config.categories
    features = read_features(ctx, ctx.as_of)
    data = customer_segments.segment_input(features, categories).persist()
    inputs = [*customer_segments.FEATURES, *customer_segments.taste_columns(categories)]
    params = {
        "k_min": settings.segment_k_min,
        "k_max": settings.segment_k_max,
        "seed": settings.seed,
        "max_iter": settings.segment_max_iter,
        "features": inputs,
    }
    fp = tracking.fingerprint(data, ["customer_id", *inputs], params)
    existing = reuse(ctx, client, SEGMENT_MODEL, fp)
    if existing:
        data.unpersist()
        return existing
    n = data.count()
    k_values = [k for k in range(settings.segment_k_min, settings.segment_k_max + 1) if k < n]
    if not k_values:
        raise TrainingError(f"gold.customer_features as of {ctx.as_of} has {n} customers: too few to segment")
    previous = previous_centroids(client)
    with mlflow.start_run(run_name=f"segments {ctx.as_of}"):
        mlflow.log_params({**params, "features": ",".join(inputs), "as_of": str(ctx.as_of), "rows": n})
        value_k, value_silhouette, value_model = _choose_k(ctx, data, "value", k_values)
        taste_k, taste_silhouette, taste_model = _choose_k(ctx, data, "taste", k_values)
        model = PipelineModel(stages=[*value_model.stages, *taste_model.stages])
        clustered = model.transform(data)
        value_profiles = [
            customer_segments.ClusterProfile(
                cluster=int(r[customer_segments.CLUSTER]),
                size=int(r["size"]),
                mean_spend=float(r["mean_spend"]),
                mean_recency=float(r["mean_recency"]),
                mean_orders=float(r["mean_orders"]),
                category_spend={},  # the taste view names what they buy
            )
            for r in clustered.groupBy(customer_segments.CLUSTER)
            .agg(*customer_segments.profile_columns(()))
            .collect()
        ]
        taste_profiles = [
            customer_segments.TasteProfile(
                cluster=int(r[customer_segments.TASTE_CLUSTER]),
                size=int(r["size"]),
                shares={
                    c: float(r[t])
                    for c, t in zip(categories, customer_segments.taste_columns(categories), strict=True)
                },
            )
            for r in clustered.groupBy(customer_segments.TASTE_CLUSTER)
            .agg(
                F.count(F.lit(1)).alias("size"),
                *[F.avg(t).alias(t) for t in customer_segments.taste_columns(categories)],
            )
            .collect()
        ]
        values = customer_segments.name_segments(
            value_profiles, customer_segments.mean_recency(value_profiles), previous.get("segments")
        )
        tastes = customer_segments.name_tastes(taste_profiles, previous.get("tastes"))
        value_centroids = {p.cluster: customer_segments.centroid(p) for p in value_profiles}
        taste_centroids = {p.cluster: customer_segments.taste_centroid(p) for p in taste_profiles}
        tags = {
            tracking.FINGERPRINT_TAG: fp,
            "as_of": str(ctx.as_of),
            "segments": json.dumps(
                {str(c): [s.segment_id, s.name, value_centroids[c]] for c, s in values.items()}
            ),
            "tastes": json.dumps(
                {str(c): [s.segment_id, s.name, taste_centroids[c]] for c, s in tastes.items()}
            ),
        }
        sizes = (
            clustered.groupBy(customer_segments.CLUSTER, customer_segments.TASTE_CLUSTER).count().collect()
        )
        mlflow.log_dict(
            {f"{values[r[0]].name} : {tastes[r[1]].name}": int(r[2]) for r in sizes}, "segment_sizes.json"
        )
        mlflow.log_metrics({"k": value_k, "best_silhouette": value_silhouette})
        registered = tracking.log_model(client, model, SEGMENT_MODEL, tags)
    data.unpersist()
    tracking.set_alias(client, SEGMENT_MODEL, registered.version)
    ctx.log.info(
        "  segmentation: value k=%d (silhouette %.3f), taste k=%d (silhouette %.3f); registered as version %s",
        value_k,
        value_silhouette,
        taste_k,
        taste_silhouette,
        registered.version,
    )
    for s in values.values():
        ctx.log.info("    value %d %-28s %6d customers", s.segment_id, s.name, s.size)
    for s in tastes.values():
        ctx.log.info("    taste %d %-28s %6d customers", s.segment_id, s.name, s.size)
    return registered


def previous_centroids(client: mlflow.MlflowClient) -> dict[str, dict[int, list[float]]]:
    """Per view ("segments" = value, "tastes"), the champion's segment ids and centroids: a retrain keeps ids."""
    try:
        champion = tracking.get_alias(client, SEGMENT_MODEL)
    except tracking.ModelNotFoundError:
        return {}
    return {
        view: {
            int(v[0]): list(v[2]) for v in json.loads(champion.tags.get(view, "{}")).values() if len(v) > 2
        }
        for view in ("segments", "tastes")
    }


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
