"""ops.feature_drift: one row per (run_id, feature): how far the scored population has moved from the
population the champion model was trained on (population stability index and Kolmogorov-Smirnov statistic),
features and score alike."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from pipelines.contract import Contract
from pipelines.declare import Table

SCORE = "acceptance_probability"

CONTRACT = Contract(
    name="ops.feature_drift",
    ddl=(
        "run_id STRING NOT NULL, as_of_date DATE NOT NULL, model_version STRING NOT NULL, "
        "reference_as_of DATE NOT NULL, feature STRING NOT NULL, psi DOUBLE, ks DOUBLE, reference_mean DOUBLE, "
        "current_mean DOUBLE, reference_rows BIGINT NOT NULL, current_rows BIGINT NOT NULL, "
        "flagged BOOLEAN NOT NULL"
    ),
    grain="one row per scoring run and feature (plus the score itself)",
    primary_key=("run_id", "feature"),
    comments={
        "model_version": "the champion that scored",
        "reference_as_of": "the champion's training date: every customer's features then are the reference",
        "feature": f"a model input (time-driven counts left out or as rates), or {SCORE} for the score",
        "psi": "population stability index over the reference's deciles (< 0.1 stable, > 0.25 shifted)",
        "ks": "Kolmogorov-Smirnov statistic: the largest gap between the two cumulative distributions",
        "flagged": "psi or ks above the configured thresholds",
    },
)


def psi(reference: Sequence[float], current: Sequence[float], bins: int = 10) -> float | None:
    """Population stability index over the reference's quantile bins (nulls left out); None if either side
    is empty. Each bin's share is floored at 1e-4 so an empty bin does not give an infinite index."""
    ref = _clean(reference)
    cur = _clean(current)
    if ref.size == 0 or cur.size == 0:
        return None
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, bins + 1)[1:-1]))
    ref_share = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=edges.size + 1) / ref.size
    cur_share = np.bincount(np.searchsorted(edges, cur, side="right"), minlength=edges.size + 1) / cur.size
    ref_share, cur_share = np.maximum(ref_share, 1e-4), np.maximum(cur_share, 1e-4)
    return float(np.sum((cur_share - ref_share) * np.log(cur_share / ref_share)))


def ks(reference: Sequence[float], current: Sequence[float]) -> float | None:
    """The two-sample Kolmogorov-Smirnov statistic; None if either side is empty."""
    ref = np.sort(_clean(reference))
    cur = np.sort(_clean(current))
    if ref.size == 0 or cur.size == 0:
        return None
    values = np.concatenate([ref, cur])
    gap = (
        np.searchsorted(ref, values, side="right") / ref.size
        - np.searchsorted(cur, values, side="right") / cur.size
    )
    return float(np.max(np.abs(gap)))


def _clean(values: Sequence[float]) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    return array[~np.isnan(array)]


def rows(
    reference: dict[str, Sequence[float]],
    current: dict[str, Sequence[float]],
    psi_threshold: float,
    ks_threshold: float,
) -> list[dict[str, Any]]:
    """One drift row per column present on both sides."""
    out = []
    for name in reference:
        if name not in current:
            continue
        p, k = psi(reference[name], current[name]), ks(reference[name], current[name])
        ref, cur = _clean(reference[name]), _clean(current[name])
        out.append(
            {
                "feature": name,
                "psi": p,
                "ks": k,
                "reference_mean": float(ref.mean()) if ref.size else None,
                "current_mean": float(cur.mean()) if cur.size else None,
                "reference_rows": len(reference[name]),
                "current_rows": len(current[name]),
                "flagged": bool(
                    (p is not None and p > psi_threshold) or (k is not None and k > ks_threshold)
                ),
            }
        )
    return out


def compare(
    reference: Mapping[str, Sequence[float]],
    current: Mapping[str, Sequence[float]],
    keys: Mapping[str, Any],
    psi_threshold: float,
    ks_threshold: float,
) -> list[tuple[Any, ...]]:
    """The table's rows for one scoring run: ``keys`` (run_id, as_of_date, model_version, reference_as_of)
    and one drift row per column present in both populations, in contract order."""
    drift = rows(dict(reference), dict(current), psi_threshold, ks_threshold)
    return [tuple({**keys, **r}[c] for c in CONTRACT.columns) for r in drift]


def flagged(table_rows: Sequence[tuple[Any, ...]]) -> list[str]:
    """The features that ``compare``'s rows flag."""
    feature, flag = CONTRACT.columns.index("feature"), CONTRACT.columns.index("flagged")
    return [r[feature] for r in table_rows if r[flag]]


TABLE = Table(
    CONTRACT,
    stage="score",
    write="replace",
    description="PSI and KS of every feature and of the score against the customers of the champion's training date",
)
