"""The acceptance champion without a JVM: its fitted numbers as plain JSON, evaluated with NumPy.

``export`` reads a fitted acceptance pipeline (imputer medians, engineered features derived from the filled
inputs, indexer labels, one-hot widths, scaler mean and deviation, coefficients and intercept, each input's
training range) into a dict that ``json.dumps`` writes;
``probabilities`` and ``reasons`` evaluate it on plain columns (a null is NaN or None). The values equal
Spark's to rounding (tested on every customer of a generated lakehouse).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from pyspark.ml import PipelineModel

from gold.acceptance import Derived

# 2: missing numeric inputs are filled with the medians before the engineered inputs are derived from them
# (1: derived first, then each filled with its own median; still read)
FORMAT = 2


def export(
    model: PipelineModel,
    numeric: Sequence[str],
    engineered: Mapping[str, Derived],
    ranges: Mapping[str, tuple[float, float]] | None = None,
    left_out: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The fitted acceptance pipeline as plain numbers and names; ``ranges``: each input's training range
    (values outside it are answered with a warning); ``left_out``: the inputs the model does not use, and
    why."""
    imputer, _, indexer, encoder, _, scaler, estimator = model.stages
    surrogate = imputer.surrogateDF.collect()[0].asDict()
    keep = int(encoder.getHandleInvalid() == "keep")
    widths = [size + keep - int(encoder.getDropLast()) for size in encoder.categorySizes]
    names = [*numeric, *engineered]
    return {
        "format": FORMAT,
        "numeric": list(numeric),
        "engineered": {name: {"op": d.op, "args": list(d.args)} for name, d in engineered.items()},
        "medians": {c: float(surrogate[c]) for c in imputer.getInputCols()},
        "categorical": {
            c: {"labels": list(labels), "width": width}
            for c, labels, width in zip(indexer.getInputCols(), indexer.labelsArray, widths, strict=True)
        },
        "inputs": _input_names(names, indexer.getInputCols(), indexer.labelsArray, widths),
        "ranges": {c: [float(lo), float(hi)] for c, (lo, hi) in (ranges or {}).items()},
        "left_out": dict(left_out or {}),
        "mean": scaler.mean.toArray().tolist(),
        "std": scaler.std.toArray().tolist(),
        "coefficients": estimator.coefficients.toArray().tolist(),
        "intercept": float(estimator.intercept),
    }


def _input_names(
    numeric: Sequence[str], categorical: Sequence[str], labels: Sequence[Sequence[str]], widths: Sequence[int]
) -> list[str]:
    names = list(numeric)
    for column, known, width in zip(categorical, labels, widths, strict=True):
        names += [f"{column} = {known[i]}" if i < len(known) else f"{column} unknown" for i in range(width)]
    return names


def numbers(exported: Mapping[str, Any], rows: Mapping[str, Sequence[Any]]) -> dict[str, np.ndarray]:
    """The numeric and engineered inputs, in the model's order, as the pipeline computes them: a missing
    number is its training median, and every engineered input is derived from the filled numbers."""
    medians = exported["medians"]
    columns = {c: np.asarray(rows[c], dtype=float) for c in exported["numeric"]}
    filled_first = exported.get("format", 1) >= 2
    if filled_first:
        columns = {c: np.where(np.isnan(v), medians[c], v) for c, v in columns.items()}
    for name, spec in exported["engineered"].items():
        columns[name] = Derived(spec["op"], tuple(spec["args"])).evaluate(columns)
    if filled_first:
        return {c: columns[c] for c in [*exported["numeric"], *exported["engineered"]]}
    return {c: np.where(np.isnan(columns[c]), median, columns[c]) for c, median in medians.items()}


def reference(exported: Mapping[str, Any]) -> dict[str, float]:
    """Each numeric input's value for a customer whose every number is the median: the medians, and the
    engineered inputs derived from them (an older export: each one's own median)."""
    at_medians = numbers(exported, {c: [m] for c, m in exported["medians"].items()})
    return {c: float(v[0]) for c, v in at_medians.items()}


def inputs(exported: Mapping[str, Any], rows: Mapping[str, Sequence[Any]]) -> np.ndarray:
    """The input matrix as the scaler sees it: the filled and derived numbers, one-hot categories."""
    parts = list(numbers(exported, rows).values())
    for column, spec in exported["categorical"].items():
        index = {label: i for i, label in enumerate(spec["labels"])}
        positions = np.array([index.get(v, len(spec["labels"])) for v in rows[column]])
        block = np.zeros((len(positions), spec["width"]))
        inside = positions < spec["width"]
        block[np.flatnonzero(inside), positions[inside]] = 1.0
        parts.extend(block.T)
    return np.column_stack(parts)


def out_of_range(exported: Mapping[str, Any], rows: Mapping[str, Sequence[Any]]) -> list[list[str]]:
    """Per customer, a warning for every numeric or engineered input outside the range it took in
    training (an answer there is an extrapolation)."""
    ranges = exported.get("ranges") or {}
    found = numbers(exported, rows)
    count = len(next(iter(found.values()))) if found else 0
    warnings: list[list[str]] = [[] for _ in range(count)]
    for column, (low, high) in ranges.items():
        values = found.get(column)
        if values is None:
            continue
        derived = column in exported["engineered"]
        for i in np.flatnonzero((values < low) | (values > high)):
            side = "below" if values[i] < low else "above"
            origin = " (derived from the inputs given and the medians)" if derived else ""
            warnings[i].append(
                f"{column} {values[i]:.4g}{origin} is {side} the training range {low:.4g} to {high:.4g}"
            )
    return warnings


def _scaled(exported: Mapping[str, Any], x: np.ndarray) -> np.ndarray:
    mean, std = np.asarray(exported["mean"]), np.asarray(exported["std"])
    return np.where(std > 0, (x - mean) / np.where(std > 0, std, 1.0), 0.0)


def standardized(exported: Mapping[str, Any], rows: Mapping[str, Sequence[Any]]) -> np.ndarray:
    """The standardized input matrix (one row per customer) the coefficients apply to."""
    return _scaled(exported, inputs(exported, rows))


def probabilities(exported: Mapping[str, Any], rows: Mapping[str, Sequence[Any]]) -> np.ndarray:
    """Each customer's probability of accepting."""
    z = standardized(exported, rows) @ np.asarray(exported["coefficients"]) + exported["intercept"]
    return 1.0 / (1.0 + np.exp(-z))


def reasons(exported: Mapping[str, Any], rows: Mapping[str, Sequence[Any]], top: int = 3) -> list[list[str]]:
    """Per customer, the ``top`` inputs that raise the odds of accepting most (coefficient x standardized
    value, a log-odds contribution), in words: "recency_days 12 (median 49) multiplies the odds by 1.85"."""
    x = inputs(exported, rows)
    contributions = _scaled(exported, x) * np.asarray(exported["coefficients"])
    names, medians = exported["inputs"], list(reference(exported).values())
    order = np.argsort(-contributions, axis=1)[:, :top]

    def said(i: int, j: int) -> str:
        factor = f"multiplies the odds by {np.exp(contributions[i, j]):.2f}"
        if j >= len(medians):  # a category: "marital_status = Single" or, when it is not, "... is not ..."
            return f"{names[j] if x[i, j] else names[j].replace(' = ', ' is not ', 1)} {factor}"
        typical = "median" if names[j] in exported["medians"] else "at the medians"
        return f"{names[j]} {x[i, j]:.4g} ({typical} {medians[j]:.4g}) {factor}"

    return [[said(i, j) for j in row if contributions[i, j] > 0] for i, row in enumerate(order)]


def _lower_median(values: np.ndarray) -> float:
    """The median as Spark's Imputer takes it (a value of the column: the lower one of an even count),
    nulls left out; NaN for a column without a value."""
    present = values[~np.isnan(values)]
    return float(np.quantile(present, 0.5, method="inverted_cdf")) if present.size else float("nan")


def fit(
    rows: Mapping[str, Sequence[Any]],
    labels: np.ndarray,
    weights: np.ndarray,
    numeric: Sequence[str],
    engineered: Mapping[str, Derived],
    categorical: Sequence[str],
    reg_param: float,
) -> dict[str, Any]:
    """The acceptance pipeline fitted with NumPy and scikit-learn on rows in memory: the same medians,
    one-hot labels, standardization and L2-penalized logistic loss as its Spark ML fit (``export`` of that
    fit and this one score alike, tested), for the many small fits of model selection."""
    from sklearn.linear_model import LogisticRegression

    fitted: dict[str, Any] = {
        "format": FORMAT,
        "numeric": list(numeric),
        "engineered": {name: {"op": d.op, "args": list(d.args)} for name, d in engineered.items()},
        "medians": {c: _lower_median(np.asarray(rows[c], dtype=float)) for c in numeric},
        "categorical": {},
    }
    for column in categorical:
        labels_seen = sorted({v for v in rows[column] if isinstance(v, str)})
        # Spark's one-hot of an indexer keeping unknown values: a column per label, and one for the unknown
        fitted["categorical"][column] = {"labels": labels_seen, "width": len(labels_seen) + 1}
    x = inputs(fitted, rows)
    fitted["mean"] = x.mean(axis=0).tolist()
    fitted["std"] = (x.std(axis=0, ddof=1) if len(x) > 1 else np.zeros(x.shape[1])).tolist()
    z = _scaled(fitted, x)
    # Spark's logistic regression standardizes its inputs again, by their weighted deviation, and
    # penalizes the coefficients of the standardized inputs: (1/W) sum(w * loss) + reg/2 * |b|^2
    total = weights.sum()
    centred = z - (weights @ z) / total
    deviation = np.sqrt(np.maximum((weights @ centred**2) / (total - (weights**2).sum() / total), 0.0))
    used = deviation > 0
    model = LogisticRegression(
        C=1.0 / (reg_param * total) if reg_param > 0 else np.inf, tol=1e-10, max_iter=1000
    )
    model.fit(z[:, used] / deviation[used], labels, sample_weight=weights)
    coefficients = np.zeros(z.shape[1])
    coefficients[used] = model.coef_[0] / deviation[used]
    fitted["coefficients"] = coefficients.tolist()
    fitted["intercept"] = float(model.intercept_[0])
    fitted["inputs"] = _input_names(
        [*numeric, *engineered],
        list(categorical),
        [fitted["categorical"][c]["labels"] for c in categorical],
        [fitted["categorical"][c]["width"] for c in categorical],
    )
    return fitted
