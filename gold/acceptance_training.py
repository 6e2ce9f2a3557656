"""Training the campaign-acceptance model that scores gold.customer_marketing.

Every campaign completed within the training window, each contact described by the customer's features
as of that campaign's contact date; a temporal or customer-grouped holdout; hyperparameters, class
weighting and business thresholds by cross-validation on the training customers, the baselines on the
same folds, the final fit judged on the holdout, and the current champion judged on the same holdout.
Pure functions of DataFrames and settings: the train job logs what they return and registers the model.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
from pyspark.ml import PipelineModel
from pyspark.sql import DataFrame, Row
from pyspark.sql import functions as F

from gold import (
    acceptance,
    acceptance_drivers,
    campaign_responses,
    customer_features,
    customer_marketing,
    model_selection,
    objectives,
    portable,
)
from pipelines.config import Config, ModelSettings
from pipelines.errors import PipelineError

MODEL_NAME = "campaign_acceptance"
THRESHOLDS_TAG = "objective_thresholds"
# the fitted pipeline as plain JSON (``gold.portable``), logged with every version: `lakehouse serve` scores
# with it without a JVM
PORTABLE_ARTIFACT = "portable.json"
HOLDOUT = "_holdout"


class TrainingError(PipelineError):
    """The data cannot train a model (no completed campaign, a single class, too few customers)."""


@dataclass(frozen=True)
class Campaign:
    campaign_id: str
    features_as_of: date  # its contact date: its contacts are described as of this date
    final_on: date
    contacts: int
    acceptances: int


@dataclass(frozen=True)
class Plan:
    """Which completed campaigns train the model and which judge it. A temporal holdout (the latest
    campaigns, trained on those final before they started) judges what the model will face next; without
    enough of them, a random holdout of customers (every campaign of a held-out customer) judges it."""

    train: tuple[Campaign, ...]
    holdout: tuple[Campaign, ...] = ()  # empty: a customer-grouped random holdout

    @property
    def kind(self) -> str:
        return "temporal" if self.holdout else "customer-grouped random"

    @property
    def campaigns(self) -> tuple[Campaign, ...]:
        return self.train + self.holdout

    @property
    def dates(self) -> list[date]:
        return sorted({c.features_as_of for c in self.campaigns})

    def describe(self) -> str:
        def counts(group: tuple[Campaign, ...]) -> str:
            return f"{len(group)} campaign(s), {sum(c.contacts for c in group):,} contacts, {sum(c.acceptances for c in group):,} accepted"

        held = f"; {self.kind} holdout: {', '.join(c.campaign_id for c in self.holdout)} ({counts(self.holdout)})"
        return f"training on {counts(self.train)}" + (held if self.holdout else f"; {self.kind} holdout")


def economics(settings: ModelSettings) -> objectives.Economics:
    return objectives.Economics(settings.contact_cost, settings.revenue_per_acceptance)


def campaigns_of(rows: Sequence[Row]) -> list[Campaign]:
    """``campaign_responses.completed`` rows (newest first) as campaigns; one with no contact the features
    describe is left out."""
    return [Campaign(**{k: r[k] for k in Campaign.__dataclass_fields__}) for r in rows if r["contacts"]]


def plan(completed: Sequence[Row], as_of: date, settings: ModelSettings) -> Plan:
    """``completed``: the campaigns final within ``training_window_days`` of ``as_of``
    (``campaign_responses.completed``, collected); the newest ones hold out when they hold
    ``min_holdout_acceptances`` acceptances and campaigns final before them remain to train on."""
    campaigns = campaigns_of(completed)
    if not campaigns:
        raise TrainingError(
            f"{campaign_responses.CONTRACT.name} has no campaign whose responses became final in the "
            f"{settings.training_window_days} days to {as_of}: nothing to train the acceptance model on "
            "(run the features stage, import the CRM case, or widen model.training_window_days)"
        )
    _learnable(tuple(campaigns), "the completed campaigns")
    held: list[Campaign] = []
    for campaign in campaigns:
        held.append(campaign)
        if sum(c.acceptances for c in held) >= settings.min_holdout_acceptances:
            start = min(c.features_as_of for c in held)
            train = tuple(c for c in campaigns if c not in held and c.final_on <= start)
            if train and _learnable(train, "", raise_error=False):
                return Plan(train, tuple(held))
            break
    return Plan(tuple(campaigns))


def _learnable(campaigns: tuple[Campaign, ...], what: str, raise_error: bool = True) -> bool:
    accepted, contacts = sum(c.acceptances for c in campaigns), sum(c.contacts for c in campaigns)
    if accepted in (0, contacts) and raise_error:
        names = ", ".join(c.campaign_id for c in campaigns)
        raise TrainingError(f"{what} ({names}) have a single outcome for every contact: cannot learn")
    return accepted not in (0, contacts)


def labelled(features: DataFrame, responses: DataFrame, training: Plan, config: Config) -> DataFrame:
    """Every contact of the plan's campaigns with its features as of the campaign's contact date, the label
    and the holdout flag (the holdout campaigns, or every row of a held-out customer)."""
    numeric = customer_features.numeric_columns(config.vocabulary)
    settings = config.model
    ids = [c.campaign_id for c in training.campaigns]
    rows = acceptance.prepare(acceptance.pooled_training_set(features, responses, ids), numeric)
    held_ids = [c.campaign_id for c in training.holdout]
    held = (
        F.col("campaign_id").isin(*held_ids)
        if held_ids
        else acceptance.in_holdout(settings.holdout_fraction, settings.seed)
    )
    return rows.withColumn(HOLDOUT, held)


def fingerprint_inputs(config: Config, training: Plan) -> tuple[list[str], dict[str, Any]]:
    """The columns and parameters whose values decide the trained model (reruns on equal ones reuse it)."""
    settings = config.model
    money = economics(settings)
    numeric, engineered = acceptance.model_inputs(config.vocabulary, settings.left_out_inputs)
    params = {
        "campaigns": [c.campaign_id for c in training.train],
        "holdout": [c.campaign_id for c in training.holdout] or training.kind,
        "features_as_of": [str(d) for d in training.dates],
        "reg_params": list(settings.reg_params),
        "positive_weights": list(settings.positive_weights),
        "cv_folds": settings.cv_folds,
        "holdout_fraction": settings.holdout_fraction,
        "max_training_rows": settings.max_training_rows,
        "seed": settings.seed,
        "numeric": numeric,
        "engineered": sorted(engineered),
        "left_out": sorted(left_out(config)),
        "economics": [money.contact_cost, money.revenue],
    }
    every = customer_features.numeric_columns(config.vocabulary)
    columns = ["customer_id", "campaign_id", acceptance.LABEL, *every, "education", "marital_status"]
    return columns, params


def blank_inputs(training_rows: DataFrame, config: Config) -> list[str]:
    """The numeric inputs without a value in any of ``training_rows`` (one Spark job): a retailer that never
    records a field. The model cannot learn from them, nor fill them."""
    numeric = customer_features.numeric_columns(config.vocabulary)
    found = training_rows.agg(
        *[F.count(F.nanvl(F.col(c).cast("double"), F.lit(None))).alias(c) for c in numeric]
    )
    counts = found.collect()[0].asDict()
    return [c for c in numeric if not counts[c]]


def leaving_out(config: Config, blank: Sequence[str]) -> Config:
    """``config`` whose acceptance model also leaves out ``blank``."""
    kept = tuple(dict.fromkeys([*config.model.left_out_inputs, *blank]))
    return dataclasses.replace(config, model=dataclasses.replace(config.model, left_out_inputs=kept))


def left_out(config: Config) -> dict[str, str]:
    """The inputs the acceptance model leaves out, with why: blank in every training row (or named in
    model.left_out_inputs), or derived from such an input."""
    gone = config.model.left_out_inputs
    _, kept = acceptance.model_inputs(config.vocabulary, gone)
    why = {c: "blank in every training row (or named in model.left_out_inputs)" for c in gone}
    for name, derived in acceptance.engineered_features(config.vocabulary).items():
        if name not in kept and name not in why:
            why[name] = "derived from " + ", ".join(a for a in derived.args if a in gone)
    return why


def sampling_rate(rows: int, acceptances: int, max_rows: int) -> float:
    """The share of refusals kept so that about ``max_rows`` rows remain with every acceptor (1: all)."""
    if rows <= max_rows:
        return 1.0
    return max((max_rows - acceptances) / max(rows - acceptances, 1), 0.01)


def downsample(train: DataFrame, rate: float, seed: int) -> DataFrame:
    """Every acceptor and a deterministic ``rate`` of the refusals, each weighted by the inverse of its
    sampling rate so the fitted model stays calibrated (``rate`` 1: every row, unweighted)."""
    if rate >= 1.0:
        return train
    bucket = F.pmod(F.xxhash64("customer_id", "campaign_id", F.lit(seed)), F.lit(10_000))
    kept = train.where((F.col(acceptance.LABEL) == 1.0) | (bucket < F.lit(int(rate * 10_000))))
    refusal = F.lit(10_000 / int(rate * 10_000))
    return kept.withColumn(
        acceptance.WEIGHT, F.when(F.col(acceptance.LABEL) == 1.0, F.lit(1.0)).otherwise(refusal)
    )


@dataclass(frozen=True)
class Budget:
    """What training fits, sized to its rows: the Spark ML fit of the chosen candidate on the training
    rows (refusals downsampled above ``model.max_training_rows``), and model selection in memory on a
    sample of customers of at most about ``model.selection_rows`` rows."""

    training_rows: int
    acceptances: int
    fit_rate: float  # share of refusals the Spark ML fit keeps
    selection_share: float  # share of customers selection sees
    fits: int  # in-memory fits of selection: folds x candidates, and the baselines

    @classmethod
    def of(cls, training: Plan, config: Config) -> Budget:
        settings = config.model
        rows = sum(c.contacts for c in training.train)
        accepted = sum(c.acceptances for c in training.train)
        fits = sum(settings.cv_folds * len(g) + 1 for _, g in model_selection.compared(config).values())
        share = min(1.0, settings.selection_rows / max(rows, 1))
        return cls(rows, accepted, sampling_rate(rows, accepted, settings.max_training_rows), share, fits)

    def described(self) -> dict[str, Any]:
        """The sizing as MLflow parameters, with why."""
        return {
            "budget_training_rows": self.training_rows,
            "budget_fit_refusal_rate": round(self.fit_rate, 4),
            "budget_selection_share": round(self.selection_share, 4),
            "budget_selection_fits": self.fits,
            "budget_why": (
                "selection (folds x grid, baselines) fits in memory with scikit-learn on at most "
                "model.selection_rows rows: a Spark fit costs ~40 jobs however small; Spark ML fits the chosen "
                "candidate once on the training rows (refusals downsampled above model.max_training_rows)"
            ),
        }


def learning_curve(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    candidate: model_selection.Candidate,
    config: Config,
    shares: Sequence[float] = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0),
) -> pd.DataFrame:
    """The pipeline fitted in memory on stratified samples of the training customers (``shares`` of them,
    the last all), each judged on the same holdout: one row per sample with its rows and ROC AUC. Where the
    curve flattens says how many rows selection needs to see."""
    fit_predict, labels = model_selection.logistic(config), holdout[acceptance.LABEL]
    rows = []
    for share in shares:
        sample = model_selection.sample_customers(train, share, config.model.seed)
        scored = fit_predict(sample, holdout, candidate)
        auc = model_selection.evaluate(labels, scored, 0.5, economics(config.model))["roc_auc"]
        rows.append(
            {
                "share": share,
                "rows": len(sample),
                "acceptances": int(sample[acceptance.LABEL].sum()),
                "roc_auc": auc,
            }
        )
    curve = pd.DataFrame(rows)
    return curve.assign(below_all=curve["roc_auc"].iloc[-1] - curve["roc_auc"])


def memory_columns(config: Config) -> list[str]:
    """What selection and the baselines read of a labelled contact."""
    numeric = customer_features.numeric_columns(config.vocabulary)
    return ["customer_id", "campaign_id", acceptance.LABEL, *customer_features.CATEGORICAL, *numeric]


def in_memory(labelled_rows: DataFrame, budget: Budget, config: Config) -> pd.DataFrame:
    """The rows selection and the baselines see: the held-out rows and a stratified sample of the training
    customers (all of them within ``model.selection_rows``), chosen on the training rows' customer and label
    alone (``model_selection.sample_customers``) and then read whole."""
    columns = [*memory_columns(config), HOLDOUT]
    if budget.selection_share >= 1.0:
        return labelled_rows.select(*columns).toPandas()
    training = labelled_rows.where(~F.col(HOLDOUT)).select("customer_id", acceptance.LABEL).toPandas()
    chosen = model_selection.sample_customers(training, budget.selection_share, config.model.seed)
    ids = labelled_rows.sparkSession.createDataFrame(
        pd.DataFrame({"customer_id": chosen["customer_id"].unique(), "_chosen": True}),
        "customer_id BIGINT, _chosen BOOLEAN",
    )
    rows = labelled_rows.join(F.broadcast(ids), "customer_id", how="left")
    return rows.where(F.col(HOLDOUT) | F.col("_chosen").isNotNull()).select(*columns).toPandas()


def fit(
    train_rows: DataFrame, candidate: model_selection.Candidate, config: Config, rate: float = 1.0
) -> PipelineModel:
    """The acceptance pipeline fitted by Spark ML on the training rows (refusals downsampled to ``rate``)."""
    settings = config.model
    fit_on = downsample(train_rows, rate, settings.seed)
    weighted = candidate.positive_weight != 1.0 or rate < 1.0
    if weighted:
        fit_on = acceptance.class_weights(fit_on, candidate.positive_weight)
    numeric, engineered = acceptance.model_inputs(config.vocabulary, settings.left_out_inputs)
    return acceptance.build_pipeline(
        numeric, settings.seed, candidate.reg_param, engineered=engineered, weighted=weighted
    ).fit(fit_on)


def holdout_scores(model: PipelineModel, holdout: DataFrame) -> pd.DataFrame:
    """A fitted pipeline's probabilities for the held-out rows, with their labels (one Spark job)."""
    scored = acceptance.probabilities(model.transform(holdout))
    return scored.select(acceptance.LABEL, F.col(acceptance.PROBABILITY).alias("probability")).toPandas()


def baselines(comparison: pd.DataFrame | None) -> dict[str, dict[str, float]]:
    """The baselines' ROC AUC and profit on the holdout, from a comparison table (``compare_on_folds``:
    one row per model); none without one."""
    if comparison is None:
        return {}
    others = comparison.drop(index=model_selection.MODEL, errors="ignore")
    return {
        str(m): {"roc_auc": float(r["roc_auc"]), "profit": float(r["profit"])} for m, r in others.iterrows()
    }


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
    portable: Mapping[str, Any]  # ``portable_form`` of the fitted model
    budget: Budget

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
                **self.budget.described(),
                "chosen_reg_param": chosen.reg_param,
                "chosen_positive_weight": chosen.positive_weight,
            },
            "dicts": {
                "objectives.json": {o: d.as_dict() for o, d in self.decisions.items()},
                "coefficients.json": {n: c for n, c, _, _ in ranked},
                PORTABLE_ARTIFACT: self.portable,
            },
            "tables": {"model_comparison.json": self.comparison.reset_index(names="model")},
        }


def fitted_by_spark(labelled_rows: DataFrame, config: Config) -> model_selection.FitPredict:
    """The pipeline's fit and scores by Spark ML, for rows that selection holds in memory (found in
    ``labelled_rows`` by customer and campaign): nested cross-validation's outer fits."""
    keys = ["customer_id", "campaign_id"]

    def fit_predict(
        train: pd.DataFrame, test: pd.DataFrame, candidate: model_selection.Candidate
    ) -> np.ndarray:
        spark = labelled_rows.sparkSession

        def rows(frame: pd.DataFrame) -> DataFrame:
            chosen = spark.createDataFrame(frame[keys], "customer_id BIGINT, campaign_id STRING")
            return labelled_rows.join(F.broadcast(chosen), keys, how="left_semi")

        model = fit(rows(train), candidate, config)
        scored = acceptance.probabilities(model.transform(rows(test)))
        found = scored.select(*keys, F.col(acceptance.PROBABILITY).alias("p")).toPandas()
        return test[keys].merge(found, on=keys, how="left")["p"].to_numpy(float)

    return fit_predict


# the pipeline's holdout scores for a candidate: fitted by Spark ML on every training row
PipelineScores = Callable[[model_selection.Candidate], pd.DataFrame]


def compare_on_folds(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    config: Config,
    progress: Callable[[str], None],
    pipeline: PipelineScores,
    models: Mapping[str, tuple[model_selection.FitPredict, list[model_selection.Candidate]]] | None = None,
) -> tuple[pd.DataFrame, model_selection.Selection]:
    """Each model's thresholds from out-of-fold scores on the same training folds (in memory), then judged
    on the holdout: its metrics at the balanced threshold and its profit at every objective's threshold.
    The pipeline's holdout scores come from ``pipeline`` (its Spark ML fit). Returns (comparison table, the
    logistic model's selection)."""
    settings, money = config.model, economics(config.model)
    rows, chosen = {}, None
    for name, (fit_predict, grid) in (models or model_selection.compared(config)).items():
        selection = model_selection.select(train, grid, settings.cv_folds, settings.seed, fit_predict, money)
        if name == model_selection.MODEL:
            scored = pipeline(selection.candidate)
            labels, probabilities = scored[acceptance.LABEL], scored["probability"]
            chosen = selection
        else:
            labels, probabilities = (
                holdout[acceptance.LABEL],
                fit_predict(train, holdout, selection.candidate),
            )
        rows[name] = model_selection.evaluate(labels, probabilities, selection.threshold, money)
        decisions = objectives.choose(
            selection.predictions["probability"], selection.predictions[acceptance.LABEL], money
        )
        rows[name] |= {
            f"profit_{o}": model_selection.evaluate(labels, probabilities, d.threshold, money)["profit"]
            for o, d in decisions.items()
        }
        progress(
            f"{name:<32} holdout ROC AUC {rows[name]['roc_auc']:.3f}, PR AUC {rows[name]['pr_auc']:.3f}, "
            f"profit {rows[name]['profit']:6.0f} "
            f"({selection.candidate.name if name == model_selection.MODEL else 'baseline'})"
        )
    assert chosen is not None  # the compared models always include the pipeline
    return pd.DataFrame(rows).T, chosen


def backtest(
    labelled_rows: DataFrame, plan: Plan, config: Config, progress: Callable[[str], None]
) -> pd.DataFrame:
    """One backtest plan: the pipeline and the baselines (and a random one) compared on its holdout."""
    budget = Budget.of(plan, config)
    rows = in_memory(labelled_rows, budget, config)
    held = rows[HOLDOUT].to_numpy(bool)

    def pipeline(candidate: model_selection.Candidate) -> pd.DataFrame:
        model = fit(labelled_rows.where(~F.col(HOLDOUT)), candidate, config, budget.fit_rate)
        return holdout_scores(model, labelled_rows.where(F.col(HOLDOUT)))

    models = backtest_models(config)
    return compare_on_folds(rows[~held], rows[held], config, progress, pipeline, models)[0]


def train(
    labelled_rows: DataFrame, training: Plan, config: Config, progress: Callable[[str], None]
) -> Trained:
    """Choose in memory by cross-validation on the training customers; fit the chosen candidate with
    Spark ML on every training row; judge it on the holdout, beside the baselines."""
    money = economics(config.model)
    budget = Budget.of(training, config)
    rows = in_memory(labelled_rows, budget, config)
    held = rows[HOLDOUT].to_numpy(bool)
    fitted: dict[str, Any] = {}

    def pipeline(candidate: model_selection.Candidate) -> pd.DataFrame:
        fitted["model"] = fit(labelled_rows.where(~F.col(HOLDOUT)), candidate, config, budget.fit_rate)
        fitted["scored"] = holdout_scores(fitted["model"], labelled_rows.where(F.col(HOLDOUT)))
        return fitted["scored"]

    comparison, selection = compare_on_folds(rows[~held], rows[held], config, progress, pipeline)
    decisions = objectives.choose(
        selection.predictions["probability"], selection.predictions[acceptance.LABEL], money
    )
    model, scored = fitted["model"], fitted["scored"]
    labels, probabilities = scored[acceptance.LABEL], scored["probability"]
    metrics = model_selection.evaluate(labels, probabilities, decisions["balanced"].threshold, money)
    metrics |= {"holdout_rows": float(len(scored)), "holdout_acceptance_rate": float(labels.mean())}
    scored = scored.rename(columns={"probability": acceptance.PROBABILITY})
    return Trained(
        model,
        selection,
        comparison,
        decisions,
        metrics,
        scored,
        acceptance_drivers.from_model(model, labelled_rows),
        portable_form(
            model,
            {o: d.threshold for o, d in decisions.items()},
            config,
            input_ranges(model, labelled_rows.where(~F.col(HOLDOUT)), config),
        ),
        budget,
    )


def input_ranges(
    model: PipelineModel, training_rows: DataFrame, config: Config
) -> dict[str, tuple[float, float]]:
    """Each numeric and engineered input's smallest and largest value in the training rows, as the fitted
    pipeline computes them (filled, then derived): one Spark job."""
    numeric, engineered = acceptance.model_inputs(config.vocabulary, config.model.left_out_inputs)
    computed = PipelineModel(stages=model.stages[:2]).transform(training_rows)
    columns = {c: acceptance.imputed(c) for c in numeric} | {c: c for c in engineered}
    found = computed.agg(
        *[F.min(source).alias(f"min {c}") for c, source in columns.items()],
        *[F.max(source).alias(f"max {c}") for c, source in columns.items()],
    ).collect()[0]
    return {c: (float(found[f"min {c}"]), float(found[f"max {c}"])) for c in columns}


def portable_form(
    model: PipelineModel,
    thresholds: Mapping[str, float],
    config: Config,
    ranges: Mapping[str, tuple[float, float]] | None = None,
) -> dict[str, Any]:
    """The fitted pipeline as plain JSON (``gold.portable``) with what a decision needs besides the
    probability: each objective's threshold and the campaign economics."""
    money = economics(config.model)
    numeric, engineered = acceptance.model_inputs(config.vocabulary, config.model.left_out_inputs)
    exported = portable.export(model, numeric, engineered, ranges, left_out(config))
    return exported | {
        "model": MODEL_NAME,
        "thresholds": dict(thresholds),
        "economics": {"contact_cost": money.contact_cost, "revenue": money.revenue},
    }


def champion_on(
    model: PipelineModel, tags: Mapping[str, str], holdout: DataFrame, config: Config
) -> dict[str, float]:
    """A registered version's metrics on this holdout, at the threshold it was registered with (the
    champion's, or those of a version registered by a run cut off before its gate)."""
    scored = holdout_scores(model, holdout)
    metrics = model_selection.evaluate(
        scored[acceptance.LABEL], scored["probability"], champion_threshold(tags), economics(config.model)
    )
    return metrics | {"holdout_rows": float(len(scored))}


def model_tags(trained: Trained, training: Plan, fingerprint: str, as_of: date) -> dict[str, str]:
    """What a registered version carries: how it was trained, on what, and its objectives' thresholds."""
    return {
        "training_fingerprint": fingerprint,
        "campaigns": json.dumps([c.campaign_id for c in training.train]),
        "holdout": training.kind,
        "as_of": str(as_of),
        THRESHOLDS_TAG: json.dumps(trained.thresholds),
        "features_as_of": str(max(training.dates)),
    }


def marketing(
    model: PipelineModel, tags: Mapping[str, str], version: str, features: DataFrame, segments: DataFrame,
    config: Config, *, as_of: date, run_id: str,
) -> DataFrame:  # fmt: skip
    """gold.customer_marketing's rows: the registered model's probabilities joined to the segments, with
    expected profit, decile and a contact flag per objective at the version's thresholds."""
    scores = acceptance.score(model, features, customer_features.numeric_columns(config.vocabulary))
    thresholds = json.loads(tags.get(THRESHOLDS_TAG, "{}"))
    return customer_marketing.transform(
        segments, scores, as_of=as_of, thresholds=thresholds, economics=economics(config.model),
        acceptance_model_version=version, run_id=run_id,
    )  # fmt: skip


def drift(
    model: PipelineModel, trained_on: DataFrame, features: DataFrame, config: Config
) -> tuple[DataFrame, DataFrame]:
    """The model's inputs and score in its training population and in today's: what drift compares."""
    numeric = customer_features.numeric_columns(config.vocabulary)
    before = acceptance.population(trained_on, acceptance.score(model, trained_on, numeric), numeric)
    return before, acceptance.population(features, acceptance.score(model, features, numeric), numeric)


def backtest_plans(
    completed: Sequence[Row],
    settings: ModelSettings,
    campaigns: int,
    last_only: bool,
    min_acceptances: int = 10,
) -> list[Plan]:
    """``completed``: every campaign completed by the run date (``campaign_responses.completed``, collected,
    newest first). For each of the last ``campaigns`` with at least ``min_acceptances`` acceptances (fewer
    judge nothing), oldest first: the campaigns final before its first contact and within the training
    window train (all of them, or only the latest one), and it judges."""
    every = campaigns_of(completed)
    judged = [c for c in every if min_acceptances <= c.acceptances < c.contacts]
    plans = []
    for campaign in judged[:campaigns][::-1]:
        start = campaign.features_as_of
        window_start = start - timedelta(days=settings.training_window_days)
        earlier = tuple(c for c in every if window_start < c.final_on <= start)
        train = earlier[:1] if last_only else earlier
        if (
            train
            and _learnable(train, "", raise_error=False)
            and _learnable((campaign,), "", raise_error=False)
        ):
            plans.append(Plan(train, (campaign,)))
    if not plans:
        raise TrainingError("no completed campaign has an earlier completed campaign to train on")
    return plans


def backtest_models(
    config: Config,
) -> dict[str, tuple[model_selection.FitPredict, list[model_selection.Candidate]]]:
    """The compared models and a random baseline."""
    default = [model_selection.Candidate(config.model.reg_param, 1.0)]
    return {**model_selection.compared(config), "random": (model_selection.random_scores, default)}


BACKTEST_COLUMNS = [
    "roc_auc",
    "pr_auc",
    "profit",
    *[f"profit_{o}" for o in objectives.OBJECTIVES],
    "contacts",
]


def backtest_summary(per_campaign: pd.DataFrame) -> dict[str, Any]:
    """Means over the judged campaigns: the pipeline's figures, the past-acceptance rule's ROC AUC, and
    every model's means."""
    means = per_campaign.groupby("model")[BACKTEST_COLUMNS].mean()
    ours, rule = means.loc[model_selection.MODEL], means.loc["rule: accepted a past campaign"]
    return {
        "campaigns": int(per_campaign["campaign_id"].nunique()),
        "roc_auc": round(float(ours["roc_auc"]), 4),
        "pr_auc": round(float(ours["pr_auc"]), 4),
        "profit": round(float(ours["profit"]), 2),
        "baseline_roc_auc": round(float(rule["roc_auc"]), 4),
        "baselines": {
            m: {k: round(float(v), 4) for k, v in means.loc[m, ["roc_auc", "pr_auc", "profit"]].items()}
            for m in means.index
            if m != model_selection.MODEL
        },
    }
