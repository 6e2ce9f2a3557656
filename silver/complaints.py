"""silver.complaints: one row per complaint_id."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from pipelines.config import Vocabulary
from pipelines.contract import Contract
from pipelines.frames import BRONZE_RECORD, LINEAGE, blank_to_null, keep_latest, typed, well_formed
from pipelines.quality import Check
from pipelines.refine import KNOWN_CUSTOMER, SilverTable
from silver import customers

CONTRACT = Contract(
    name="silver.complaints",
    ddl=(
        "complaint_id STRING NOT NULL, customer_id BIGINT NOT NULL, complained_at TIMESTAMP NOT NULL, "
        "_source_file STRING, _ingested_at TIMESTAMP, _run_id STRING"
    ),
    grain="one row per complaint_id",
    primary_key=("complaint_id",),
)


def checks(vocabulary: Vocabulary) -> list[Check]:
    return [
        Check("well_formed", well_formed, "quarantine"),
        Check("complaint_id_present", lambda: F.col("complaint_id").isNotNull(), "quarantine"),
        Check("customer_id_valid", lambda: F.col("customer_id").isNotNull(), "quarantine"),
        Check(
            "customer_known",
            lambda: F.col("customer_id").isNull() | F.col(KNOWN_CUSTOMER),
            "quarantine",
            description="the customer is in silver.customers (passes once a later export brings them)",
        ),
        Check("complained_at_valid", lambda: F.col("complained_at").isNotNull(), "quarantine"),
    ]


def parse(bronze: DataFrame) -> DataFrame:
    return bronze.select(
        blank_to_null("complaint_id").alias("complaint_id"),
        typed("customer_id", "bigint"),
        typed("complained_at", "timestamp"),
        *LINEAGE,
        BRONZE_RECORD,
    )


def transform(complaints: DataFrame) -> DataFrame:
    first_delivered = [F.col("_ingested_at").asc(), F.col("_source_file").asc()]
    return complaints.transform(keep_latest(["complaint_id"], first_delivered)).select(*CONTRACT.select())


TABLE = SilverTable(
    CONTRACT, "bronze.complaints", parse, checks, transform, customers=customers.CONTRACT.name
)
