"""gold.segment_profiles: one row per (as_of_date, segment_id): size, medians of the main features,
acceptance and revenue share; what a segment looks like on each run date."""

from __future__ import annotations

from datetime import date

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from gold import customer_features, customer_marketing
from pipelines.config import Vocabulary
from pipelines.contract import Contract
from pipelines.declare import Table
from pipelines.quality import Check, unique

MEDIANS = ("spend_total", "orders_total", "recency_days", "income", "age_years", "web_visits_30d")

CONTRACT = Contract(
    name="gold.segment_profiles",
    ddl=(
        "as_of_date DATE NOT NULL, segment_id INT NOT NULL, segment_name STRING NOT NULL, customers BIGINT NOT NULL, "
        + ", ".join(f"median_{c} DOUBLE" for c in MEDIANS)
        + ", past_acceptance_rate DOUBLE, mean_acceptance_probability DOUBLE NOT NULL, revenue_share DOUBLE NOT NULL, "
        "model_version STRING NOT NULL, run_id STRING NOT NULL"
    ),
    grain="one row per as_of_date and segment",
    primary_key=("as_of_date", "segment_id"),
    partition_by=("as_of_date",),
    comments={
        **{f"median_{c}": f"median {c} of the segment's customers on as_of_date" for c in MEDIANS},
        "customers": "customers in the segment on as_of_date",
        "segment_id": "segment id, kept across retrains by matching centroids",
        "segment_name": "value tier / recency : category leaning, from the segment's centroid statistics",
        "past_acceptance_rate": "campaign offers the segment accepted / offers it received, before as_of_date",
        "mean_acceptance_probability": "mean score of the champion acceptance model",
        "revenue_share": "the segment's share of all customers' spend over the lookback window",
        "model_version": "the segmentation model version",
    },
)


def exact(column: str) -> Column:
    """A double as a decimal: its sum does not depend on the order Spark adds the rows in (on a cluster that
    order changes from run to run; a sum of doubles could then differ in the last digits)."""
    return F.col(column).cast("decimal(38,18)")


def transform(marketing: DataFrame, features: DataFrame, *, as_of: date, run_id: str) -> DataFrame:
    """Aggregate the day's segmented, scored customers with their features."""
    everyone = Window.partitionBy("as_of_date").rowsBetween(
        Window.unboundedPreceding, Window.unboundedFollowing
    )
    return (
        marketing.where(F.col("as_of_date") == F.lit(as_of))
        .join(features, ["customer_id", "as_of_date"], how="inner")
        .groupBy(
            "as_of_date", "segment_id", "segment_name", F.col("segment_model_version").alias("model_version")
        )
        .agg(
            F.count(F.lit(1)).alias("customers"),
            *[F.percentile_approx(F.col(c).cast("double"), 0.5).alias(f"median_{c}") for c in MEDIANS],
            F.try_divide(F.sum("campaigns_accepted"), F.sum("campaigns_contacted")).alias(
                "past_acceptance_rate"
            ),
            F.avg(exact("acceptance_probability")).cast("double").alias("mean_acceptance_probability"),
            F.sum(F.col("spend_total").cast("decimal(38,2)")).alias("_spend"),
        )
        .withColumn("_share", F.col("_spend") / F.sum("_spend").over(everyone))
        .withColumn("revenue_share", F.coalesce(F.col("_share").cast("double"), F.lit(0.0)))
        .withColumn("run_id", F.lit(run_id))
        .select(*CONTRACT.select())
    )


def checks(vocabulary: Vocabulary) -> list[Check]:
    return [
        unique("as_of_date", "segment_id"),
        Check("revenue_share_in_0_1", lambda: F.col("revenue_share").between(0.0, 1.0), "fail"),
    ]


TABLE = Table(
    CONTRACT,
    stage="score",
    write="partition",
    inputs=(customer_marketing.TABLE, customer_features.TABLE),
    checks=checks,
    transform=transform,
)
