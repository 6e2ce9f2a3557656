"""The campaign-acceptance model: a Spark ML LogisticRegression pipeline and its training set.

Trained on the last completed campaign: features as of that campaign's contact date (events strictly
before it), label = the customer accepted. Scoring applies it to features as of the run date.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml.classification import LogisticRegression
from pyspark.ml.feature import Imputer, OneHotEncoder, StandardScaler, StringIndexer, VectorAssembler
from pyspark.ml.functions import vector_to_array
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from gold.customer_features import CATEGORICAL

LABEL = "label"
PROBABILITY = "acceptance_probability"


def training_set(features: DataFrame, responses: DataFrame, campaign_id: str) -> DataFrame:
    """Features as of the campaign's contact date joined to its responses (label 1.0 = accepted)."""
    responses = responses.where(F.col("campaign_id") == campaign_id).select(
        "customer_id", F.col("accepted").cast("double").alias(LABEL)
    )
    return features.join(responses, "customer_id", how="inner")


def in_holdout(fraction: float, seed: int) -> Column:
    """A deterministic split by customer id: the same customers are held out on every rerun."""
    buckets = 10_000
    return F.pmod(F.xxhash64(F.col("customer_id"), F.lit(seed)), F.lit(buckets)) < F.lit(
        int(fraction * buckets)
    )


def build_pipeline(numeric: Sequence[str], seed: int, reg_param: float = 0.01) -> Pipeline:
    """Impute, one-hot encode, assemble, standardize, then LogisticRegression."""
    imputed = [f"{c}_imputed" for c in numeric]
    indexed = [f"{c}_index" for c in CATEGORICAL]
    encoded = [f"{c}_onehot" for c in CATEGORICAL]
    return Pipeline(
        stages=[
            Imputer(inputCols=list(numeric), outputCols=imputed, strategy="median"),
            StringIndexer(
                inputCols=list(CATEGORICAL),
                outputCols=indexed,
                handleInvalid="keep",
                stringOrderType="alphabetAsc",
            ),
            OneHotEncoder(inputCols=indexed, outputCols=encoded, handleInvalid="keep"),
            VectorAssembler(inputCols=[*imputed, *encoded], outputCol="acceptance_raw"),
            StandardScaler(
                inputCol="acceptance_raw", outputCol="acceptance_features", withMean=True, withStd=True
            ),
            LogisticRegression(
                featuresCol="acceptance_features",
                labelCol=LABEL,
                regParam=reg_param,
                elasticNetParam=0.0,
                maxIter=100,
            ),
        ]
    )


def prepare(features: DataFrame, numeric: Sequence[str]) -> DataFrame:
    """Numeric inputs as doubles (the Imputer needs floating columns)."""
    return features.withColumns({c: F.col(c).cast("double") for c in numeric})


def probabilities(predictions: DataFrame) -> DataFrame:
    """The model's output with the probability of accepting as a plain double column."""
    return predictions.withColumn(PROBABILITY, vector_to_array("probability")[1])


def score(model: PipelineModel, features: DataFrame, numeric: Sequence[str]) -> DataFrame:
    """customer_id and the probability of accepting, as a plain double."""
    return probabilities(model.transform(prepare(features, numeric))).select("customer_id", PROBABILITY)
