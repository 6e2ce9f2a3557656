"""Model selection's in-memory fit of the acceptance pipeline against its Spark ML fit, on a tiny frame
with missing values, unseen categories and weights: both must score alike."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pyspark.sql import functions as F

from gold import acceptance, customer_features, model_selection, portable
from gold.acceptance import LABEL
from gold.customer_features import CATEGORICAL
from pipelines.config import Vocabulary


def _frame(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    numeric = customer_features.numeric_columns(Vocabulary())
    frame = pd.DataFrame({c: rng.gamma(2.0, 10.0, rows).round(1) for c in numeric})
    frame.loc[rng.random(rows) < 0.1, "income"] = np.nan  # medians fill these
    frame.loc[rng.random(rows) < 0.1, "recency_days"] = np.nan
    frame["education"] = rng.choice(["Basic", "Graduation", "PhD", None], rows)
    frame["marital_status"] = rng.choice(["Married", "Single", "Together"], rows)
    signal = 0.08 * frame["spend_wines"] - 0.05 * frame["recency_days"].fillna(20) + rng.normal(0, 1, rows)
    frame[LABEL] = (signal > np.quantile(signal, 0.8)).astype(float)
    frame.insert(0, "customer_id", np.arange(rows, dtype=np.int64))
    return frame


def _table(spark, frame: pd.DataFrame):  # type: ignore[no-untyped-def]
    """The frame as gold.customer_features holds it: a missing number is null (pandas' NaN would be
    Spark's NaN, which Spark SQL orders above every number)."""
    df = spark.createDataFrame(frame)
    doubles = [f.name for f in df.schema.fields if f.dataType.typeName() == "double"]
    return df.withColumns({c: F.when(~F.isnan(c), F.col(c)) for c in doubles})


@pytest.mark.parametrize("reg_param, positive_weight", [(0.01, 3.0), (0.1, 1.0)])
def test_the_in_memory_fit_scores_as_the_spark_ml_fit_does(spark, reg_param, positive_weight):  # type: ignore[no-untyped-def]
    vocabulary = Vocabulary()
    numeric = customer_features.numeric_columns(vocabulary)
    engineered = acceptance.engineered_features(vocabulary)
    train, test = _frame(240, seed=1), _frame(60, seed=2)
    test.loc[0, "marital_status"] = "Widow"  # a label training never saw
    candidate = model_selection.Candidate(reg_param, positive_weight)

    ours = portable.probabilities(
        portable.fit(
            model_selection.columns(train), train[LABEL].to_numpy(float),
            model_selection.weights(train, positive_weight), numeric, engineered, CATEGORICAL, reg_param,
        ),
        model_selection.columns(test),
    )  # fmt: skip

    rows = acceptance.prepare(_table(spark, train), numeric)
    weighted = positive_weight != 1.0
    if weighted:
        rows = acceptance.class_weights(rows, positive_weight)
    pipeline = acceptance.build_pipeline(
        numeric, 7, candidate.reg_param, engineered=engineered, weighted=weighted
    )
    scored = acceptance.score(pipeline.fit(rows), _table(spark, test), numeric).toPandas()
    spark_ml = scored.sort_values("customer_id")[acceptance.PROBABILITY].to_numpy()

    assert 0.0 < spark_ml.min() and spark_ml.max() < 1.0 and spark_ml.std() > 0.05  # a model that ranks
    assert np.abs(ours - spark_ml).max() < 1e-3, np.abs(ours - spark_ml).max()
