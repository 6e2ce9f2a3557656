"""Cross-validation of the acceptance pipeline: stratified folds, hyperparameters and the profit threshold
chosen inside each training fold, baselines on the same folds, and the metrics marketing reads.

Fits run in Spark; the out-of-fold scores (one probability per customer) are small and evaluated in pandas.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F
from sklearn import metrics as skm

from gold import acceptance, customer_features
from gold.acceptance import LABEL
from gold.objectives import Economics, choose
from pipelines.config import Config, Vocabulary

FOLD = "_fold"


@dataclass(frozen=True)
class Candidate:
    """One point of the hyperparameter grid."""

    reg_param: float
    positive_weight: float  # weight of an acceptor relative to a refuser (1 = unweighted)

    @property
    def name(self) -> str:
        return f"reg={self.reg_param:g}, positive_weight={self.positive_weight:g}"


# (train, test, candidate) -> test customers' probabilities (customer_id, label, probability)
FitPredict = Callable[[DataFrame, DataFrame, Candidate], pd.DataFrame]


MODEL = "logistic regression"


def candidates(reg_params: Sequence[float], positive_weights: Sequence[float]) -> list[Candidate]:
    return [Candidate(r, w) for r in reg_params for w in positive_weights]


def _collect(scored: DataFrame, probability: str) -> pd.DataFrame:
    return scored.select("customer_id", LABEL, F.col(probability).alias("probability")).toPandas()


def logistic(vocabulary: Vocabulary, seed: int, estimator: str = "logistic") -> FitPredict:
    """Fit the whole acceptance pipeline (engineered features, in-fold imputation, encoding, scaling,
    the estimator) on the training rows and score the test rows."""
    numeric = customer_features.numeric_columns(vocabulary)
    engineered = acceptance.engineered_features(vocabulary)

    def fit_predict(train: DataFrame, test: DataFrame, candidate: Candidate) -> pd.DataFrame:
        weighted = candidate.positive_weight != 1.0 or acceptance.WEIGHT in train.columns
        if weighted:
            train = acceptance.class_weights(train, candidate.positive_weight)
        model = acceptance.build_pipeline(
            numeric, seed, candidate.reg_param, engineered=engineered, weighted=weighted, estimator=estimator
        ).fit(train)
        return _collect(acceptance.probabilities(model.transform(test)), acceptance.PROBABILITY)

    return fit_predict


def majority(train: DataFrame, test: DataFrame, candidate: Candidate) -> pd.DataFrame:
    """Baseline: every customer gets the training acceptance rate."""
    rate = train.agg(F.avg(LABEL)).first()[0]
    return _collect(test.withColumn("p", F.lit(float(rate))), "p")


def past_acceptance_rule(train: DataFrame, test: DataFrame, candidate: Candidate) -> pd.DataFrame:
    """Baseline: 1 for customers who accepted any past campaign, else 0."""
    return _collect(test.withColumn("p", (F.col("campaigns_accepted") > 0).cast("double")), "p")


def random_scores(train: DataFrame, test: DataFrame, candidate: Candidate) -> pd.DataFrame:
    """Baseline: a deterministic coin per contact (what targeting at random would earn)."""
    coin = F.pmod(F.xxhash64("customer_id", F.lit(candidate.reg_param)), F.lit(10_000)) / 10_000.0
    return _collect(test.withColumn("p", coin.cast("double")), "p")


def compared(config: Config) -> dict[str, tuple[FitPredict, list[Candidate]]]:
    """The models every comparison runs, training and ``evaluate-crm`` alike: the acceptance pipeline with
    its hyperparameter grid first, then the baselines with a single candidate each."""
    settings, vocabulary = config.model, config.vocabulary
    default = [Candidate(settings.reg_param, 1.0)]
    models: dict[str, tuple[FitPredict, list[Candidate]]] = {
        MODEL: (
            logistic(vocabulary, settings.seed),
            candidates(settings.reg_params, settings.positive_weights),
        ),
        "majority class": (majority, default),
        "rule: accepted a past campaign": (past_acceptance_rule, default),
    }
    if settings.tree_baseline:
        models["gradient-boosted trees"] = (logistic(vocabulary, settings.seed, "gbt"), default)
    return models


ROWS_PER_PARTITION = 250_000


def compact(data: DataFrame) -> DataFrame:
    """Persist a training set in as few partitions as its size needs: the many small Spark jobs of
    cross-validation (an LR fit is ~40 of them) cost per task, so a few thousand rows fit 3x faster in one."""
    rows = data.count()
    return data.repartition(max(1, -(-rows // ROWS_PER_PARTITION))).persist()


def assign_folds(labelled: DataFrame, k: int, seed: int, column: str = FOLD) -> DataFrame:
    """Stratified, deterministic folds of customers: a customer's rows (one per campaign that contacted
    them) share one fold, never training and validation at once. Customers who ever accepted and those
    who never did are each dealt round-robin in hash order."""
    customers = labelled.groupBy("customer_id").agg(F.max(LABEL).alias("_stratum"))
    order = Window.partitionBy("_stratum").orderBy(
        F.xxhash64("customer_id", F.lit(seed)), F.col("customer_id")
    )
    folds = customers.select(
        "customer_id", F.pmod(F.row_number().over(order) - 1, F.lit(k)).cast("int").alias(column)
    )
    return labelled.join(folds, "customer_id", how="inner")


def out_of_fold(
    data: DataFrame, k: int, fit_predict: FitPredict, candidate: Candidate, column: str
) -> pd.DataFrame:
    """Every customer's probability from the model fitted on the other folds."""
    parts = [
        fit_predict(data.where(F.col(column) != fold), data.where(F.col(column) == fold), candidate)
        for fold in range(k)
    ]
    return pd.concat(parts, ignore_index=True)


def evaluate(
    labels: Sequence[float], probabilities: Sequence[float], threshold: float, economics: Economics
) -> dict[str, float]:
    """Ranking, decision and calibration metrics of scores at a contact threshold."""
    y = np.asarray(labels, dtype=float)
    p = np.asarray(probabilities, dtype=float)
    contact = p >= threshold
    tp = int((contact & (y == 1)).sum())
    fp = int((contact & (y == 0)).sum())
    fn = int((~contact & (y == 1)).sum())
    tn = int((~contact & (y == 0)).sum())
    two_classes = 0 < y.sum() < len(y)
    return {
        "roc_auc": float(skm.roc_auc_score(y, p)) if two_classes else float("nan"),
        "pr_auc": float(skm.average_precision_score(y, p)) if two_classes else float("nan"),
        "f1": float(skm.f1_score(y, contact, zero_division=0)),
        "precision": float(skm.precision_score(y, contact, zero_division=0)),
        "recall": float(skm.recall_score(y, contact, zero_division=0)),
        "brier": float(skm.brier_score_loss(y, np.clip(p, 0, 1))),
        "profit": float(economics.revenue * tp - economics.contact_cost * (tp + fp)),
        "contacts": float(tp + fp),
        "tp": float(tp),
        "fp": float(fp),
        "fn": float(fn),
        "tn": float(tn),
    }


@dataclass
class Selection:
    candidate: Candidate
    threshold: float
    scores: dict[str, float]  # PR AUC of every candidate on the inner folds
    predictions: pd.DataFrame  # the chosen candidate's out-of-fold scores


def select(
    train: DataFrame,
    candidates: Sequence[Candidate],
    k: int,
    seed: int,
    fit_predict: FitPredict,
    economics: Economics,
) -> Selection:
    """Choose the candidate with the best out-of-fold PR AUC on ``train`` and the profit-maximising
    threshold on its out-of-fold scores: nothing is chosen on the data the model is then judged on."""
    inner = compact(assign_folds(train, k, seed, "_inner_fold"))
    try:
        results = {c: out_of_fold(inner, k, fit_predict, c, "_inner_fold") for c in candidates}
    finally:
        inner.unpersist()
    scores = {
        c.name: float(skm.average_precision_score(r[LABEL], r["probability"])) for c, r in results.items()
    }
    best = max(candidates, key=lambda c: (scores[c.name], -c.reg_param))
    chosen = results[best]
    threshold = choose(chosen["probability"], chosen[LABEL], economics)["balanced"].threshold
    return Selection(best, threshold, scores, chosen)


def nested_cross_validation(
    data: DataFrame,
    *,
    k: int,
    inner_k: int,
    seed: int,
    candidates: Sequence[Candidate],
    fit_predict: FitPredict,
    economics: Economics,
    progress: Callable[[str], None] = lambda _: None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per outer fold: select hyperparameters and threshold on the training folds, fit, score the test fold.
    Returns (per-fold metrics, out-of-fold scores with each fold's threshold)."""
    folded = compact(assign_folds(data, k, seed))
    rows, scored = [], []
    try:
        for fold in range(k):
            train, test = folded.where(F.col(FOLD) != fold), folded.where(F.col(FOLD) == fold)
            selection = select(train, candidates, inner_k, seed + fold + 1, fit_predict, economics)
            predictions = fit_predict(train, test, selection.candidate).assign(
                fold=fold, threshold=selection.threshold
            )
            scored.append(predictions)
            result = evaluate(predictions[LABEL], predictions["probability"], selection.threshold, economics)
            rows.append(
                {"fold": fold, "params": selection.candidate.name, "threshold": selection.threshold, **result}
            )
            chosen = f"{selection.candidate.name}, " if len(candidates) > 1 else ""
            progress(
                f"fold {fold + 1}/{k}: {chosen}threshold {selection.threshold:.3f}: "
                f"ROC AUC {result['roc_auc']:.3f}, PR AUC {result['pr_auc']:.3f}, profit {result['profit']:.0f}"
            )
    finally:
        folded.unpersist()
    return pd.DataFrame(rows), pd.concat(scored, ignore_index=True)


def summarize(per_fold: pd.DataFrame, scored: pd.DataFrame, economics: Economics) -> dict[str, float]:
    """Pooled out-of-fold metrics; each fold's decisions use its own threshold."""
    contact = scored["probability"] >= scored["threshold"]
    y = scored[LABEL].to_numpy(dtype=float)
    overall = evaluate(y, scored["probability"], 0.5, economics)
    tp = float((contact & (y == 1)).sum())
    contacts = float(contact.sum())
    precision = tp / contacts if contacts else 0.0
    recall = tp / y.sum() if y.sum() else 0.0
    return {
        "roc_auc": overall["roc_auc"],
        "roc_auc_fold_std": float(per_fold["roc_auc"].std(ddof=0)),
        "pr_auc": overall["pr_auc"],
        "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        "precision": precision,
        "recall": recall,
        "brier": overall["brier"],
        "profit": float(per_fold["profit"].sum()),
        "contacts": contacts,
    }


SUMMARY_COLUMNS = [
    "roc_auc",
    "roc_auc_fold_std",
    "pr_auc",
    "f1",
    "precision",
    "recall",
    "brier",
    "contacts",
    "profit",
]


def compare_nested(
    labelled: DataFrame, config: Config, k: int, inner_k: int, progress: Callable[[str], None]
) -> tuple[pd.DataFrame, dict[str, dict[str, float]]]:
    """Every compared model by nested cross-validation on the same outer folds; returns (comparison table,
    per-model summary)."""
    money = Economics(config.model.contact_cost, config.model.revenue_per_acceptance)
    summaries: dict[str, dict[str, float]] = {}
    labelled = compact(labelled)
    try:
        for name, (fit_predict, grid) in compared(config).items():
            progress(f"{name}: {k}-fold stratified cross-validation")
            per_fold, scored = nested_cross_validation(
                labelled, k=k, inner_k=inner_k, seed=config.model.seed, candidates=grid,
                fit_predict=fit_predict, economics=money, progress=progress,
            )  # fmt: skip
            summaries[name] = summarize(per_fold, scored, money)
    finally:
        labelled.unpersist()
    return pd.DataFrame(summaries).T[SUMMARY_COLUMNS], summaries


def as_text(table: pd.DataFrame) -> str:
    """A comparison table as printed: counts and money without decimals, rates to three."""
    formatters = {
        c: (lambda v: f"{v:,.0f}") if c in ("contacts", "profit") else (lambda v: f"{v:.3f}") for c in table
    }
    return table.to_string(formatters=formatters)
