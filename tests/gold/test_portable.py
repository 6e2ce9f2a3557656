"""The portable acceptance champion (JSON + NumPy) against Spark, on every customer of the generated lakehouse."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from gold import acceptance, acceptance_training, customer_features, portable
from pipelines import runner, tracking

pytestmark = pytest.mark.e2e


@pytest.fixture
def writable(generated_copy):  # type: ignore[no-untyped-def]
    return generated_copy


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


def test_with_any_inputs_removed_numpy_and_spark_fill_then_derive_alike_for_every_customer(generated):
    """Each customer loses a random subset of their inputs (a partial what-if): Spark's pipeline and the
    logged portable form both fill the medians first and derive the engineered inputs from the filled
    numbers, so they still agree."""
    from pyspark.sql import functions as F

    client = tracking.configure(generated.config)
    name = acceptance_training.MODEL_NAME
    version = tracking.champion_version(client, name)
    model = tracking.load_model(name, version=version)
    exported = tracking.logged_dict(client, name, version, acceptance_training.PORTABLE_ARTIFACT)
    numeric = customer_features.numeric_columns(generated.config.vocabulary)
    features = runner.read_partition(generated, customer_features.TABLE, generated.as_of)
    seed = F.xxhash64("customer_id", F.lit(7))
    removed = features.withColumns(
        {c: F.when(F.pmod(seed + i, F.lit(5)) > 1, F.col(c)) for i, c in enumerate(numeric)}
    )  # each customer keeps about 3 in 5 inputs, a different subset each
    rows = removed.toPandas().sort_values("customer_id")
    spark = acceptance.score(model, removed, numeric).toPandas().sort_values("customer_id")
    columns = {c: rows[c].to_numpy(dtype=float, na_value=np.nan) for c in numeric}
    columns |= {c: [None if v is None else v for v in rows[c]] for c in exported["categorical"]}
    assert 0.3 < np.isnan(np.column_stack([columns[c] for c in numeric])).mean() < 0.5
    ours = portable.probabilities(exported, columns)
    assert np.abs(ours - spark[acceptance.PROBABILITY].to_numpy()).max() < 1e-9


def test_a_version_registered_without_its_portable_form_gets_it_at_the_next_training(writable):  # type: ignore[no-untyped-def]
    """A lakehouse from before versions carried ``portable.json``: training again (same data: the version is
    reused) adds it, with the same numbers training logs."""
    from urllib.parse import urlparse

    from jobs import train

    name = acceptance_training.MODEL_NAME
    client = tracking.configure(writable.config)
    version = tracking.champion_version(client, name)
    run_id = client.get_model_version(name, version).run_id
    logged = tracking.logged_dict(client, name, version, acceptance_training.PORTABLE_ARTIFACT)
    artifact = (
        Path(urlparse(client.get_run(run_id).info.artifact_uri).path) / acceptance_training.PORTABLE_ARTIFACT
    )
    artifact.unlink()
    with pytest.raises(tracking.ModelLoadError, match=r"has no readable portable\.json"):
        tracking.logged_dict(client, name, version, acceptance_training.PORTABLE_ARTIFACT)
    reused = train.train_acceptance(writable, client)
    assert reused.version == version
    assert tracking.logged_dict(client, name, version, acceptance_training.PORTABLE_ARTIFACT) == logged
