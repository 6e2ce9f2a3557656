"""Training the campaign-acceptance model that scores gold.customer_marketing.

The training campaign and its labelled customers, a deterministic holdout, hyperparameters, class
weighting and business thresholds by cross-validation on the training customers, the baselines on the
same folds, the final fit judged on the holdout, and the current champion judged on the same holdout.
Pure functions of DataFrames and settings: the train job logs what they return and registers the model.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd
from pyspark.ml import PipelineModel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from gold import (
    acceptance,
    acceptance_drivers,
    campaign_responses,
    customer_features,
    customer_marketing,
    model_selection,
    objectives,
)
from pipelines.config import Config, ModelSettings
from pipelines.errors import PipelineError

MODEL_NAME = "campaign_acceptance"
THRESHOLDS_TAG = "objective_thresholds"
HOLDOUT = "_holdout"


class TrainingError(PipelineError):
    """The data cannot train a model (no completed campaign, a single class, too few customers)."""


@dataclass(frozen=True)
class Campaign:
    campaign_id: str
    features_as_of: date
    contacts: int
    acceptances: int


def economics(settings: ModelSettings) -> objectives.Economics:
    return objectives.Economics(settings.contact_cost, settings.revenue_per_acceptance)


def training_campaign(responses: DataFrame, as_of: date) -> Campaign:
    """The newest campaign whose responses were final by ``as_of``; an error when there is none to learn."""
    rows = campaign_responses.latest_campaign(responses, as_of).collect()
    if not rows:
        raise TrainingError(
            f"{campaign_responses.CONTRACT.name} has no campaign whose responses were final by {as_of}: "
            "nothing to train the acceptance model on (run the features stage, or import the CRM case)"
        )
    campaign = Campaign(
        **{k: rows[0][k] for k in ("campaign_id", "features_as_of", "contacts", "acceptances")}
    )
    if campaign.acceptances in (0, campaign.contacts):
        raise TrainingError(
            f"campaign {campaign.campaign_id} has a single outcome for every contact: cannot learn"
        )
    return campaign


def labelled(features: DataFrame, responses: DataFrame, campaign: Campaign, config: Config) -> DataFrame:
    """The campaign's contacts with their features as of its contact date, the label and the holdout flag."""
    numeric = customer_features.numeric_columns(config.vocabulary)
    settings = config.model
    return acceptance.prepare(
        acceptance.training_set(features, responses, campaign.campaign_id), numeric
    ).withColumn(HOLDOUT, acceptance.in_holdout(settings.holdout_fraction, settings.seed))


def fingerprint_inputs(config: Config, campaign: Campaign) -> tuple[list[str], dict[str, Any]]:
    """The columns and parameters whose values decide the trained model (reruns on equal ones reuse it)."""
    settings = config.model
    money = economics(settings)
    numeric = customer_features.numeric_columns(config.vocabulary)
    params = {
        "campaign_id": campaign.campaign_id,
        "features_as_of": str(campaign.features_as_of),
        "reg_params": list(settings.reg_params),
        "positive_weights": list(settings.positive_weights),
        "cv_folds": settings.cv_folds,
        "holdout_fraction": settings.holdout_fraction,
        "seed": settings.seed,
        "numeric": numeric,
        "engineered": sorted(acceptance.engineered_features(config.vocabulary)),
        "economics": [money.contact_cost, money.revenue],
    }
    return ["customer_id", acceptance.LABEL, *numeric, "education", "marital_status"], params


def split(labelled_rows: DataFrame) -> tuple[DataFrame, DataFrame]:
    """(training customers, held-out customers), each persisted compactly for the many small fits."""
    train = model_selection.compact(labelled_rows.where(~F.col(HOLDOUT)))
    holdout = model_selection.compact(labelled_rows.where(F.col(HOLDOUT)))
    return train, holdout


def judge(
    model: PipelineModel, holdout: DataFrame, threshold: float, money: objectives.Economics
) -> tuple[dict[str, float], pd.DataFrame]:
    """A fitted pipeline's metrics on the holdout at a contact threshold, and the holdout's scores."""
    scored = (
        acceptance.probabilities(model.transform(holdout))
        .select(acceptance.LABEL, acceptance.PROBABILITY)
        .toPandas()
    )
    metrics = model_selection.evaluate(
        scored[acceptance.LABEL], scored[acceptance.PROBABILITY], threshold, money
    )
    return metrics, scored


def champion_threshold(tags: Mapping[str, str]) -> float:
    return float(json.loads(tags.get(THRESHOLDS_TAG, "{}")).get("balanced", 0.5))


@dataclass(frozen=True)
class Trained:
    model: PipelineModel
    selection: model_selection.Selection
    comparison: pd.DataFrame  # one row per model: holdout metrics at its own out-of-fold threshold
    decisions: Mapping[str, objectives.Decision]
    metrics: Mapping[str, float]
    scored: pd.DataFrame  # the holdout's labels and probabilities
    drivers: list[tuple[str, float, float, int]]  # acceptance_drivers.rows of the fitted model

    @property
    def thresholds(self) -> dict[str, float]:
        return {o: d.threshold for o, d in self.decisions.items()}

    def logged(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """What the MLflow run records besides the holdout report (``tracking.log``'s arguments)."""
        chosen = self.selection.candidate
        ranked = sorted(self.drivers, key=lambda r: r[3])
        return {
            "params": {
                **params,
                "chosen_reg_param": chosen.reg_param,
                "chosen_positive_weight": chosen.positive_weight,
            },
            "dicts": {
                "objectives.json": {o: d.as_dict() for o, d in self.decisions.items()},
                "coefficients.json": {n: c for n, c, _, _ in ranked},
            },
            "tables": {"model_comparison.json": self.comparison.reset_index(names="model")},
        }


def compare_on_folds(
    train: DataFrame, holdout: DataFrame, config: Config, progress: Callable[[str], None]
) -> tuple[pd.DataFrame, model_selection.Selection]:
    """Each model's thresholds from out-of-fold scores on the same training folds, then judged on the
    holdout. Returns (comparison table, the logistic model's selection)."""
    settings, money = config.model, economics(config.model)
    rows, chosen = {}, None
    for name, (fit_predict, grid) in model_selection.compared(config).items():
        selection = model_selection.select(train, grid, settings.cv_folds, settings.seed, fit_predict, money)
        scored = fit_predict(train, holdout, selection.candidate)
        rows[name] = model_selection.evaluate(
            scored[acceptance.LABEL], scored["probability"], selection.threshold, money
        )
        progress(
            f"{name:<32} holdout ROC AUC {rows[name]['roc_auc']:.3f}, PR AUC {rows[name]['pr_auc']:.3f}, "
            f"profit {rows[name]['profit']:6.0f} "
            f"({selection.candidate.name if name == model_selection.MODEL else 'baseline'})"
        )
        if name == model_selection.MODEL:
            chosen = selection
    assert chosen is not None  # the compared models always include the pipeline
    return pd.DataFrame(rows).T, chosen


def train(
    train_rows: DataFrame, holdout: DataFrame, config: Config, progress: Callable[[str], None]
) -> Trained:
    """Choose by cross-validation, fit the chosen candidate on every training customer, judge on the holdout."""
    settings, money = config.model, economics(config.model)
    comparison, selection = compare_on_folds(train_rows, holdout, config, progress)
    decisions = objectives.choose(
        selection.predictions["probability"], selection.predictions[acceptance.LABEL], money
    )
    weight = selection.candidate.positive_weight
    fit_on = acceptance.class_weights(train_rows, weight) if weight != 1.0 else train_rows
    model = acceptance.build_pipeline(
        customer_features.numeric_columns(config.vocabulary),
        settings.seed,
        selection.candidate.reg_param,
        engineered=acceptance.engineered_features(config.vocabulary),
        weighted=weight != 1.0,
    ).fit(fit_on)
    metrics, scored = judge(model, holdout, decisions["balanced"].threshold, money)
    metrics |= {
        "holdout_rows": float(len(scored)),
        "holdout_acceptance_rate": float(scored[acceptance.LABEL].mean()),
    }
    return Trained(
        model,
        selection,
        comparison,
        decisions,
        metrics,
        scored,
        acceptance_drivers.from_model(model, train_rows),
    )


def champion_on(
    model: PipelineModel, tags: Mapping[str, str], holdout: DataFrame, config: Config
) -> dict[str, float]:
    """The current champion's metrics on this holdout, at the threshold it was registered with."""
    return judge(model, holdout, champion_threshold(tags), economics(config.model))[0]


def model_tags(trained: Trained, campaign: Campaign, fingerprint: str, as_of: date) -> dict[str, str]:
    """What a registered version carries: how it was trained, on what, and its objectives' thresholds."""
    return {
        "training_fingerprint": fingerprint,
        "campaign_id": campaign.campaign_id,
        "as_of": str(as_of),
        THRESHOLDS_TAG: json.dumps(trained.thresholds),
        "features_as_of": str(campaign.features_as_of),
    }


def marketing(
    model: PipelineModel, tags: Mapping[str, str], version: str, features: DataFrame, segments: DataFrame,
    config: Config, *, as_of: date, run_id: str,
) -> tuple[DataFrame, DataFrame]:  # fmt: skip
    """(gold.customer_marketing rows, the scores): the registered model's probabilities joined to the
    segments, with expected profit, decile and a contact flag per objective at the version's thresholds."""
    scores = acceptance.score(model, features, customer_features.numeric_columns(config.vocabulary))
    thresholds = json.loads(tags.get(THRESHOLDS_TAG, "{}"))
    rows = customer_marketing.transform(
        segments, scores, as_of=as_of, thresholds=thresholds, economics=economics(config.model),
        acceptance_model_version=version, run_id=run_id,
    )  # fmt: skip
    return rows, scores


def drift(
    model: PipelineModel, trained_on: DataFrame, features: DataFrame, scores: DataFrame, config: Config
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """The model's inputs and score in its training population and in today's: what drift compares."""
    numeric = customer_features.numeric_columns(config.vocabulary)
    before = acceptance.population(trained_on, acceptance.score(model, trained_on, numeric), numeric)
    now = acceptance.population(features, scores, numeric)
    return before.toPandas().to_dict("list"), now.toPandas().to_dict("list")
