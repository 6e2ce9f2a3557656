"""What the run summary shows: the most likely acceptors, segment sizes, and the models' figures."""

from __future__ import annotations

from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from gold import acceptance_training, segmentation


def most_likely(marketing: DataFrame) -> DataFrame:
    """gold.customer_marketing rows, highest acceptance probability first, in the summary's columns."""
    rounded = [F.round(c, 3).alias(c) for c in ("acceptance_probability", "expected_profit")]
    ranked = marketing.orderBy(F.col("acceptance_probability").desc(), "customer_id")
    return ranked.select("customer_id", "segment_name", *rounded, "decile", "contact_balanced")


def segment_sizes(marketing: DataFrame) -> DataFrame:
    """Customers and mean acceptance probability per segment."""
    sizes = [
        F.count(F.lit(1)).alias("customers"),
        F.round(F.avg("acceptance_probability"), 3).alias("mean_acceptance"),
    ]
    return marketing.groupBy("segment_id", "segment_name").agg(*sizes).orderBy("segment_id")


def models_lines(report: dict[str, Any]) -> list[str]:
    """The models' figures and the drift verdict, from the run's report."""
    models, nan, lines = report.get("models", {}), float("nan"), []
    if acc := models.get(acceptance_training.MODEL_NAME):
        m = acc.get("metrics", {})
        lines.append(
            f"Acceptance model {acceptance_training.MODEL_NAME} v{acc['version']}{' (reused)' if acc.get('reused') else ''}: "
            f"ROC AUC {m.get('roc_auc', nan):.3f}, PR AUC {m.get('pr_auc', nan):.3f} on {int(m.get('holdout_rows', 0))} "
            f"held-out contacts ({acc.get('holdout') or 'a'} holdout; acceptance rate "
            f"{m.get('holdout_acceptance_rate', nan):.1%}), trained on campaigns {acc.get('campaigns') or '?'}, "
            f"profit {m.get('profit', nan):,.0f} at the balanced threshold"
        )
    champion = report.get("champion_flags", {}).get(acceptance_training.MODEL_NAME) or {}
    if champion.get("flags"):
        lines.append(
            f"FLAGGED: the acceptance champion v{champion['version']} on its holdout: "
            f"{'; '.join(champion['flags'])} (it still scores; see ops.model_promotions)"
        )
    if refused := report.get("refused", {}).get("deliveries"):
        lines.append(f"REFUSED deliveries still in the landing zone ({len(refused)}): " + "; ".join(refused))
    if (flagged := report.get("drift", {}).get("flagged")) is not None:
        verdict = f"FLAGGED {', '.join(flagged)} (see ops.feature_drift)" if flagged else "no feature flagged"
        lines.append(f"Drift since the champion's training population: {verdict}")
    if seg := models.get(segmentation.MODEL_NAME):
        m = seg.get("metrics", {})
        lines.append(
            f"Segmentation model {segmentation.MODEL_NAME} v{seg['version']}: value view k={int(m.get('value_k', 0))} "
            f"(silhouette {m.get('value_best_silhouette', nan):.3f}), taste view k={int(m.get('taste_k', 0))} "
            f"(silhouette {m.get('taste_best_silhouette', nan):.3f})"
        )
    return lines
