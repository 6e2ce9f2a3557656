"""silver.customer_history: one row per customer version (SCD type 2): attributes valid from..to."""

from __future__ import annotations

from datetime import date

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from pipelines.contract import Contract
from pipelines.declare import Table
from pipelines.frames import keep_latest
from silver import customers

CONTRACT = Contract(
    name="silver.customer_history",
    ddl=(
        "customer_id BIGINT NOT NULL, valid_from TIMESTAMP NOT NULL, valid_to TIMESTAMP, is_current BOOLEAN NOT NULL, "
        "birth_year INT, education STRING, marital_status STRING, income DOUBLE, kids_at_home INT, "
        "teens_at_home INT, signup_date DATE NOT NULL, _source_file STRING, _ingested_at TIMESTAMP, _run_id STRING"
    ),
    grain="one row per customer_id and valid_from (the first version's sign-up date, or a version's updated_at)",
    primary_key=("customer_id", "valid_from"),
    comments={
        "valid_from": "the attributes hold from this instant: the version's updated_at; for the first version, "
        "the sign-up date (features.customer_history_valid_from = signup, the default)",
        "valid_to": "the next version's updated_at (exclusive); null for the current version",
        "is_current": "the latest known version",
    },
)


def transform(versions: DataFrame, *, valid_from: str = "signup") -> DataFrame:
    """Every distinct version of every customer, each valid until the next one. With ``valid_from="signup"``
    the first known version applies from the sign-up date (a CRM snapshot exported after the fact still
    describes the customer at every earlier date); with ``"updated_at"``, only from its own timestamp."""
    one_per_instant = keep_latest(
        ["customer_id", "updated_at"], [F.col("_ingested_at").desc(), F.col("_source_file").desc()]
    )
    following = Window.partitionBy("customer_id").orderBy("updated_at")
    first = F.row_number().over(following) == 1
    since_signup = F.least(F.col("signup_date").cast("timestamp"), F.col("updated_at"))
    start = (
        F.when(first, since_signup).otherwise(F.col("updated_at"))
        if valid_from == "signup"
        else F.col("updated_at")
    )
    return (
        versions.transform(one_per_instant)
        .transform(customers.known_values)
        .withColumn("valid_from", start)
        .withColumn("valid_to", F.lead("updated_at").over(following))
        .withColumn("is_current", F.col("valid_to").isNull())
        .select(*CONTRACT.select())
    )


def valid_on(as_of: date | Column) -> Column:
    """The version in force at the start of ``as_of`` (a date, or a date column)."""
    start = (as_of if isinstance(as_of, Column) else F.lit(as_of)).cast("timestamp")
    return (F.col("valid_from") < start) & (F.col("valid_to").isNull() | (F.col("valid_to") >= start))


# the same bronze rows, parse and checks as silver.customers; every version kept instead of the latest
TABLE = Table(
    CONTRACT,
    stage="silver",
    write="merge",
    inputs=customers.TABLE.inputs,
    checks=customers.checks,
    parse=customers.parse,
    transform=transform,
    params=lambda config: {"valid_from": config.features.customer_history_valid_from},
    event_time="valid_from",
)
