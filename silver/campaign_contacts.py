"""silver.campaign_contacts: one row per (campaign_id, customer_id), the latest delivered response."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from bronze import campaign_contacts as bronze_contacts
from pipelines.config import Vocabulary
from pipelines.contract import Contract
from pipelines.declare import Table
from pipelines.frames import BRONZE_RECORD, LINEAGE, blank_to_null, keep_latest, typed
from pipelines.quality import Check
from silver import customers
from silver.events import event_checks

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
        *event_checks("campaign_id", "contacted_at"),
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


def latest_delivered() -> list[Column]:
    """A later delivery of a contact's response replaces the earlier one."""
    return [F.col("_ingested_at").desc(), F.col("_source_file").desc()]


def transform(contacts: DataFrame) -> DataFrame:
    return contacts.transform(keep_latest(["campaign_id", "customer_id"], latest_delivered())).select(
        *CONTRACT.select()
    )


TABLE = Table(
    CONTRACT,
    stage="silver",
    write="merge",
    inputs=(bronze_contacts.TABLE, customers.TABLE),
    checks=checks,
    parse=parse,
    transform=transform,
    newest_first=latest_delivered,
    event_time="contacted_at",
)
