"""gold.campaign_responses: one row per (campaign_id, customer_id) of completed campaigns: the labels.

A campaign's responses are final once its response window has passed. Each row says which features
partition describes the customer as they were when contacted (``features_as_of``), so training joins
``gold.customer_features`` at that date and never sees later data.
"""

from __future__ import annotations

from datetime import date, timedelta

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from pipelines.config import Config, Vocabulary
from pipelines.contract import Contract
from pipelines.declare import Table
from pipelines.quality import Check, unique
from silver import campaign_contacts, crm_customers

CRM_PILOT = "crm_pilot"

CONTRACT = Contract(
    name="gold.campaign_responses",
    ddl=(
        "campaign_id STRING NOT NULL, customer_id BIGINT NOT NULL, features_as_of DATE NOT NULL, "
        "final_on DATE NOT NULL, accepted BOOLEAN NOT NULL"
    ),
    grain="one row per campaign_id and customer_id contacted, completed campaigns only",
    primary_key=("campaign_id", "customer_id"),
    comments={
        "features_as_of": "the campaign's first contact date: train on gold.customer_features as of this date",
        "final_on": "the date the responses became final (last contact plus the response window)",
        "accepted": "the customer accepted the campaign's offer: the label",
    },
)


def completed_campaigns(contacts: DataFrame, as_of: date, response_window_days: int) -> DataFrame:
    """Campaigns whose contacts all happened before ``as_of`` less the response window, newest first."""
    cutoff = as_of - timedelta(days=response_window_days)
    return (
        contacts.groupBy("campaign_id")
        .agg(
            F.min("contacted_at").alias("first_contact"),
            F.max("contacted_at").alias("last_contact"),
            F.count(F.lit(1)).alias("contacts"),
            F.count_if("accepted").alias("acceptances"),
        )
        .where(F.col("last_contact") < F.lit(cutoff).cast("timestamp"))
        .withColumn("contact_date", F.to_date("first_contact"))
        .orderBy(F.col("first_contact").desc(), F.col("campaign_id"))
    )


def transform(contacts: DataFrame, *, as_of: date, response_window_days: int) -> DataFrame:
    """The responses of every campaign completed by ``as_of`` (from silver.campaign_contacts)."""
    campaigns = completed_campaigns(contacts, as_of, response_window_days).select(
        "campaign_id",
        F.col("contact_date").alias("features_as_of"),
        F.date_add(F.to_date("last_contact"), response_window_days).alias("final_on"),
    )
    return contacts.join(campaigns, "campaign_id", how="inner").select(*CONTRACT.select())


def from_crm(crm_customers: DataFrame, *, as_of: date) -> DataFrame:
    """The CRM case's pilot campaign: every customer was contacted after the snapshot ``as_of``."""
    return crm_customers.select(
        F.lit(CRM_PILOT).alias("campaign_id"),
        "customer_id",
        F.lit(as_of).alias("features_as_of"),
        F.lit(as_of).alias("final_on"),
        F.col("response").alias("accepted"),
    ).select(*CONTRACT.select())


def completed(responses: DataFrame, as_of: date, window_days: int) -> DataFrame:
    """Campaigns whose responses became final by ``as_of`` and within ``window_days`` of it, newest first,
    with their contact date, contacts and acceptances."""
    final = (F.col("final_on") <= F.lit(as_of)) & (
        F.col("final_on") > F.lit(as_of - timedelta(days=window_days))
    )
    return (
        responses.where(final)
        .groupBy("campaign_id", "features_as_of", "final_on")
        .agg(F.count(F.lit(1)).alias("contacts"), F.count_if("accepted").alias("acceptances"))
        .orderBy(F.col("features_as_of").desc(), F.col("campaign_id").desc())
    )


def training_dates(responses: DataFrame, as_of: date, window_days: int) -> DataFrame:
    """The features dates training needs besides the run date: every training campaign's contact date."""
    dates = completed(responses, as_of, window_days).select("features_as_of").distinct()
    return dates.where(F.col("features_as_of") != F.lit(as_of)).orderBy("features_as_of")


def checks(vocabulary: Vocabulary) -> list[Check]:
    return [
        unique("campaign_id", "customer_id"),
        Check(
            "final_after_contact",
            lambda: F.col("final_on") >= F.col("features_as_of"),
            "fail",
            description="responses become final on or after the campaign's contact date",
        ),
    ]


def params(config: Config) -> dict[str, object]:
    return {"response_window_days": config.model.response_window_days}


TABLE = Table(
    CONTRACT,
    stage="features",
    write="merge",
    inputs=(campaign_contacts.TABLE,),
    checks=checks,
    transform=transform,
    params=params,
)

# The public CRM case's pilot campaign: everyone was contacted after the snapshot.
FROM_CRM = Table(
    CONTRACT,
    stage="features",
    write="merge",
    inputs=(crm_customers.TABLE,),
    checks=checks,
    transform=from_crm,
    description="the public CRM case's pilot responses (lakehouse import-crm)",
)
