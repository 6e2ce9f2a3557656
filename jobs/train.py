"""Train the segmentation and acceptance models, log them to MLflow, register them and gate promotion.

Each gate's decision is recorded before its alias moves; a version registered by a run cut off before its
gate is gated by the next run (training on the same data finds it by fingerprint), and a decision recorded
but not applied is applied first. A run dated before the champion's training never moves an alias."""

from __future__ import annotations

import dataclasses
import json
import sys
from typing import Any

import mlflow
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from gold import (
    acceptance,
    acceptance_drivers,
    campaign_responses,
    customer_features,
    customer_segments,
    figures,
)
from gold import acceptance_training as at
from gold import segmentation as seg
from jobs import features as features_job
from jobs import models
from jobs.common import job_main
from ops import dq_results, model_promotions
from pipelines import runner, tracking
from pipelines.log import step
from pipelines.runtime import RunContext


def train_segments(ctx: RunContext, client: mlflow.MlflowClient) -> tracking.RegisteredModel:
    settings, categories = ctx.config.model, ctx.config.categories
    history = models.decisions(ctx, seg.MODEL_NAME)
    models.settle(ctx, client, seg.MODEL_NAME, history)
    inputs = [*customer_segments.FEATURES, *customer_segments.taste_columns(categories)]
    params = {"k_min": settings.segment_k_min, "k_max": settings.segment_k_max, "seed": settings.seed}
    params |= {"max_iter": settings.segment_max_iter, "features": inputs}

    features = runner.read_partition(ctx, customer_features.TABLE, ctx.as_of)
    data = customer_segments.segment_input(features, categories).persist()
    fp = tracking.fingerprint(data, ["customer_id", *inputs], params)
    registered = tracking.find_trained(client, seg.MODEL_NAME, fp)
    if registered and models.decided(history, registered.version):
        ctx.log.info(
            "  %s: same data and parameters as version %s, reusing it", seg.MODEL_NAME, registered.version
        )
        data.unpersist()
        return registered
    lines: list[str] = []
    try:
        current = tracking.champion(client, seg.MODEL_NAME)
        if registered:  # registered by a run cut off before its gate: gate it now
            model = tracking.load_model(seg.MODEL_NAME, version=registered.version)
        else:
            previous = seg.centroids_of(current.tags if current else {})
            with mlflow.start_run(run_name=f"segments {ctx.as_of}"):
                trained = seg.train(data, settings, categories, previous)
                for view, fitted in trained.views.items():
                    figures.log_k_selection(view, fitted.metrics(), fitted.k)
                tracking.log(
                    **trained.logged({**params, "features": ",".join(inputs), "as_of": str(ctx.as_of)})
                )
                tags = {tracking.FINGERPRINT_TAG: fp, "as_of": str(ctx.as_of), **trained.tags}
                registered = tracking.log_model(client, trained.model, seg.MODEL_NAME, tags)
            model, lines = trained.model, trained.lines()
        champion_model = tracking.load_model(seg.MODEL_NAME, version=current.version) if current else None
        found = seg.compare(model, registered.tags, champion_model, current.tags if current else {}, data)
    finally:
        data.unpersist()
    for line in lines:
        ctx.log.info("  %s", line)
    decision = model_promotions.decide_segments(
        seg.MODEL_NAME, registered.version, found["silhouette"], current and current.version,
        found if current else None, as_of=ctx.as_of, champion_as_of=current and current.tags.get("as_of"),
    )  # fmt: skip
    alias = models.decide(ctx, client, decision)
    ctx.log.info("  segmentation: version %s is %s (%s)", registered.version, alias, decision["reason"])
    return registered


def _with_portable_form(
    ctx: RunContext, client: mlflow.MlflowClient, version: tracking.RegisteredModel, labelled: DataFrame
) -> None:
    """Add the portable form to a version registered before it was logged with each version."""
    if tracking.has_artifact(client, version.run_id, at.PORTABLE_ARTIFACT):
        return
    model = tracking.load_model(at.MODEL_NAME, version=version.version)
    thresholds = json.loads(version.tags.get(at.THRESHOLDS_TAG, "{}"))
    ranges = at.input_ranges(model, labelled.where(~F.col(at.HOLDOUT)), ctx.config)
    tracking.add_dict(
        client, version.run_id, at.portable_form(model, thresholds, ctx.config, ranges), at.PORTABLE_ARTIFACT
    )
    ctx.log.info("  %s: version %s now carries its portable form", at.MODEL_NAME, version.version)


def training_rows(ctx: RunContext) -> tuple[at.Plan, DataFrame]:
    """The acceptance model's plan as of the run date and its labelled contacts (not yet read)."""
    responses = runner.read(ctx, campaign_responses.TABLE)
    window = ctx.config.model.training_window_days
    training = at.plan(features_job.completed(ctx, responses, window), ctx.as_of, ctx.config.model)
    features = runner.read_dates(ctx, customer_features.TABLE, training.dates)
    return training, at.labelled(features, responses, training, ctx.config)


def train_acceptance(ctx: RunContext, client: mlflow.MlflowClient) -> tracking.RegisteredModel:
    history = models.decisions(ctx, at.MODEL_NAME)
    models.settle(ctx, client, at.MODEL_NAME, history)
    training, labelled = training_rows(ctx)
    ctx.log.info("  acceptance: %s", training.describe())
    labelled = labelled.persist()
    try:
        return _train_or_reuse(with_inputs(ctx, labelled), client, history, training, labelled)
    finally:
        labelled.unpersist()


def with_inputs(ctx: RunContext, labelled: DataFrame) -> RunContext:
    """The run whose acceptance model leaves out the inputs blank in every training row, each named in
    one line."""
    blank = at.blank_inputs(labelled.where(~F.col(at.HOLDOUT)), ctx.config)
    config = at.leaving_out(ctx.config, blank)
    engineered = acceptance.engineered_features(config.vocabulary)
    for name in blank:
        also = sorted(n for n, d in engineered.items() if name in d.args)
        ctx.log.info(
            "  acceptance: %s is blank in every training row: left out of the model%s", name,
            f" (with {', '.join(also)}, derived from it)" if also else "",
        )  # fmt: skip
    return dataclasses.replace(ctx, config=config) if blank else ctx


def _train_or_reuse(
    ctx: RunContext,
    client: mlflow.MlflowClient,
    history: list[dict[str, Any]],
    training: at.Plan,
    labelled: DataFrame,
) -> tracking.RegisteredModel:
    """Reuse the version trained on the same labelled set and parameters; else train, register and gate."""
    columns, params = at.fingerprint_inputs(ctx.config, training)
    fp = tracking.fingerprint(labelled, columns, params)
    existing = tracking.find_trained(client, at.MODEL_NAME, fp)
    if existing and models.decided(history, existing.version):
        ctx.log.info(
            "  %s: same data and parameters as version %s, reusing it", at.MODEL_NAME, existing.version
        )
        _with_portable_form(ctx, client, existing, labelled)
        current = tracking.champion(client, at.MODEL_NAME)
        if current:
            _say_flags(ctx, current.version, model_promotions.champion_flags(history, current.version))
        return existing
    holdout = labelled.where(F.col(at.HOLDOUT))
    champion = tracking.champion(client, at.MODEL_NAME)
    best = (
        at.champion_on(
            tracking.load_model(at.MODEL_NAME, version=champion.version), champion.tags, holdout, ctx.config
        )
        if champion
        else None
    )
    trained = None
    if existing:  # registered by a run cut off before its gate: gate it now
        registered, tags = existing, dict(existing.tags)
        _with_portable_form(ctx, client, existing, labelled)
        model = tracking.load_model(at.MODEL_NAME, version=existing.version)
        metrics = at.champion_on(model, existing.tags, holdout, ctx.config)
        comparison = tracking.logged_table(client, existing.run_id, "model_comparison.json")
        baselines = at.baselines(comparison.set_index("model") if comparison is not None else None)
        drivers = acceptance_drivers.from_model(model, labelled)  # the cut-off run may not have written them
    else:
        with mlflow.start_run(run_name=f"acceptance {ctx.as_of}"):
            trained = at.train(labelled, training, ctx.config, lambda line: ctx.log.info("  %s", line))
            probability, balanced = (
                trained.scored[acceptance.PROBABILITY],
                trained.decisions["balanced"].threshold,
            )
            figures.log_classifier(trained.scored[acceptance.LABEL], probability, balanced, trained.metrics)
            tracking.log(**trained.logged(params))
            tags = at.model_tags(trained, training, fp, ctx.as_of)
            registered = tracking.log_model(client, trained.model, at.MODEL_NAME, tags)
        metrics, baselines = dict(trained.metrics), at.baselines(trained.comparison)
        drivers = trained.drivers
    rows = acceptance_drivers.table_rows(registered.version, drivers, ctx.as_of)
    runner.write_rows(ctx, acceptance_drivers.TABLE, rows, dq_results.TABLE)
    decision = model_promotions.decide(
        at.MODEL_NAME, registered.version, metrics, champion and champion.version, best,
        as_of=ctx.as_of, champion_as_of=champion and champion.tags.get("as_of"), baselines=baselines,
    )  # fmt: skip
    alias = models.decide(ctx, client, decision)
    ctx.log.info(
        "  acceptance: version %s is %s (%s); holdout ROC AUC %.3f, PR AUC %.3f, profit %.0f on %d contacts",
        registered.version, alias, decision["reason"], metrics["roc_auc"], metrics["pr_auc"],
        metrics["profit"], int(metrics["holdout_rows"]),
    )  # fmt: skip
    leader = registered.version if alias == tracking.CHAMPION else champion and champion.version
    if leader:
        _say_flags(ctx, leader, [f for f in (decision["champion_flags"] or "").split("; ") if f])
    return tracking.RegisteredModel(registered.name, registered.version, registered.run_id, metrics, tags)


def _say_flags(ctx: RunContext, version: str, flags: list[str]) -> None:
    """The champion's flags in the run log and its report (the run summary prints them)."""
    ctx.record("champion_flags", at.MODEL_NAME, {"version": version, "flags": flags})
    if flags:
        ctx.log.warning(
            "  acceptance: champion version %s is FLAGGED on its holdout: %s (it still scores: something "
            "must; see ops.model_promotions)", version, "; ".join(flags),
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
