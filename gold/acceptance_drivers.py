"""gold.acceptance_drivers: one row per (model_version, feature): the acceptance model's standardized
coefficients, so marketing can see what drives acceptance."""

from __future__ import annotations

import math
from collections.abc import Sequence

from pipelines.contract import Contract

CONTRACT = Contract(
    name="gold.acceptance_drivers",
    ddl=(
        "model_version STRING NOT NULL, feature STRING NOT NULL, coefficient DOUBLE NOT NULL, "
        "odds_ratio_per_sd DOUBLE NOT NULL, importance_rank INT NOT NULL, trained_as_of DATE NOT NULL"
    ),
    grain="one row per registered acceptance model version and input feature",
    primary_key=("model_version", "feature"),
    comments={
        "feature": "model input after imputation and one-hot encoding (standardized before the model)",
        "coefficient": "logistic-regression coefficient per standard deviation of the feature",
        "odds_ratio_per_sd": "how the odds of accepting multiply when the feature rises one standard deviation",
        "importance_rank": "1 = the largest absolute coefficient",
        "trained_as_of": "the run date of the training",
    },
)


def rows(names: Sequence[str], coefficients: Sequence[float]) -> list[tuple[str, float, float, int]]:
    """(feature, coefficient, odds ratio, rank by |coefficient|) for each input of the model."""
    if len(names) != len(coefficients):
        raise ValueError(f"{len(names)} feature names for {len(coefficients)} coefficients")
    order = sorted(range(len(names)), key=lambda i: -abs(coefficients[i]))
    rank = {i: r + 1 for r, i in enumerate(order)}
    return [
        (n, float(c), math.exp(c), rank[i]) for i, (n, c) in enumerate(zip(names, coefficients, strict=True))
    ]
