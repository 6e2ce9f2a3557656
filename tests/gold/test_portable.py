"""The portable acceptance champion (JSON + NumPy) against Spark, on every customer of the generated lakehouse."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gold import acceptance, acceptance_training, customer_features, portable
from pipelines import runner, tracking

pytestmark = pytest.mark.e2e


def test_numpy_probabilities_equal_spark_on_every_customer(generated):
    tracking.configure(generated.config)
    model = tracking.load_model(acceptance_training.MODEL_NAME)
    vocabulary = generated.config.vocabulary
    numeric = customer_features.numeric_columns(vocabulary)
    exported = json.loads(
        json.dumps(portable.export(model, numeric, acceptance.engineered_features(vocabulary)))
    )
    features = runner.read_partition(generated, customer_features.TABLE, generated.as_of)
    spark = acceptance.score(model, features, numeric).toPandas().sort_values("customer_id")
    rows = features.toPandas().sort_values("customer_id")
    assert list(rows["customer_id"]) == list(spark["customer_id"])
    columns = {c: rows[c].to_numpy(dtype=float, na_value=np.nan) for c in numeric}
    columns |= {c: [None if v is None else v for v in rows[c]] for c in exported["categorical"]}
    ours = portable.probabilities(exported, columns)
    difference = np.abs(ours - spark[acceptance.PROBABILITY].to_numpy())
    assert len(ours) == len(rows) > 0 and difference.max() < 1e-9, difference.max()
    explained = portable.reasons(exported, columns)
    assert len(explained) == len(rows) and all(len(r) <= 3 for r in explained)
