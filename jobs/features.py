"""Compute gold.customer_features as of the run date."""

from __future__ import annotations

import sys
from datetime import date

from pyspark.sql import DataFrame

from gold import customer_features
from jobs.common import job_main
from pipelines.log import step
from pipelines.runtime import RunContext
from silver import campaign_contacts, complaints, customer_history, orders, web_visits


def features_as_of(ctx: RunContext, as_of: date) -> DataFrame:
    """Compute the features of every customer as of ``as_of`` and write that partition."""
    lakehouse, config = ctx.lakehouse, ctx.config
    features = customer_features.transform(
        lakehouse.read(customer_history.CONTRACT.name),
        lakehouse.read(orders.CONTRACT.name),
        lakehouse.read(web_visits.CONTRACT.name),
        lakehouse.read(campaign_contacts.CONTRACT.name),
        lakehouse.read(complaints.CONTRACT.name),
        as_of=as_of,
        vocabulary=config.vocabulary,
        lookback_days=config.features.lookback_days,
        web_visit_days=config.features.web_visit_days,
    )
    contract = customer_features.contract(config.vocabulary)
    result = lakehouse.overwrite(contract, features, partition={"as_of_date": as_of})
    ctx.record("features", str(as_of), {"rows": result.metric("numOutputRows"), "version": result.version})
    ctx.log.info(
        "  %s as of %s: %d customers (version %d)",
        contract.name,
        as_of,
        result.metric("numOutputRows"),
        result.version,
    )
    return lakehouse.read(contract.name).where(f"as_of_date = DATE'{as_of.isoformat()}'")


def run(ctx: RunContext) -> None:
    """Compute the customer features as of the run date."""
    with step(f"gold: customer features as of {ctx.as_of}"):
        features_as_of(ctx, ctx.as_of)


if __name__ == "__main__":
    sys.exit(job_main("features", run))
