"""silver.customers: one row per customer_id, the latest version by updated_at."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from bronze import customers as bronze_customers
from pipelines.config import Vocabulary
from pipelines.contract import Contract
from pipelines.declare import Table
from pipelines.frames import (
    BRONZE_RECORD,
    LINEAGE,
    blank_to_null,
    keep_latest,
    parsed_or_blank,
    typed,
    well_formed,
)
from pipelines.quality import Check

CONTRACT = Contract(
    name="silver.customers",
    ddl=(
        "customer_id BIGINT NOT NULL, birth_year INT, education STRING, marital_status STRING, income DOUBLE, "
        "kids_at_home INT, teens_at_home INT, signup_date DATE NOT NULL, updated_at TIMESTAMP NOT NULL, "
        "_source_file STRING, _ingested_at TIMESTAMP, _run_id STRING"
    ),
    grain="one row per customer_id, latest version by updated_at",
    primary_key=("customer_id",),
    sequence_by="updated_at",
    comments={
        "income": "yearly household income; null when the CRM export left it blank",
        "updated_at": "when the CRM last changed the customer; a newer version replaces an older one",
    },
)


def checks(vocabulary: Vocabulary) -> list[Check]:
    return [
        Check("well_formed", well_formed, "quarantine", description="the CSV line has the expected fields"),
        Check("customer_id_valid", lambda: F.col("customer_id").isNotNull(), "quarantine"),
        Check("updated_at_valid", lambda: F.col("updated_at").isNotNull(), "quarantine"),
        Check("signup_date_valid", lambda: F.col("signup_date").isNotNull(), "quarantine"),
        Check("birth_year_parses", lambda: parsed_or_blank("birth_year", "birth_year"), "quarantine"),
        Check("income_parses", lambda: parsed_or_blank("income", "income"), "quarantine"),
        Check("income_non_negative", lambda: F.col("income").isNull() | (F.col("income") >= 0), "quarantine"),
        Check(
            "household_counts_valid",
            lambda: (
                F.coalesce(F.col("kids_at_home").between(0, 10), F.lit(False))
                & F.coalesce(F.col("teens_at_home").between(0, 10), F.lit(False))
            ),
            "quarantine",
        ),
        Check(
            "birth_year_plausible",
            lambda: F.col("birth_year").isNull() | F.col("birth_year").between(1900, 2015),
            "warn",
            description="ages over ~125 or under ~10 are kept but reported",
        ),
    ]


def parse(bronze: DataFrame) -> DataFrame:
    return bronze.select(
        typed("customer_id", "bigint"),
        typed("birth_year", "int"),
        blank_to_null("education").alias("education"),
        F.initcap(blank_to_null("marital_status")).alias("marital_status"),
        typed("income", "double"),
        typed("kids_at_home", "int"),
        typed("teens_at_home", "int"),
        typed("signup_date", "date"),
        typed("updated_at", "timestamp"),
        *LINEAGE,
        BRONZE_RECORD,
    )


def transform(customers: DataFrame) -> DataFrame:
    newest_first = [F.col("updated_at").desc(), F.col("_ingested_at").desc(), F.col("_source_file").desc()]
    return customers.transform(keep_latest(["customer_id"], newest_first)).select(*CONTRACT.select())


TABLE = Table(
    CONTRACT,
    stage="silver",
    write="merge",
    inputs=(bronze_customers.TABLE,),
    checks=checks,
    parse=parse,
    transform=transform,
)
