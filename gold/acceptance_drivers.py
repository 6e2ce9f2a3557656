"""gold.acceptance_drivers: one row per (model_version, feature): the acceptance model's standardized
coefficients, so marketing can see what drives acceptance."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date

from pyspark.ml import PipelineModel
from pyspark.sql import DataFrame

from gold import acceptance
from pipelines.config import Vocabulary
from pipelines.contract import Contract
from pipelines.declare import Table
from pipelines.quality import Check, unique

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


def input_names(model: PipelineModel, sample: DataFrame) -> list[str]:
    """The acceptance pipeline's model inputs in coefficient order, named after the features they come from:
    the assembled (pre-scaling) vector carries the names, and scaling keeps their order."""
    vector = model.transform(sample.limit(1)).schema[acceptance.RAW_VECTOR]
    attrs = vector.metadata["ml_attr"]["attrs"]
    ordered = sorted((a for group in attrs.values() for a in group), key=lambda a: a["idx"])
    return [a["name"].removesuffix("_imputed").replace("_onehot_", "=") for a in ordered]


def from_model(model: PipelineModel, sample: DataFrame) -> list[tuple[str, float, float, int]]:
    """``rows`` for a fitted acceptance pipeline (``sample``: any rows it can transform)."""
    return rows(input_names(model, sample), list(model.stages[-1].coefficients))


def table_rows(
    version: str, drivers: Sequence[tuple[str, float, float, int]], trained_as_of: date
) -> list[tuple[str, str, float, float, int, date]]:
    """``rows`` of one registered version as rows of the table, in contract order."""
    return [(version, n, c, o, r, trained_as_of) for n, c, o, r in drivers]


def checks(vocabulary: Vocabulary) -> list[Check]:
    return [unique("model_version", "feature")]


TABLE = Table(
    CONTRACT,
    stage="train",
    write="merge",
    checks=checks,
    description="written when an acceptance model version is registered",
)
