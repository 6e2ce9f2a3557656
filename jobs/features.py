"""Compute gold.customer_features as of the run date."""

from __future__ import annotations

import sys
from datetime import date

from pyspark.sql import DataFrame

from gold import campaign_responses, customer_features
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


def write_responses(ctx: RunContext, responses: DataFrame) -> None:
    """MERGE campaign responses into gold.campaign_responses (reruns change nothing)."""
    result = ctx.lakehouse.merge(campaign_responses.CONTRACT, responses)
    ctx.record("features", campaign_responses.CONTRACT.name, {"version": result.version, **result.metrics})
    ctx.log.info(
        "  %s: %d inserted, %d updated (version %d)",
        campaign_responses.CONTRACT.name,
        result.metric("numTargetRowsInserted"),
        result.metric("numTargetRowsUpdated"),
        result.version,
    )


def run(ctx: RunContext) -> None:
    """Compute the customer features as of the run date, the responses of completed campaigns, and the
    features as of the latest completed campaign's contact date (what the acceptance model trains on)."""
    with step(f"gold: customer features as of {ctx.as_of}"):
        features_as_of(ctx, ctx.as_of)
    with step("gold: responses of completed campaigns"):
        responses = campaign_responses.transform(
            ctx.lakehouse.read(campaign_contacts.CONTRACT.name),
            as_of=ctx.as_of,
            response_window_days=ctx.config.model.response_window_days,
        )
        write_responses(ctx, responses)
        latest = campaign_responses.latest_campaign(
            ctx.lakehouse.read(campaign_responses.CONTRACT.name), ctx.as_of
        ).collect()
    if latest and latest[0]["features_as_of"] != ctx.as_of:
        campaign = latest[0]
        with step(
            f"gold: customer features as of {campaign['features_as_of']} (campaign {campaign['campaign_id']})"
        ):
            features_as_of(ctx, campaign["features_as_of"])


if __name__ == "__main__":
    sys.exit(job_main("features", run))
