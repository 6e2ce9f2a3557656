"""Choosing the acceptance model on the driver: stratified folds of customers, the hyperparameters and the
profit threshold chosen on out-of-fold scores inside the training rows, the baselines on the same folds,
and the metrics marketing reads.

Selection is many small fits (folds x candidates, and the baselines). In Spark each costs about forty jobs
however few its rows (a logistic regression's iterations, a boosted tree's levels), so selection runs in
memory with scikit-learn on the rows it needs (a sample of at most ``model.selection_rows``): the
pipeline's in-memory fit (``gold.portable.fit``) solves the same problem as its Spark ML fit, and Spark ML
then fits the chosen candidate once, on every training row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from gold import acceptance, portable
from gold.acceptance import LABEL
from gold.customer_features import CATEGORICAL
from gold.objectives import Economics, choose
from pipelines.config import Config

FOLD = "_fold"
MODEL = "logistic regression"


@dataclass(frozen=True)
class Candidate:
    """One point of the hyperparameter grid."""

    reg_param: float
    positive_weight: float  # weight of an acceptor relative to a refuser (1 = unweighted)

    @property
    def name(self) -> str:
        return f"reg={self.reg_param:g}, positive_weight={self.positive_weight:g}"


# (training rows, rows to score, candidate) -> the scored rows' probabilities of accepting
FitPredict = Callable[[pd.DataFrame, pd.DataFrame, Candidate], np.ndarray]


def candidates(reg_params: Sequence[float], positive_weights: Sequence[float]) -> list[Candidate]:
    return [Candidate(r, w) for r in reg_params for w in positive_weights]


def columns(frame: pd.DataFrame) -> dict[str, list[object]]:
    """A frame's columns as lists, nulls as None (what the portable form reads)."""
    return {c: frame[c].astype(object).where(frame[c].notna(), None).tolist() for c in frame.columns}


def weights(frame: pd.DataFrame, positive_weight: float) -> np.ndarray:
    """Each row's weight: ``positive_weight`` for acceptors, times a sampling weight the rows carry."""
    base = frame[acceptance.WEIGHT].to_numpy(float) if acceptance.WEIGHT in frame else np.ones(len(frame))
    return np.where(frame[LABEL].to_numpy(float) == 1.0, base * positive_weight, base)


def logistic(config: Config) -> FitPredict:
    """The whole acceptance pipeline (medians, engineered features, one-hot, standardization, L2 logistic
    regression), fitted in memory."""
    numeric, engineered = acceptance.model_inputs(config.vocabulary, config.model.left_out_inputs)

    def fit_predict(train: pd.DataFrame, test: pd.DataFrame, candidate: Candidate) -> np.ndarray:
        fitted = portable.fit(
            columns(train), train[LABEL].to_numpy(float), weights(train, candidate.positive_weight),
            numeric, engineered, CATEGORICAL, candidate.reg_param,
        )  # fmt: skip
        return portable.probabilities(fitted, columns(test))

    return fit_predict


def boosted_trees(config: Config) -> FitPredict:
    """Baseline: gradient-boosted trees (60 rounds of depth 3) on the pipeline's inputs: does a
    non-linear model find what the linear one misses?"""
    from sklearn.ensemble import HistGradientBoostingClassifier

    numeric, engineered = acceptance.model_inputs(config.vocabulary, config.model.left_out_inputs)
    seed = config.model.seed

    def fit_predict(train: pd.DataFrame, test: pd.DataFrame, candidate: Candidate) -> np.ndarray:
        labels = train[LABEL].to_numpy(float)
        fitted = portable.fit(
            columns(train), labels, np.ones(len(train)), numeric, engineered, CATEGORICAL, 1.0
        )  # the medians and one-hot labels of the training rows
        trees = HistGradientBoostingClassifier(
            max_iter=60, max_depth=3, learning_rate=0.1, early_stopping=False, random_state=seed
        )
        trees.fit(portable.inputs(fitted, columns(train)), labels)
        return trees.predict_proba(portable.inputs(fitted, columns(test)))[:, 1]

    return fit_predict


def majority(train: pd.DataFrame, test: pd.DataFrame, candidate: Candidate) -> np.ndarray:
    """Baseline: every customer gets the training acceptance rate."""
    return np.full(len(test), float(train[LABEL].mean()))


def past_acceptance_rule(train: pd.DataFrame, test: pd.DataFrame, candidate: Candidate) -> np.ndarray:
    """Baseline: 1 for customers who accepted any past campaign, else 0."""
    return (test["campaigns_accepted"].to_numpy(float) > 0).astype(float)


def random_scores(train: pd.DataFrame, test: pd.DataFrame, candidate: Candidate) -> np.ndarray:
    """Baseline: a deterministic coin per contact (what targeting at random would earn)."""
    return _hash(test["customer_id"], int(candidate.reg_param * 1e6)) % 10_000 / 10_000.0


def compared(config: Config) -> dict[str, tuple[FitPredict, list[Candidate]]]:
    """The models every comparison runs, training and ``evaluate-crm`` alike: the acceptance pipeline with
    its hyperparameter grid first, then the baselines with a single candidate each."""
    settings = config.model
    default = [Candidate(settings.reg_param, 1.0)]
    models: dict[str, tuple[FitPredict, list[Candidate]]] = {
        MODEL: (logistic(config), candidates(settings.reg_params, settings.positive_weights)),
        "majority class": (majority, default),
        "rule: accepted a past campaign": (past_acceptance_rule, default),
    }
    if settings.tree_baseline:
        models["gradient-boosted trees"] = (boosted_trees(config), default)
    return models


def _hash(ids: pd.Series, seed: int) -> np.ndarray:
    """Spark's ``xxhash64(customer_id, seed)`` of each id (signed, as Spark orders it): the folds are the
    ones Spark drew before selection moved into memory, the same on every machine and run."""
    import struct

    import xxhash

    def one(customer_id: int) -> int:
        first = xxhash.xxh64_intdigest(struct.pack("<q", customer_id), seed=42)  # Spark's default seed
        both = xxhash.xxh64_intdigest(struct.pack("<i", seed), seed=first)
        return int(struct.unpack("<q", struct.pack("<Q", both))[0])

    return np.array([one(int(i)) for i in ids], dtype=np.int64)


def assign_folds(labelled: pd.DataFrame, k: int, seed: int, column: str = FOLD) -> pd.DataFrame:
    """Stratified, deterministic folds of customers: a customer's rows (one per campaign that contacted
    them) share one fold, never training and validation at once. Customers who ever accepted and those
    who never did are each dealt round-robin in hash order."""
    customers = labelled.groupby("customer_id", as_index=False)[LABEL].max()
    customers["_hash"] = _hash(customers["customer_id"], seed)
    customers = customers.sort_values([LABEL, "_hash", "customer_id"], kind="stable")
    customers[column] = customers.groupby(LABEL).cumcount() % k
    return labelled.merge(customers[["customer_id", column]], on="customer_id", how="inner")


def sample_customers(labelled: pd.DataFrame, share: float, seed: int) -> pd.DataFrame:
    """``share`` of the customers, every row of each, stratified: of those who ever accepted and of those
    who never did, the first ``share`` in hash order (at least one of each), so the sample accepts at about
    the whole's rate and a larger share holds every customer of a smaller one."""
    if share >= 1.0:
        return labelled
    customers = labelled.groupby("customer_id", as_index=False)[LABEL].max()
    customers["_hash"] = _hash(customers["customer_id"], seed)
    customers = customers.sort_values([LABEL, "_hash", "customer_id"], kind="stable")
    rank = customers.groupby(LABEL).cumcount()
    wanted = np.maximum(1, np.round(share * customers.groupby(LABEL)[LABEL].transform("size")))
    return labelled[labelled["customer_id"].isin(customers.loc[rank < wanted, "customer_id"])]


def out_of_fold(
    data: pd.DataFrame, k: int, fit_predict: FitPredict, candidate: Candidate, column: str
) -> pd.DataFrame:
    """Every row's probability from the model fitted on the other folds."""
    parts = []
    for fold in range(k):
        inside = data[column] == fold
        scored = data.loc[inside, ["customer_id", LABEL]].copy()
        scored["probability"] = fit_predict(data[~inside], data[inside], candidate)
        parts.append(scored)
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
    train: pd.DataFrame,
    candidates: Sequence[Candidate],
    k: int,
    seed: int,
    fit_predict: FitPredict,
    economics: Economics,
) -> Selection:
    """Choose the candidate with the best out-of-fold PR AUC on ``train`` and the profit-maximising
    threshold on its out-of-fold scores: nothing is chosen on the data the model is then judged on."""
    inner = assign_folds(train, k, seed, "_inner_fold")
    results = {c: out_of_fold(inner, k, fit_predict, c, "_inner_fold") for c in candidates}
    scores = {
        c.name: float(skm.average_precision_score(r[LABEL], r["probability"])) for c, r in results.items()
    }
    best = max(candidates, key=lambda c: (scores[c.name], -c.reg_param))
    chosen = results[best]
    threshold = choose(chosen["probability"], chosen[LABEL], economics)["balanced"].threshold
    return Selection(best, threshold, scores, chosen)


def nested_cross_validation(
    data: pd.DataFrame,
    *,
    k: int,
    inner_k: int,
    seed: int,
    candidates: Sequence[Candidate],
    fit_predict: FitPredict,
    economics: Economics,
    final: FitPredict | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per outer fold: select hyperparameters and threshold on the training folds, fit (with ``final``
    when given: the Spark ML pipeline), score the test fold. Returns (per-fold metrics, out-of-fold scores
    with each fold's threshold)."""
    folded = assign_folds(data, k, seed)
    rows, scored = [], []
    for fold in range(k):
        train, test = folded[folded[FOLD] != fold], folded[folded[FOLD] == fold]
        selection = select(train, candidates, inner_k, seed + fold + 1, fit_predict, economics)
        predictions = test[["customer_id", LABEL]].assign(
            probability=(final or fit_predict)(train, test, selection.candidate),
            fold=fold,
            threshold=selection.threshold,
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
    labelled: pd.DataFrame,
    config: Config,
    k: int,
    inner_k: int,
    progress: Callable[[str], None],
    final: FitPredict | None = None,
) -> tuple[pd.DataFrame, dict[str, dict[str, float]]]:
    """Every compared model by nested cross-validation on the same outer folds (the pipeline's outer fits
    by ``final`` when given); returns (comparison table, per-model summary)."""
    money = Economics(config.model.contact_cost, config.model.revenue_per_acceptance)
    summaries: dict[str, dict[str, float]] = {}
    for name, (fit_predict, grid) in compared(config).items():
        progress(f"{name}: {k}-fold stratified cross-validation")
        per_fold, scored = nested_cross_validation(
            labelled, k=k, inner_k=inner_k, seed=config.model.seed, candidates=grid,
            fit_predict=fit_predict, economics=money, final=final if name == MODEL else None,
            progress=progress,
        )  # fmt: skip
        summaries[name] = summarize(per_fold, scored, money)
    return pd.DataFrame(summaries).T[SUMMARY_COLUMNS], summaries


def as_text(table: pd.DataFrame) -> str:
    """A comparison table as printed: counts and money without decimals, rates to three."""
    formatters = {
        c: (lambda v: f"{v:,.0f}") if c in ("contacts", "profit") else (lambda v: f"{v:.3f}") for c in table
    }
    return table.to_string(formatters=formatters)
