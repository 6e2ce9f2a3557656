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


def test_an_input_blank_in_every_training_row_is_left_out_and_both_forms_agree_on_partial_inputs(spark):  # type: ignore[no-untyped-def]
    """A retailer that never records teens at home: training leaves the column (and what derives from it)
    out instead of failing in Spark's Imputer; the exported form says so and scores as Spark does, with
    any subset of each customer's inputs removed (both fill the medians first, then derive)."""
    import json

    from gold import acceptance_training as at
    from pipelines.config import Config

    config = Config()
    every = customer_features.numeric_columns(config.vocabulary)
    train, test = _frame(240, seed=1), _frame(80, seed=2)
    train["teens_at_home"] = np.nan
    rows = acceptance.prepare(_table(spark, train), every)
    blank = at.blank_inputs(rows, config)
    assert blank == ["teens_at_home"]
    config = at.leaving_out(config, blank)
    model = at.fit(rows, model_selection.Candidate(0.01, 1.0), config)
    exported = json.loads(
        json.dumps(at.portable_form(model, {"balanced": 0.5}, config, at.input_ranges(model, rows, config)))
    )
    assert "teens_at_home" not in exported["numeric"] and "kids_total" not in exported["engineered"]
    assert exported["left_out"] == {
        "teens_at_home": "blank in every training row (or named in model.left_out_inputs)",
        "kids_total": "derived from teens_at_home",
    }
    low, high = exported["ranges"]["spend_wines"]
    assert (low, high) == (train["spend_wines"].min(), train["spend_wines"].max())

    rng = np.random.default_rng(4)
    removed = test.copy()
    for column in every:  # each customer loses a random subset of inputs
        removed.loc[rng.random(len(removed)) < 0.4, column] = np.nan
    scored = acceptance.score(model, _table(spark, removed), every).toPandas().sort_values("customer_id")
    ours = portable.probabilities(exported, model_selection.columns(removed))
    assert np.abs(ours - scored[acceptance.PROBABILITY].to_numpy()).max() < 1e-9
    derived = portable.numbers(exported, {c: [np.nan] for c in every} | {"spend_wines": [5.0]})
    assert derived["log_spend_wines"][0] == pytest.approx(np.log(6.0))
    assert derived["share_spend_wines"][0] == pytest.approx(5.0 / exported["medians"]["spend_total"])
