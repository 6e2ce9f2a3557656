"""Spark's floor (`lakehouse bench --floor`) reads every landed row and adds it up as DuckDB does, on the
first run and after a day lands."""

from __future__ import annotations

import pytest
from chispa import assert_approx_df_equality

from commands import floor
from sample import landing as sample
from sample.daily import write_days

pytestmark = pytest.mark.e2e

SUMS = "customer_id BIGINT, orders BIGINT, spent DOUBLE, last_ordered_at_s BIGINT, visits BIGINT"


def duckdb_sums(landing):  # type: ignore[no-untyped-def]
    """Per known customer: orders, money spent, the last order's time (epoch seconds), visits."""
    import duckdb

    files = floor.landed(landing)
    orders = f"read_json({files['orders']}, format = 'newline_delimited')"
    visits = f"read_json({files['web_visits']}, format = 'newline_delimited')"
    customers = f"read_csv({files['customers']}, header = true, all_varchar = true)"
    sql = f"""
        WITH ids AS (SELECT DISTINCT CAST(customer_id AS BIGINT) AS customer_id FROM {customers}),
        o AS (SELECT CAST(customer_id AS BIGINT) AS customer_id, count(*) AS orders,
                     sum(list_sum([CAST(i.amount AS DOUBLE) FOR i IN items])) AS spent,
                     CAST(epoch(max(CAST(ordered_at AS TIMESTAMPTZ))) AS BIGINT) AS last_s
              FROM {orders} GROUP BY 1),
        v AS (SELECT CAST(customer_id AS BIGINT) AS customer_id, count(*) AS visits FROM {visits} GROUP BY 1)
        SELECT ids.customer_id, coalesce(o.orders, 0), coalesce(o.spent, 0.0), o.last_s, coalesce(v.visits, 0)
        FROM ids LEFT JOIN o USING (customer_id) LEFT JOIN v USING (customer_id)"""
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        return con.execute(sql).fetchall()


def floor_sums(lowest):  # type: ignore[no-untyped-def]
    from pyspark.sql import functions as F

    gold = lowest.read("gold", "features")
    return gold.select(
        "customer_id",
        "orders",
        "spent",
        F.unix_timestamp("last_ordered_at").alias("last_ordered_at_s"),
        "visits",
    )


def test_the_floor_adds_up_every_landed_row_then_the_new_day(spark, config, tmp_path):
    sample.write(config, customers=40, seed=5)
    lowest = floor.Floor(spark, tmp_path / "floor")
    files = floor.landed(config.landing_dir)
    for _, stage in floor.first_run(lowest, files):
        stage()
    expected = spark.createDataFrame(duckdb_sums(config.landing_dir), SUMS)
    assert_approx_df_equality(floor_sums(lowest), expected, 1e-6, ignore_row_order=True, ignore_nullable=True)

    cats, chans = config.vocabulary.categories, config.vocabulary.channels
    write_days(config.landing_dir, 40, 5, config.sample.end_date, 2, cats, chans)
    new = floor.new_files(files, floor.landed(config.landing_dir))
    assert sorted(len(paths) for paths in new.values() if paths) == [2, 2]  # two days of orders and of visits
    for _, stage in floor.daily_run(lowest, new):
        stage()
    expected = spark.createDataFrame(duckdb_sums(config.landing_dir), SUMS)
    assert_approx_df_equality(floor_sums(lowest), expected, 1e-6, ignore_row_order=True, ignore_nullable=True)
    bronze_orders = lowest.read("bronze", "orders").count()
    assert bronze_orders == sum(
        len(open(p).read().splitlines()) for p in floor.landed(config.landing_dir)["orders"]
    )
