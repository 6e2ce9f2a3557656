"""silver.web_visits: one row per visit_id."""

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
    name="silver.web_visits",
    ddl=(
        "visit_id STRING NOT NULL, customer_id BIGINT NOT NULL, visited_at TIMESTAMP NOT NULL, "
        "_source_file STRING, _ingested_at TIMESTAMP, _run_id STRING"
    ),
    grain="one row per visit_id",
    primary_key=("visit_id",),
)


def checks(vocabulary: Vocabulary) -> list[Check]:
    return [
        Check("well_formed", well_formed, "quarantine"),
        Check("visit_id_present", lambda: F.col("visit_id").isNotNull(), "quarantine"),
        Check("customer_id_valid", lambda: F.col("customer_id").isNotNull(), "quarantine"),
        Check(
            "customer_known",
            lambda: F.col("customer_id").isNull() | F.col(KNOWN_CUSTOMER),
            "quarantine",
            description="the customer is in silver.customers (passes once a later export brings them)",
        ),
        Check("visited_at_valid", lambda: F.col("visited_at").isNotNull(), "quarantine"),
    ]


def parse(bronze: DataFrame) -> DataFrame:
    return bronze.select(
        blank_to_null("visit_id").alias("visit_id"),
        typed("customer_id", "bigint"),
        typed("visited_at", "timestamp"),
        *LINEAGE,
        BRONZE_RECORD,
    )


def transform(visits: DataFrame) -> DataFrame:
    first_delivered = [F.col("_ingested_at").asc(), F.col("_source_file").asc()]
    return visits.transform(keep_latest(["visit_id"], first_delivered)).select(*CONTRACT.select())


TABLE = SilverTable(
    CONTRACT, "bronze.web_visits", parse, checks, transform, customers=customers.CONTRACT.name
)
