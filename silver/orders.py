"""silver.orders: one row per order_id (the first delivery of a repeated order event), items typed."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from bronze import orders as bronze_orders
from pipelines.config import Vocabulary
from pipelines.contract import Contract
from pipelines.declare import Table
from pipelines.frames import BRONZE_RECORD, LINEAGE, blank_to_null, keep_latest, typed
from pipelines.quality import Check
from silver import customers
from silver.events import event_checks

CONTRACT = Contract(
    name="silver.orders",
    ddl=(
        "order_id STRING NOT NULL, customer_id BIGINT NOT NULL, ordered_at TIMESTAMP NOT NULL, "
        "channel STRING NOT NULL, is_deal BOOLEAN NOT NULL, "
        "items ARRAY<STRUCT<category: STRING, amount: DOUBLE>> NOT NULL, item_count INT NOT NULL, "
        "amount_total DOUBLE NOT NULL, _source_file STRING, _ingested_at TIMESTAMP, _run_id STRING"
    ),
    grain="one row per order_id; a repeated order event keeps its first delivery",
    primary_key=("order_id",),
    comments={
        "channel": "one of the configured channels (default web | catalog | store)",
        "items": "category (one of the configured categories) and amount per line",
        "amount_total": "sum of the item amounts",
    },
)


def _item_amount_ok(item):  # type: ignore[no-untyped-def]
    return item["amount"].isNotNull() & (item["amount"] >= 0)


def checks(vocabulary: Vocabulary) -> list[Check]:
    categories, channels = list(vocabulary.categories), list(vocabulary.channels)
    return [
        *event_checks("order_id", "ordered_at", "the line is valid JSON of the order schema"),
        Check("channel_known", lambda: F.col("channel").isin(*channels), "quarantine"),
        Check("is_deal_valid", lambda: F.col("is_deal").isNotNull(), "quarantine"),
        Check("has_items", lambda: F.size("items") > 0, "quarantine"),
        Check(
            "item_amounts_valid",
            lambda: F.forall("items", _item_amount_ok),
            "quarantine",
            description="every item amount parses and is not negative",
        ),
        Check(
            "item_categories_known",
            lambda: F.forall("items", lambda i: i["category"].isin(*categories)),
            "quarantine",
        ),
    ]


def parse(bronze: DataFrame) -> DataFrame:
    items = F.transform(
        "items",
        lambda i: F.struct(
            F.lower(F.trim(i["category"])).alias("category"),
            F.nullif(F.trim(i["amount"]), F.lit("")).try_cast("double").alias("amount"),
        ),
    )
    return bronze.select(
        blank_to_null("order_id").alias("order_id"),
        typed("customer_id", "bigint"),
        typed("ordered_at", "timestamp"),
        F.lower(blank_to_null("channel")).alias("channel"),
        typed("is_deal", "boolean"),
        items.alias("items"),
        *LINEAGE,
        BRONZE_RECORD,
    )


def first_delivered() -> list[Column]:
    """A repeated order event keeps its first delivery (the earliest order time within one file)."""
    return [F.col("_ingested_at").asc(), F.col("_source_file").asc(), F.col("ordered_at").asc()]


def transform(orders: DataFrame) -> DataFrame:
    return (
        orders.transform(keep_latest(["order_id"], first_delivered()))
        .withColumn("item_count", F.size("items"))
        .withColumn("amount_total", F.aggregate("items", F.lit(0.0), lambda acc, i: acc + i["amount"]))
        .select(*CONTRACT.select())
    )


TABLE = Table(
    CONTRACT,
    stage="silver",
    write="merge",
    inputs=(bronze_orders.TABLE, customers.TABLE),
    checks=checks,
    parse=parse,
    transform=transform,
    newest_first=first_delivered,
    event_time="ordered_at",
)
