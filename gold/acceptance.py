"""The campaign-acceptance model: a Spark ML LogisticRegression pipeline and its training set.

Trained on the last completed campaign: features as of that campaign's contact date (events strictly
before it), label = the customer accepted. Scoring applies it to features as of the run date.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml.classification import GBTClassifier, LogisticRegression
from pyspark.ml.feature import (
    Imputer,
    OneHotEncoder,
    SQLTransformer,
    StandardScaler,
    StringIndexer,
    VectorAssembler,
)
from pyspark.ml.functions import vector_to_array
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from gold.customer_features import CATEGORICAL, numeric_columns, orders_column, spend_column
from pipelines.config import ConfigError, Vocabulary

LABEL = "label"
WEIGHT = "weight"
PROBABILITY = "acceptance_probability"
FEATURES_VECTOR = "acceptance_features"
RAW_VECTOR = "acceptance_raw"


def training_set(features: DataFrame, responses: DataFrame, campaign_id: str) -> DataFrame:
    """Features as of the campaign's contact date joined to its responses (label 1.0 = accepted)."""
    responses = responses.where(F.col("campaign_id") == campaign_id).select(
        "customer_id", F.col("accepted").cast("double").alias(LABEL)
    )
    return features.join(responses, "customer_id", how="inner")


def pooled_training_set(features: DataFrame, responses: DataFrame, campaign_ids: Sequence[str]) -> DataFrame:
    """One row per contact of the campaigns: the customer's features as of that campaign's contact date,
    the campaign and the label (1.0 = accepted). A customer contacted twice is two rows of one group."""
    contacts = responses.where(F.col("campaign_id").isin(*campaign_ids)).select(
        "customer_id",
        F.col("features_as_of").alias("as_of_date"),
        "campaign_id",
        F.col("accepted").cast("double").alias(LABEL),
    )
    return features.join(contacts, ["customer_id", "as_of_date"], how="inner")


def in_holdout(fraction: float, seed: int) -> Column:
    """A deterministic split by customer id: the same customers are held out on every rerun."""
    buckets = 10_000
    return F.pmod(F.xxhash64(F.col("customer_id"), F.lit(seed)), F.lit(buckets)) < F.lit(
        int(fraction * buckets)
    )


@dataclass(frozen=True)
class Derived:
    """An engineered input: one of a few operations on gold feature columns. Spark evaluates its SQL in the
    pipeline; ``gold.portable`` evaluates the same operation with NumPy (a null is NaN there): one
    definition, the same values."""

    op: str
    args: tuple[str, ...]

    def sql(self) -> str:
        return DERIVED_SQL[self.op].format(*self.args)

    def evaluate(self, columns: Mapping[str, np.ndarray]) -> np.ndarray:
        return DERIVED_NUMPY[self.op](*(columns[a] for a in self.args))


# Spark's greatest() skips nulls, as np.fmax skips NaN; every denominator is at least 1
DERIVED_SQL = {
    "share": "{0} / greatest({1}, 1)",
    "log1p": "ln(1 + greatest({0}, 0))",
    "log": "ln(greatest({0}, 1))",
    "sum": "{0} + {1}",
    "product": "{0} * {1}",
    "positive": "CAST({0} > 0 AS DOUBLE)",
    "per_one_more": "{0} / ({1} + 1)",
}
DERIVED_NUMPY: dict[str, Callable[..., np.ndarray]] = {
    "share": lambda a, b: a / np.fmax(b, 1.0),
    "log1p": lambda a: np.log(1.0 + np.fmax(a, 0.0)),
    "log": lambda a: np.log(np.fmax(a, 1.0)),
    "sum": np.add,
    "product": np.multiply,
    "positive": lambda a: np.where(np.isnan(a), np.nan, np.greater(np.nan_to_num(a), 0.0).astype(float)),
    "per_one_more": lambda a, b: a / (b + 1.0),
}


def engineered_features(vocabulary: Vocabulary) -> dict[str, Derived]:
    """Ratios, logs and interactions of the gold features: the linear model's view of spend mix,
    purchasing habits and campaign history."""
    spend = [spend_column(c) for c in vocabulary.categories]
    engineered = {f"share_{c}": Derived("share", (c, "spend_total")) for c in spend}
    engineered |= {f"log_{c}": Derived("log1p", (c,)) for c in [*spend, "spend_total"]}
    engineered |= {
        f"share_{orders_column(c)}": Derived("share", (orders_column(c), "orders_total"))
        for c in vocabulary.channels
    }
    engineered |= {
        "log_income": Derived("log", ("income",)),
        "spend_per_order": Derived("share", ("spend_total", "orders_total")),
        "deal_share": Derived("share", ("deal_orders", "orders_total")),
        "kids_total": Derived("sum", ("kids_at_home", "teens_at_home")),
        "accepted_any": Derived("positive", ("campaigns_accepted",)),
        "recency_x_accepted": Derived("product", ("recency_days", "campaigns_accepted")),
    }
    if "web" in vocabulary.channels:
        engineered["visits_per_web_order"] = Derived("per_one_more", ("web_visits_30d", orders_column("web")))
    return engineered


def class_weights(labelled: DataFrame, positive_weight: float) -> DataFrame:
    """A ``weight`` column: ``positive_weight`` for acceptors, 1 for the others (times a sampling weight
    the rows already carry, when refusals were downsampled)."""
    base = F.col(WEIGHT) if WEIGHT in labelled.columns else F.lit(1.0)
    return labelled.withColumn(WEIGHT, F.when(F.col(LABEL) == 1.0, base * positive_weight).otherwise(base))


def model_inputs(
    vocabulary: Vocabulary, left_out: Sequence[str] = ()
) -> tuple[list[str], dict[str, Derived]]:
    """The model's numeric inputs and engineered inputs, without ``left_out`` and what derives from it."""
    gone = set(left_out)
    unknown = sorted(gone - {*numeric_columns(vocabulary), *engineered_features(vocabulary)})
    if unknown:
        raise ConfigError(
            f"model.left_out_inputs names {unknown}, which are not inputs of the acceptance model"
        )
    numeric = [c for c in numeric_columns(vocabulary) if c not in gone]
    engineered = {
        name: d
        for name, d in engineered_features(vocabulary).items()
        if name not in gone and not gone & set(d.args)
    }
    return numeric, engineered


def imputed(column: str) -> str:
    return f"{column}_imputed"


def build_pipeline(
    numeric: Sequence[str],
    seed: int,
    reg_param: float = 0.01,
    *,
    engineered: Mapping[str, Derived] | None = None,
    weighted: bool = False,
    estimator: str = "logistic",
) -> Pipeline:
    """Impute the numeric inputs (medians of the data it is fitted on), derive the engineered inputs from
    the imputed ones (a missing input is filled before anything is derived from it), one-hot encode,
    assemble, standardize, then LogisticRegression (``estimator="gbt"``: gradient-boosted trees, a
    baseline)."""
    engineered = dict(engineered or {})
    indexed = [f"{c}_index" for c in CATEGORICAL]
    encoded = [f"{c}_onehot" for c in CATEGORICAL]
    derived = ", ".join(
        f"CAST({Derived(d.op, tuple(imputed(a) for a in d.args)).sql()} AS DOUBLE) AS {name}"
        for name, d in engineered.items()
    )
    stages = [
        Imputer(inputCols=list(numeric), outputCols=[imputed(c) for c in numeric], strategy="median"),
        SQLTransformer(statement=f"SELECT *{', ' + derived if derived else ''} FROM __THIS__"),
        StringIndexer(
            inputCols=list(CATEGORICAL),
            outputCols=indexed,
            handleInvalid="keep",
            stringOrderType="alphabetAsc",
        ),
        OneHotEncoder(inputCols=indexed, outputCols=encoded, handleInvalid="keep"),
        VectorAssembler(
            inputCols=[*[imputed(c) for c in numeric], *engineered, *encoded], outputCol=RAW_VECTOR
        ),
        StandardScaler(inputCol=RAW_VECTOR, outputCol=FEATURES_VECTOR, withMean=True, withStd=True),
    ]
    if estimator == "gbt":
        stages.append(
            GBTClassifier(
                featuresCol=FEATURES_VECTOR, labelCol=LABEL, maxIter=60, maxDepth=3, stepSize=0.1, seed=seed
            )
        )
    elif estimator == "logistic":
        stages.append(
            LogisticRegression(
                featuresCol=FEATURES_VECTOR,
                labelCol=LABEL,
                regParam=reg_param,
                elasticNetParam=0.0,
                maxIter=200,
                **({"weightCol": WEIGHT} if weighted else {}),
            )
        )
    else:
        raise ValueError(f"estimator must be 'logistic' or 'gbt', not {estimator!r}")
    return Pipeline(stages=stages)


def prepare(features: DataFrame, numeric: Sequence[str]) -> DataFrame:
    """Numeric inputs as doubles (the Imputer needs floating columns)."""
    return features.withColumns({c: F.col(c).cast("double") for c in numeric})


def probabilities(predictions: DataFrame) -> DataFrame:
    """The model's output with the probability of accepting as a plain double column."""
    return predictions.withColumn(PROBABILITY, vector_to_array("probability")[1])


def score(model: PipelineModel, features: DataFrame, numeric: Sequence[str]) -> DataFrame:
    """customer_id and the probability of accepting, as a plain double."""
    return probabilities(model.transform(prepare(features, numeric))).select("customer_id", PROBABILITY)


# Inputs that move because time passes, not because customers changed: drift leaves them out, or
# compares them as a rate.
DRIFT_LEFT_OUT = {
    "tenure_days": "grows by a day every day",
    "age_years": "grows by a year every year",
    "campaigns_contacted": "grows with every campaign",
    "campaigns_accepted": "compared as campaign_acceptance_rate (accepted / contacted)",
}


def population(features: DataFrame, scores: DataFrame, numeric: Sequence[str]) -> DataFrame:
    """Per customer, the model's numeric inputs that do not grow with time, the campaign acceptance rate and
    the score: what drift compares between two populations."""
    rate = F.col("campaigns_accepted") / F.greatest(F.col("campaigns_contacted"), F.lit(1))
    kept = [c for c in numeric if c not in DRIFT_LEFT_OUT]
    rows = prepare(features, numeric).join(scores, "customer_id")
    return rows.select(*kept, rate.cast("double").alias("campaign_acceptance_rate"), PROBABILITY)
