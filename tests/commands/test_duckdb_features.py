"""The pipeline's gold.customer_features equals an independent implementation (DuckDB SQL over the same
landing files), on the generated lakehouse, at the run date and at a training date."""

from __future__ import annotations

from datetime import timedelta

import pytest
from chispa import assert_df_equality

from commands import duckdb_features
from gold import customer_features
from pipelines import runner

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("days_before", [0, 30], ids=["run date", "pilot contact date"])
def test_features_equal_duckdb_from_the_same_files(generated, days_before):
    as_of = generated.as_of - timedelta(days=days_before)
    spark_features = runner.read_partition(generated, customer_features.TABLE, as_of)
    assert spark_features.count() > 0, f"no features partition for {as_of}"
    oracle = duckdb_features.compute(generated.config.landing_dir, generated.config, as_of)
    assert oracle.columns == spark_features.columns
    expected = generated.spark.createDataFrame(oracle.rows, spark_features.schema)
    assert_df_equality(spark_features, expected, ignore_row_order=True, ignore_nullable=True)
    assert duckdb_features.first_difference(oracle.columns, oracle.rows, spark_features.collect()) is None


COLUMNS = ["customer_id", "income", "education"]


def test_first_difference_names_the_customer_and_the_column():
    expected = [(1, 5.0, "PhD"), (2, None, "Basic")]
    assert duckdb_features.first_difference(COLUMNS, expected, [(2, None, "Basic"), (1, 5.0, "PhD")]) is None
    assert (
        duckdb_features.first_difference(COLUMNS, expected, [(1, 5.0, "PhD"), (2, 0.0, "Basic")])
        == "customer_id 2, income: expected None, found 0.0"
    )
    assert (
        duckdb_features.first_difference(COLUMNS, expected, [(1, 5.0, "PhD")])
        == "1 customer(s) missing, e.g. customer_id 2"
    )
