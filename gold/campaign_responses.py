"""gold.campaign_responses: one row per (campaign_id, customer_id) of completed campaigns: the labels.

A campaign's responses are final once its response window has passed. Each row says which features
partition describes the customer as they were when contacted (``features_as_of``), so training joins
``gold.customer_features`` at that date and never sees later data.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from pyspark.sql import DataFrame, Row
from pyspark.sql import functions as F

from pipelines.config import Config, Vocabulary
from pipelines.contract import Contract
from pipelines.declare import Table
from pipelines.quality import Check, RuleResult, unique
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


def completed(
    responses: DataFrame, as_of: date, window_days: int, described: DataFrame | None = None
) -> DataFrame:
    """Campaigns whose responses became final by ``as_of`` and within ``window_days`` of it, newest first,
    with their contact date, ``contacted`` (every contact), and ``contacts`` and ``acceptances`` among the
    contacts ``gold.customer_features`` describes on the contact date: those of ``described``
    (customer_id, as_of_date), or every one when it is not given. A contact made before anything was known
    of its customer (a history that starts after the campaign) teaches nothing the model will ever see
    again: training and backtests leave it out."""
    final = (F.col("final_on") <= F.lit(as_of)) & (
        F.col("final_on") > F.lit(as_of - timedelta(days=window_days))
    )
    rows = responses.where(final)
    seen = F.lit(True)
    if described is not None:
        keys = described.select(
            "customer_id", F.col("as_of_date").alias("features_as_of"), F.lit(True).alias("_seen")
        )
        rows = rows.join(keys.distinct(), ["customer_id", "features_as_of"], how="left")
        seen = F.col("_seen").isNotNull()
    return (
        rows.groupBy("campaign_id", "features_as_of", "final_on")
        .agg(
            F.count_if(seen).alias("contacts"),
            F.count_if(seen & F.col("accepted")).alias("acceptances"),
            F.count(F.lit(1)).alias("contacted"),
        )
        .orderBy(F.col("features_as_of").desc(), F.col("campaign_id").desc())
    )


def training_dates(campaigns: Sequence[Row], as_of: date) -> list[date]:
    """The features dates training needs besides the run date: the contact date of every ``completed``
    campaign with a contact the features describe."""
    return sorted({c["features_as_of"] for c in campaigns if c["contacts"]} - {as_of})


def undescribed(campaigns: Sequence[Row]) -> list[str]:
    """One line per ``completed`` campaign with contacts the features cannot describe."""
    lines = []
    for c in campaigns:
        left_out = c["contacted"] - c["contacts"]
        if not left_out:
            continue
        if c["contacts"]:
            lines.append(
                f"{c['campaign_id']} (contacted {c['features_as_of']}): {left_out:,} of {c['contacted']:,} "
                "contacts left out of training: their customers signed up or appear in the customer "
                "history only after it"
            )
        else:
            lines.append(
                f"{c['campaign_id']} (contacted {c['features_as_of']}): skipped, none of its "
                f"{c['contacted']:,} contacts is known before that date (every one signs up or appears in "
                "the customer history later)"
            )
    return lines


def described_results(campaigns: Sequence[Row]) -> list[RuleResult]:
    """Per ``completed`` campaign, the share of its contacts the features describe, as ops.dq_results rows
    (rule ``contacts_described:<campaign>``): warned when some are left out of training."""
    return [
        RuleResult(
            table=CONTRACT.name,
            rule=f"contacts_described:{c['campaign_id']}",
            action="warn",
            evaluated=int(c["contacted"]),
            failed=int(c["contacted"] - c["contacts"]),
            max_ratio=None,
            outcome="warned" if c["contacted"] > c["contacts"] else "passed",
        )
        for c in campaigns
    ]


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
