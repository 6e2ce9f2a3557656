"""Figures logged to MLflow with each training run (matplotlib, no display needed), and how they are logged."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from sklearn import metrics as skm


def k_selection(silhouette: Mapping[int, float], inertia: Mapping[int, float]) -> Figure:
    """Silhouette (higher is better) and inertia (the elbow) against the number of clusters."""
    ks = sorted(silhouette)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.5))
    left.plot(ks, [silhouette[k] for k in ks], marker="o")
    left.set(title="silhouette by k", xlabel="k", ylabel="silhouette")
    right.plot(ks, [inertia[k] for k in ks], marker="o")
    right.set(title="inertia by k (elbow)", xlabel="k", ylabel="within-cluster sum of squares")
    fig.tight_layout()
    plt.close(fig)
    return fig


def classifier_report(labels: Sequence[float], probabilities: Sequence[float], threshold: float) -> Figure:
    """ROC and precision-recall curves, reliability curve, cumulative gain and lift by decile."""
    y = np.asarray(labels, dtype=float)
    p = np.asarray(probabilities, dtype=float)
    fig, axes = plt.subplots(1, 4, figsize=(18, 4))
    fpr, tpr, _ = skm.roc_curve(y, p)
    axes[0].plot(fpr, tpr)
    axes[0].plot([0, 1], [0, 1], linestyle=":")
    axes[0].set(
        title=f"ROC (AUC {skm.roc_auc_score(y, p):.3f})",
        xlabel="false positive rate",
        ylabel="true positive rate",
    )
    precision, recall, _ = skm.precision_recall_curve(y, p)
    axes[1].plot(recall, precision)
    axes[1].axhline(y.mean(), linestyle=":")
    axes[1].set(
        title=f"precision-recall (AP {skm.average_precision_score(y, p):.3f})",
        xlabel="recall",
        ylabel="precision",
    )
    order = np.argsort(-p)
    bins = np.array_split(order, 10)
    predicted = [p[b].mean() for b in bins]
    observed = [y[b].mean() for b in bins]
    axes[2].plot(predicted, observed, marker="o")
    axes[2].plot([0, 1], [0, 1], linestyle=":")
    axes[2].set(
        title=f"reliability (Brier {skm.brier_score_loss(y, np.clip(p, 0, 1)):.3f})",
        xlabel="mean predicted",
        ylabel="observed rate",
    )
    gain = np.cumsum([y[b].sum() for b in bins]) / max(y.sum(), 1)
    deciles = np.arange(1, 11)
    axes[3].bar(deciles, [y[b].mean() / max(y.mean(), 1e-9) for b in bins], alpha=0.4, label="lift")
    axes[3].plot(deciles, gain * 10, marker="o", label="cumulative gain (x10%)")
    axes[3].set(
        title=f"lift and gain by decile (threshold {threshold:.2f})", xlabel="decile (1 = highest scores)"
    )
    axes[3].legend()
    fig.tight_layout()
    plt.close(fig)
    return fig


def lift_table(labels: Sequence[float], probabilities: Sequence[float]) -> dict[str, list[float]]:
    """Per score decile: mean predicted probability and observed acceptance rate (the reliability curve),
    lift over the average, cumulative share of acceptors (the gain curve)."""
    y = np.asarray(labels, dtype=float)
    p = np.asarray(probabilities, dtype=float)
    order = np.argsort(-p)
    bins = np.array_split(order, 10)
    rate = [float(y[b].mean()) if len(b) else 0.0 for b in bins]
    base = float(y.mean()) or 1.0
    gain = np.cumsum([y[b].sum() for b in bins]) / max(float(y.sum()), 1.0)
    return {
        "decile": list(range(1, 11)),
        "acceptance_rate": rate,
        "lift": [r / base for r in rate],
        "cumulative_gain": [float(g) for g in gain],
    }


def per_campaign(values: Mapping[str, Mapping[str, float]], metrics: Sequence[str]) -> Figure:
    """One panel per metric: each model's value on each judged campaign (``values[model][f"{campaign}:{metric}"]``)."""
    fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 3.5), squeeze=False)
    for axis, metric in zip(axes[0], metrics, strict=True):
        for model, by_key in values.items():
            campaigns = [k.rsplit(":", 1)[0] for k in by_key if k.endswith(f":{metric}")]
            axis.plot(campaigns, [by_key[f"{c}:{metric}"] for c in campaigns], marker="o", label=model)
        axis.set(title=f"{metric} by judged campaign", xlabel="campaign", ylabel=metric)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    plt.close(fig)
    return fig


def log_k_selection(view: str, fits: Mapping[int, Mapping[str, float]], best_k: int) -> None:
    """Per k of a clustering view: its metrics (stepped by k), the elbow figure, and the chosen k."""
    import mlflow

    for k, metrics in fits.items():
        mlflow.log_metrics({f"{view}_{m}": v for m, v in metrics.items()}, step=k)
    silhouette = {k: m["silhouette"] for k, m in fits.items()}
    mlflow.log_figure(
        k_selection(silhouette, {k: m["inertia"] for k, m in fits.items()}), f"{view}_k_selection.png"
    )
    mlflow.log_metrics({f"{view}_k": best_k, f"{view}_best_silhouette": silhouette[best_k]})


def log_classifier(
    labels: Sequence[float], scores: Sequence[float], threshold: float, metrics: Mapping[str, float]
) -> None:
    """A classifier's holdout metrics, its report figure (ROC, PR, reliability, lift, gain) and lift table."""
    import mlflow

    mlflow.log_metrics(dict(metrics))
    mlflow.log_figure(classifier_report(labels, scores, threshold), "holdout_report.png")
    mlflow.log_dict(lift_table(labels, scores), "holdout_lift.json")
