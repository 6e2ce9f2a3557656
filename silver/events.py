"""What the event tables (orders, web visits, campaign contacts, complaints) share: the checks every event
of a known customer passes, and the declaration of an event table that keeps each event's first delivery.

silver.web_visits and silver.complaints differ only in their names; their modules declare them here.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from pipelines.contract import Contract
from pipelines.declare import Table
from pipelines.frames import BRONZE_RECORD, LINEAGE, blank_to_null, keep_latest, typed, well_formed
from pipelines.quality import Check
from pipelines.refine import KNOWN_CUSTOMER


def event_checks(present: str, timestamp: str, well_formed_description: str = "") -> list[Check]:
    """Well formed, an id, a customer id of a known customer, a parseable timestamp: in this order."""
    return [
        Check("well_formed", well_formed, "quarantine", description=well_formed_description),
        Check(f"{present}_present", lambda: F.col(present).isNotNull(), "quarantine"),
        Check("customer_id_valid", lambda: F.col("customer_id").isNotNull(), "quarantine"),
        Check(
            "customer_known",
            lambda: F.col("customer_id").isNull() | F.col(KNOWN_CUSTOMER),
            "quarantine",
            description="the customer is in silver.customers (passes once a later export brings them)",
        ),
        Check(f"{timestamp}_valid", lambda: F.col(timestamp).isNotNull(), "quarantine"),
    ]


def first_delivered() -> list[Column]:
    """A repeated event keeps its first delivery."""
    return [F.col("_ingested_at").asc(), F.col("_source_file").asc()]


def event_contract(name: str, key: str, timestamp: str) -> Contract:
    return Contract(
        name=name,
        ddl=(
            f"{key} STRING NOT NULL, customer_id BIGINT NOT NULL, {timestamp} TIMESTAMP NOT NULL, "
            "_source_file STRING, _ingested_at TIMESTAMP, _run_id STRING"
        ),
        grain=f"one row per {key}",
        primary_key=(key,),
    )


def event_table(contract: Contract, timestamp: str, bronze: Table, customers: Table) -> Table:
    """One row per key: the first delivery of a repeated event; customer_id typed, timestamp parsed."""
    (key,) = contract.primary_key

    def parse(raw: DataFrame) -> DataFrame:
        return raw.select(
            blank_to_null(key).alias(key), typed("customer_id", "bigint"), typed(timestamp, "timestamp"),
            *LINEAGE, BRONZE_RECORD,
        )  # fmt: skip

    def transform(events: DataFrame) -> DataFrame:
        return events.transform(keep_latest([key], first_delivered())).select(*contract.select())

    return Table(
        contract,
        stage="silver",
        write="merge",
        inputs=(bronze, customers),
        checks=lambda vocabulary: event_checks(key, timestamp),
        parse=parse,
        transform=transform,
        newest_first=first_delivered,
        event_time=timestamp,
    )
