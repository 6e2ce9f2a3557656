"""Compute gold.customer_features as of the run date (and as of the contact date training needs) and the
responses of completed campaigns."""

from __future__ import annotations

import sys

from gold import campaign_responses, customer_features
from jobs.common import job_main
from ops import dq_results
from pipelines import runner
from pipelines.log import step
from pipelines.runtime import RunContext


def run(ctx: RunContext) -> None:
    """Compute gold.customer_features as of the run date and each training date, and campaign responses.

    Training describes each contacted customer as of the campaign's contact date, hence the extra dates."""
    with step(f"gold: customer features as of {ctx.as_of}"):
        runner.refresh(ctx, customer_features.TABLE, dq_results.TABLE)
    with step("gold: responses of completed campaigns"):
        runner.refresh(ctx, campaign_responses.TABLE, dq_results.TABLE)
        responses = runner.read(ctx, campaign_responses.TABLE)
        window = ctx.config.model.training_window_days
        dates = [r[0] for r in campaign_responses.training_dates(responses, ctx.as_of, window).collect()]
    for as_of in dates:
        with step(f"gold: customer features as of {as_of} (a completed campaign's contact date)"):
            runner.refresh(ctx, customer_features.TABLE, dq_results.TABLE, as_of=as_of)


if __name__ == "__main__":
    sys.exit(job_main("features", run))
