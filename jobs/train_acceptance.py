"""Train the campaign-acceptance model: hyperparameters, class weighting and business thresholds by
cross-validation on the training customers, baselines on the same folds, then a promotion gate on the
holdout that the current champion is judged on too."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import mlflow
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from gold import (
    acceptance,
    acceptance_drivers,
    campaign_responses,
    customer_features,
    model_promotions,
    model_selection,
    objectives,
)
from jobs.registry import ACCEPTANCE_MODEL, THRESHOLDS_TAG, TrainingError, read_features
from pipelines import figures, tracking
from pipelines.runtime import RunContext

CHALLENGER = "challenger"


def _campaign(ctx: RunContext, responses: DataFrame):  # type: ignore[no-untyped-def]
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
    return campaign


def compare_on_folds(ctx: RunContext, train: DataFrame, holdout: DataFrame, economics: objectives.Economics):  # type: ignore[no-untyped-def]
    """Each model's thresholds from out-of-fold scores on the same training folds, then judged on the holdout.
    Returns (comparison table, the logistic model's selection)."""
    settings = ctx.config.model
    k, seed = settings.cv_folds, settings.seed
    default = [model_selection.Candidate(settings.reg_param, 1.0)]
    models = {
        model_selection.MODEL: (
            model_selection.logistic(ctx.config.vocabulary, seed),
            model_selection.candidates(settings.reg_params, settings.positive_weights),
        ),
        "majority class": (model_selection.majority, default),
        "rule: accepted a past campaign": (model_selection.past_acceptance_rule, default),
        "gradient-boosted trees": (model_selection.logistic(ctx.config.vocabulary, seed, "gbt"), default),
    }
    rows, chosen = {}, None
    for name, (fit_predict, grid) in models.items():
        selection = model_selection.select(train, grid, k, seed, fit_predict, economics)
        scored = fit_predict(train, holdout, selection.candidate)
        rows[name] = model_selection.evaluate(
            scored[acceptance.LABEL], scored["probability"], selection.threshold, economics
        )
        ctx.log.info(
            "  %-32s holdout ROC AUC %.3f, PR AUC %.3f, profit %6.0f (%s)",
            name,
            rows[name]["roc_auc"],
            rows[name]["pr_auc"],
            rows[name]["profit"],
            selection.candidate.name if name == model_selection.MODEL else "baseline",
        )
        if name == model_selection.MODEL:
            chosen = selection
    return pd.DataFrame(rows).T, chosen


def _champion_on(
    ctx: RunContext, client: mlflow.MlflowClient, holdout: DataFrame, economics: objectives.Economics
) -> tuple[str | None, dict[str, float] | None]:
    """The current champion's version and metrics on this holdout at its own threshold (None if no champion)."""
    try:
        champion = tracking.get_alias(client, ACCEPTANCE_MODEL)
    except tracking.ModelNotFoundError:
        return None, None
    threshold = json.loads(champion.tags.get(THRESHOLDS_TAG, "{}")).get("balanced", 0.5)
    model = tracking.load_model(ACCEPTANCE_MODEL)
    scored = (
        acceptance.probabilities(model.transform(holdout))
        .select(acceptance.LABEL, acceptance.PROBABILITY)
        .toPandas()
    )
    return champion.version, model_selection.evaluate(
        scored[acceptance.LABEL], scored[acceptance.PROBABILITY], threshold, economics
    )


def _drivers(ctx: RunContext, model, train: DataFrame, version: str) -> None:  # type: ignore[no-untyped-def]
    # the assembled (pre-scaling) vector carries the input names; scaling keeps their order
    attrs = model.transform(train.limit(1)).schema[acceptance.RAW_VECTOR].metadata["ml_attr"]["attrs"]
    names = [
        a["name"] for a in sorted((a for group in attrs.values() for a in group), key=lambda a: a["idx"])
    ]
    names = [n.removesuffix("_imputed").replace("_onehot_", "=") for n in names]
    rows = acceptance_drivers.rows(names, list(model.stages[-1].coefficients))
    frame = ctx.spark.createDataFrame(
        [(version, n, c, o, r, ctx.as_of) for n, c, o, r in rows], acceptance_drivers.CONTRACT.schema
    )
    ctx.lakehouse.merge(acceptance_drivers.CONTRACT, frame)
    mlflow.log_dict({n: c for n, c, _, _ in sorted(rows, key=lambda r: r[3])}, "coefficients.json")
    top = ", ".join(f"{n} {c:+.2f}" for n, c, _, r in sorted(rows, key=lambda r: r[3])[:5])
    ctx.log.info("  strongest drivers (per SD): %s", top)


def record_decision(ctx: RunContext, row: dict) -> None:  # type: ignore[type-arg]
    decided = {
        "decided_at": datetime.now(timezone.utc).replace(microsecond=0),
        "run_id": ctx.run_id,
        "as_of_date": ctx.as_of,
        **row,
    }
    frame = ctx.spark.createDataFrame(
        [tuple(decided.get(c) for c in model_promotions.CONTRACT.columns)], model_promotions.CONTRACT.schema
    )
    ctx.lakehouse.append(model_promotions.CONTRACT, frame)


def train_acceptance(ctx: RunContext, client: mlflow.MlflowClient) -> tracking.RegisteredModel:
    settings = ctx.config.model
    economics = objectives.Economics(settings.contact_cost, settings.revenue_per_acceptance)
    responses = ctx.lakehouse.read(campaign_responses.CONTRACT.name)
    campaign = _campaign(ctx, responses)
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
        "reg_params": list(settings.reg_params),
        "positive_weights": list(settings.positive_weights),
        "cv_folds": settings.cv_folds,
        "holdout_fraction": settings.holdout_fraction,
        "seed": settings.seed,
        "numeric": numeric,
        "engineered": sorted(acceptance.engineered_features(ctx.config.vocabulary)),
        "economics": [economics.contact_cost, economics.revenue],
    }
    fp = tracking.fingerprint(
        labelled, ["customer_id", acceptance.LABEL, *numeric, "education", "marital_status"], params
    )
    existing = tracking.find_trained(client, ACCEPTANCE_MODEL, fp)
    if existing:
        labelled.unpersist()
        ctx.log.info(
            "  %s: same data and parameters as version %s, reusing it", ACCEPTANCE_MODEL, existing.version
        )
        return existing
    train = model_selection.compact(labelled.where(~F.col("_holdout")))
    holdout = model_selection.compact(labelled.where(F.col("_holdout")))
    try:
        with mlflow.start_run(run_name=f"acceptance {ctx.as_of}"):
            mlflow.log_params({k: json.dumps(v) if isinstance(v, list) else v for k, v in params.items()})
            comparison, selection = compare_on_folds(ctx, train, holdout, economics)
            mlflow.log_table(comparison.reset_index(names="model"), "model_comparison.json")
            decisions = objectives.choose(
                selection.predictions["probability"], selection.predictions[acceptance.LABEL], economics
            )
            weighted = selection.candidate.positive_weight != 1.0
            fit_on = (
                acceptance.class_weights(train, selection.candidate.positive_weight) if weighted else train
            )
            model = acceptance.build_pipeline(
                numeric,
                settings.seed,
                selection.candidate.reg_param,
                engineered=acceptance.engineered_features(ctx.config.vocabulary),
                weighted=weighted,
            ).fit(fit_on)
            scored = (
                acceptance.probabilities(model.transform(holdout))
                .select(acceptance.LABEL, acceptance.PROBABILITY)
                .toPandas()
            )
            metrics = model_selection.evaluate(
                scored[acceptance.LABEL],
                scored[acceptance.PROBABILITY],
                decisions["balanced"].threshold,
                economics,
            )
            metrics |= {
                "holdout_rows": float(len(scored)),
                "holdout_acceptance_rate": float(scored[acceptance.LABEL].mean()),
            }
            mlflow.log_metrics(metrics)
            balanced = decisions["balanced"].threshold
            mlflow.log_figure(
                figures.classifier_report(scored[acceptance.LABEL], scored[acceptance.PROBABILITY], balanced),
                "holdout_report.png",
            )
            mlflow.log_dict(
                figures.lift_table(scored[acceptance.LABEL], scored[acceptance.PROBABILITY]),
                "holdout_lift.json",
            )
            mlflow.log_params(
                {
                    "chosen_reg_param": selection.candidate.reg_param,
                    "chosen_positive_weight": selection.candidate.positive_weight,
                }
            )
            mlflow.log_dict({o: d.as_dict() for o, d in decisions.items()}, "objectives.json")
            champion_version, champion = _champion_on(ctx, client, holdout, economics)
            registered = tracking.log_model(
                client,
                model,
                ACCEPTANCE_MODEL,
                {
                    tracking.FINGERPRINT_TAG: fp,
                    "campaign_id": campaign["campaign_id"],
                    "as_of": str(ctx.as_of),
                    THRESHOLDS_TAG: json.dumps({o: d.threshold for o, d in decisions.items()}),
                    "features_as_of": str(campaign["features_as_of"]),
                },
            )
            _drivers(ctx, model, train, registered.version)
    finally:
        for frame in (labelled, train, holdout):
            frame.unpersist()
    verdict = model_promotions.gate(
        metrics["pr_auc"], metrics["profit"], champion and champion["pr_auc"], champion and champion["profit"]
    )
    alias = tracking.CHAMPION if verdict.promote else CHALLENGER
    tracking.set_alias(client, ACCEPTANCE_MODEL, registered.version, alias)
    record_decision(
        ctx,
        {
            "model_name": ACCEPTANCE_MODEL,
            "decision": "promoted" if verdict.promote else "challenger",
            "candidate_version": registered.version,
            "champion_version": champion_version,
            "candidate_pr_auc": metrics["pr_auc"],
            "champion_pr_auc": champion and champion["pr_auc"],
            "candidate_profit": metrics["profit"],
            "champion_profit": champion and champion["profit"],
            "holdout_rows": len(scored),
            "reason": verdict.reason,
        },
    )
    ctx.log.info(
        "  acceptance: version %s is %s (%s); holdout ROC AUC %.3f, PR AUC %.3f, profit %.0f on %d customers",
        registered.version,
        alias,
        verdict.reason,
        metrics["roc_auc"],
        metrics["pr_auc"],
        metrics["profit"],
        len(scored),
    )
    return tracking.RegisteredModel(
        registered.name, registered.version, registered.run_id, metrics, registered.tags
    )
