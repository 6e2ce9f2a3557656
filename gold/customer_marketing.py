"""gold.customer_marketing: one row per (customer_id, as_of_date): segment and acceptance score to target from."""

from __future__ import annotations

from datetime import date

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from pipelines.contract import Contract

CONTRACT = Contract(
    name="gold.customer_marketing",
    ddl=(
        "customer_id BIGINT NOT NULL, as_of_date DATE NOT NULL, segment_id INT NOT NULL, "
        "segment_name STRING NOT NULL, acceptance_probability DOUBLE NOT NULL, "
        "segment_model_version STRING NOT NULL, acceptance_model_version STRING NOT NULL, run_id STRING NOT NULL"
    ),
    grain="one row per customer_id and as_of_date",
    primary_key=("customer_id", "as_of_date"),
    partition_by=("as_of_date",),
    comments={
        "acceptance_probability": "probability that the customer accepts the next campaign (0..1)",
        "segment_model_version": "registered version of the segmentation model that assigned the segment",
        "acceptance_model_version": "registered version of the acceptance model (the champion) that scored",
    },
)


def transform(
    segments: DataFrame, scores: DataFrame, *, as_of: date, acceptance_model_version: str, run_id: str
) -> DataFrame:
    """Join each customer's segment with their acceptance score."""
    return (
        segments.where(F.col("as_of_date") == F.lit(as_of))
        .join(scores, "customer_id", how="inner")
        .withColumn("segment_model_version", F.col("model_version"))
        .withColumn("acceptance_model_version", F.lit(acceptance_model_version))
        .withColumn("run_id", F.lit(run_id))
        .select(*CONTRACT.select())
    )
