"""silver.customers: one row per customer_id, the latest version by updated_at."""

from __future__ import annotations

from collections.abc import Callable

from pyspark.sql import Column, DataFrame
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
        "income": "yearly household income; null when unknown (blank, unparseable or negative)",
        "birth_year": "null when unknown (blank, unparseable, or outside 1900-2015)",
        "kids_at_home": "children at home; null when unknown (blank, unparseable, or outside 0-10)",
        "teens_at_home": "teenagers at home; null when unknown (blank, unparseable, or outside 0-10)",
        "updated_at": "when the CRM last changed the customer; a newer version replaces an older one",
    },
)


DEMOGRAPHICS = ("birth_year", "education", "marital_status", "income", "kids_at_home", "teens_at_home")
# A value outside these bounds is impossible, not a customer to drop: it is kept as unknown (null).
BOUNDS = {"birth_year": (1900, 2015), "income": (0, None), "kids_at_home": (0, 10), "teens_at_home": (0, 10)}


def _in_bounds(column: str) -> Column:
    low, high = BOUNDS[column]
    value = F.col(column)
    return value.isNull() | ((value >= low) & (value <= high) if high is not None else value >= low)


def _valid(column: str) -> Callable[[], Column]:
    return lambda: parsed_or_blank(column, column) & _in_bounds(column)


def _present(column: str) -> Callable[[], Column]:
    return lambda: blank_to_null(f"{BRONZE_RECORD}.{column}").isNotNull()


def checks(vocabulary: Vocabulary) -> list[Check]:
    """A line without an id, a timestamp or a sign-up date cannot be placed: quarantined. Demographics are
    often blank in real exports: a blank is unknown, counted per column; an unparseable or impossible value
    is warned and kept as unknown, and the customer (with their orders) stays."""
    placed = [
        Check("well_formed", well_formed, "quarantine", description="the CSV line has the expected fields"),
        Check("customer_id_valid", lambda: F.col("customer_id").isNotNull(), "quarantine"),
        Check("updated_at_valid", lambda: F.col("updated_at").isNotNull(), "quarantine"),
        Check("signup_date_valid", lambda: F.col("signup_date").isNotNull(), "quarantine"),
    ]
    valid = [
        Check(
            f"{c}_valid",
            _valid(c),
            "warn",
            description=f"{c} parses and is within {BOUNDS[c]}: otherwise kept as unknown",
        )
        for c in BOUNDS
    ]
    present = [Check(f"{c}_present", _present(c), "warn") for c in DEMOGRAPHICS]
    return [*placed, *valid, *present]


def known_values(customers: DataFrame) -> DataFrame:
    """Impossible values become unknown (null), as the ``<column>_valid`` rules report them."""
    return customers.withColumns({c: F.when(_in_bounds(c), F.col(c)) for c in BOUNDS})


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


def newest_first() -> list[Column]:
    """The latest version of a customer: by its updated_at, then by delivery."""
    return [F.col("updated_at").desc(), F.col("_ingested_at").desc(), F.col("_source_file").desc()]


def transform(customers: DataFrame) -> DataFrame:
    latest = customers.transform(keep_latest(["customer_id"], newest_first()))
    return latest.transform(known_values).select(*CONTRACT.select())


TABLE = Table(
    CONTRACT,
    stage="silver",
    write="merge",
    inputs=(bronze_customers.TABLE,),
    checks=checks,
    parse=parse,
    transform=transform,
    newest_first=newest_first,
)
