"""Train the segmentation and acceptance models, log them to MLflow, register them and gate promotion."""

from __future__ import annotations

import sys

import mlflow

from gold import acceptance, acceptance_drivers, campaign_responses, customer_features, customer_segments
from gold import acceptance_training as at
from gold import segmentation as seg
from jobs.common import job_main, record_decision
from ops import dq_results, model_promotions
from pipelines import runner, tracking
from pipelines.log import step
from pipelines.runtime import RunContext


def train_segments(ctx: RunContext, client: mlflow.MlflowClient) -> tracking.RegisteredModel:
    settings, categories = ctx.config.model, ctx.config.categories
    features = runner.read_partition(ctx, customer_features.TABLE, ctx.as_of)
    data = customer_segments.segment_input(features, categories).persist()
    inputs = [*customer_segments.FEATURES, *customer_segments.taste_columns(categories)]
    params = {"k_min": settings.segment_k_min, "k_max": settings.segment_k_max, "seed": settings.seed}
    params |= {"max_iter": settings.segment_max_iter, "features": inputs}
    fp = tracking.fingerprint(data, ["customer_id", *inputs], params)
    try:
        existing = tracking.reuse(client, seg.MODEL_NAME, fp, ctx.log)
        if existing:
            return existing
        current = tracking.champion(client, seg.MODEL_NAME)
        previous = seg.centroids_of(current.tags if current else {})
        with mlflow.start_run(run_name=f"segments {ctx.as_of}"):
            trained = seg.train(data, settings, categories, previous)
            for view, fitted in trained.views.items():
                tracking.log_k_selection(view, fitted.metrics(), fitted.k)
            tracking.log(**trained.logged({**params, "features": ",".join(inputs), "as_of": str(ctx.as_of)}))
            tags = {tracking.FINGERPRINT_TAG: fp, "as_of": str(ctx.as_of), **trained.tags}
            registered = tracking.log_model(client, trained.model, seg.MODEL_NAME, tags)
    finally:
        data.unpersist()
    tracking.set_alias(client, seg.MODEL_NAME, registered.version)
    for line in trained.lines():
        ctx.log.info("  %s", line)
    return registered


def train_acceptance(ctx: RunContext, client: mlflow.MlflowClient) -> tracking.RegisteredModel:
    responses = runner.read(ctx, campaign_responses.TABLE)
    window = ctx.config.model.training_window_days
    completed = campaign_responses.completed(responses, ctx.as_of, window).collect()
    training = at.plan(completed, ctx.as_of, ctx.config.model)
    ctx.log.info("  acceptance: %s", training.describe())
    features = runner.read_dates(ctx, customer_features.TABLE, training.dates)
    labelled = at.labelled(features, responses, training, ctx.config).persist()
    columns, params = at.fingerprint_inputs(ctx.config, training)
    fp = tracking.fingerprint(labelled, columns, params)
    existing = tracking.reuse(client, at.MODEL_NAME, fp, ctx.log, champion=False)
    if existing:
        labelled.unpersist()
        return existing
    train, holdout = at.split(labelled, ctx.config.model)
    best = None
    try:
        with mlflow.start_run(run_name=f"acceptance {ctx.as_of}"):
            trained = at.train(train, holdout, ctx.config, lambda line: ctx.log.info("  %s", line))
            probability, balanced = (
                trained.scored[acceptance.PROBABILITY],
                trained.decisions["balanced"].threshold,
            )
            tracking.log_classifier(trained.scored[acceptance.LABEL], probability, balanced, trained.metrics)
            tracking.log(**trained.logged(params))
            champion = tracking.champion(client, at.MODEL_NAME)
            if champion:
                best = at.champion_on(tracking.load_model(at.MODEL_NAME), champion.tags, holdout, ctx.config)
            tags = at.model_tags(trained, training, fp, ctx.as_of)
            registered = tracking.log_model(client, trained.model, at.MODEL_NAME, tags)
    finally:
        for frame in (labelled, train, holdout):
            frame.unpersist()
    rows = acceptance_drivers.table_rows(registered.version, trained.drivers, ctx.as_of)
    runner.write_rows(ctx, acceptance_drivers.TABLE, rows, dq_results.TABLE)
    _promote(ctx, client, registered.version, trained.metrics, champion and champion.version, best)
    return tracking.RegisteredModel(
        registered.name, registered.version, registered.run_id, trained.metrics, tags
    )


def _promote(
    ctx: RunContext, client: mlflow.MlflowClient, version: str, metrics, champion: str | None, best
) -> None:  # type: ignore[no-untyped-def]
    """The gate: champion only if at least as good as the current one on the same holdout; recorded."""
    decision = model_promotions.decide(at.MODEL_NAME, version, metrics, champion, best)
    alias = tracking.CHAMPION if decision["decision"] == "promoted" else model_promotions.CHALLENGER
    tracking.set_alias(client, at.MODEL_NAME, version, alias)
    record_decision(ctx, decision)
    ctx.log.info(
        "  acceptance: version %s is %s (%s); holdout ROC AUC %.3f, PR AUC %.3f, profit %.0f on %d contacts",
        version, alias, decision["reason"], metrics["roc_auc"], metrics["pr_auc"], metrics["profit"],
        int(metrics["holdout_rows"]),
    )  # fmt: skip


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
        summary = {"version": model.version, "reused": model.reused, "metrics": dict(model.metrics)}
        summary |= {"holdout": model.tags.get("holdout"), "campaigns": model.tags.get("campaigns")}
        ctx.record("models", model.name, summary)


if __name__ == "__main__":
    sys.exit(job_main("train", run))
