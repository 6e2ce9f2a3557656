"""Declarations: validated when made, raw column names without Spark, a silver table's bronze and customers."""

import inspect
import re
import sys

import pytest

from bronze import crm_case, orders
from pipelines.contract import Contract
from pipelines.declare import RawSource, Table
from silver import customer_history, customers
from silver import orders as silver_orders

CONTRACT = Contract(name="gold.things", ddl="thing_id BIGINT NOT NULL", grain="one row per thing_id")


def test_a_declaration_with_an_unknown_stage_or_write_mode_is_refused():
    with pytest.raises(ValueError, match=r"gold\.things: stage must be one of"):
        Table(CONTRACT, stage="nightly", write="append")
    with pytest.raises(ValueError, match=r"gold\.things: write must be one of"):
        Table(CONTRACT, stage="score", write="upsert")  # type: ignore[arg-type]


def test_raw_columns_come_from_the_ddl_nested_types_included():
    assert orders.SOURCE.raw_columns == (
        "order_id",
        "customer_id",
        "ordered_at",
        "channel",
        "is_deal",
        "items",
    )
    assert len(crm_case.SOURCE.raw_columns) == 29 and crm_case.SOURCE.raw_columns[0] == "ID"
    source = RawSource("x", "csv", "`a b` STRING, m MAP<STRING, ARRAY<STRUCT<x: INT, y: INT>>>, z INT", ())
    assert source.raw_columns == ("a b", "m", "z")


def test_a_silver_table_names_its_bronze_input_and_the_customers_it_checks():
    assert silver_orders.TABLE.bronze() is orders.TABLE
    assert silver_orders.TABLE.customers() is customers.TABLE
    assert customers.TABLE.customers() is None and customer_history.TABLE.customers() is None
    with pytest.raises(ValueError, match="must read exactly one bronze table"):
        Table(CONTRACT, stage="silver", write="merge").bronze()


def test_a_vocabulary_dependent_contract_is_built_for_the_configured_vocabulary(spark):
    from gold import customer_features
    from pipelines.config import Vocabulary

    vocabulary = Vocabulary(categories=("pizza",), channels=("app",))
    contract = customer_features.TABLE.contract_for(vocabulary)
    assert "spend_pizza" in contract.columns and "orders_app" in contract.columns
    assert customer_features.TABLE.name == "gold.customer_features"


IMPURE = re.compile(
    r"\.(collect|count|toPandas|first)\(\)|\.(take|show|toLocalIterator)\(|SparkSession|sparkSession|createDataFrame|spark\.read|"
    r"\.write\b|current_date|current_timestamp|datetime\.now|date\.today|\bopen\("
)


def test_table_modules_are_pure_functions_of_dataframes_and_a_run_date():
    """Only pipelines/ touches sessions and storage, and no table module runs a Spark action or reads the
    clock: a module declaring a table passes this scan of its source, line by line."""
    from gold.tables import EVERY_TABLE

    modules = {m.__name__: m for m in sys.modules.values() if getattr(m, "TABLE", None) in EVERY_TABLE}
    assert {"silver.orders", "gold.customer_features", "gold.customer_segments"} <= set(modules)
    impure = [
        f"{name}:{number}: {line.strip()}"
        for name, module in sorted(modules.items())
        for number, line in enumerate(inspect.getsource(module).splitlines(), 1)
        if IMPURE.search(line) and not line.lstrip().startswith("#")
    ]
    assert impure == []
