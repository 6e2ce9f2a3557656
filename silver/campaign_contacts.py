"""silver.campaign_contacts: one row per (campaign_id, customer_id), the latest delivered response."""

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
    name="silver.campaign_contacts",
    ddl=(
        "campaign_id STRING NOT NULL, customer_id BIGINT NOT NULL, contacted_at TIMESTAMP NOT NULL, "
        "accepted BOOLEAN NOT NULL, _source_file STRING, _ingested_at TIMESTAMP, _run_id STRING"
    ),
    grain="one row per campaign_id and customer_id; a later delivery updates the response",
    primary_key=("campaign_id", "customer_id"),
    sequence_by="_ingested_at",
    comments={"accepted": "the customer accepted the campaign's offer"},
)


def checks(vocabulary: Vocabulary) -> list[Check]:
    return [
        Check("well_formed", well_formed, "quarantine"),
        Check("campaign_id_present", lambda: F.col("campaign_id").isNotNull(), "quarantine"),
        Check("customer_id_valid", lambda: F.col("customer_id").isNotNull(), "quarantine"),
        Check(
            "customer_known",
            lambda: F.col("customer_id").isNull() | F.col(KNOWN_CUSTOMER),
            "quarantine",
            description="the customer is in silver.customers (passes once a later export brings them)",
        ),
        Check("contacted_at_valid", lambda: F.col("contacted_at").isNotNull(), "quarantine"),
        Check("accepted_is_0_or_1", lambda: F.col("accepted").isNotNull(), "quarantine"),
    ]


def parse(bronze: DataFrame) -> DataFrame:
    accepted = blank_to_null("accepted")
    return bronze.select(
        blank_to_null("campaign_id").alias("campaign_id"),
        typed("customer_id", "bigint"),
        typed("contacted_at", "timestamp"),
        F.when(accepted == "1", F.lit(True)).when(accepted == "0", F.lit(False)).alias("accepted"),
        *LINEAGE,
        BRONZE_RECORD,
    )


def transform(contacts: DataFrame) -> DataFrame:
    newest_first = [F.col("_ingested_at").desc(), F.col("_source_file").desc()]
    return contacts.transform(keep_latest(["campaign_id", "customer_id"], newest_first)).select(
        *CONTRACT.select()
    )


TABLE = SilverTable(
    CONTRACT, "bronze.campaign_contacts", parse, checks, transform, customers=customers.CONTRACT.name
)
