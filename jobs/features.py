"""Compute gold.customer_features as of the run date, and as of each completed campaign's contact date (training
describes each contacted customer as of then), and the responses of completed campaigns."""

from __future__ import annotations

import sys
from datetime import date

from gold import campaign_responses, customer_features
from jobs.common import job_main
from ops import dq_results
from pipelines import runner
from pipelines.log import step
from pipelines.runtime import RunContext


def _unless_current(ctx: RunContext, as_of: date, what: str) -> None:
    """Compute gold.customer_features as of ``as_of``, unless it was computed by the same code from inputs
    that have not changed on or before that day since."""
    why = runner.outdated(ctx, customer_features.TABLE, as_of)
    if why is None:
        ctx.log.info("  features as of %s: kept (no input changed on or before that day)", as_of)
        return
    with step(f"gold: customer features as of {as_of} ({what}{why})"):
        runner.refresh(ctx, customer_features.TABLE, dq_results.TABLE, as_of=as_of)


def run_date(ctx: RunContext) -> None:
    """Compute gold.customer_features as of the run date (unless current)."""
    _unless_current(ctx, ctx.as_of, "")


def training_dates(ctx: RunContext) -> None:
    """Compute the responses of completed campaigns, and the features as of each one's contact date."""
    with step("gold: responses of completed campaigns"):
        runner.refresh_unless_done(ctx, campaign_responses.TABLE, dq_results.TABLE)
        window = ctx.config.model.training_window_days

        def dates() -> list[str]:
            responses = runner.read(ctx, campaign_responses.TABLE)
            found = campaign_responses.training_dates(responses, ctx.as_of, window).collect()
            return [str(r[0]) for r in found]

        code = runner.code_key(ctx, campaign_responses)
        key = {"as_of": ctx.as_of, "code": code, "inputs": runner.stamps(ctx, campaign_responses.TABLE)}
        remembered = runner.remembered(ctx, "training_dates", key, dates)
    for as_of in map(date.fromisoformat, remembered):
        _unless_current(ctx, as_of, "a completed campaign's contact date: ")


def run(ctx: RunContext) -> None:
    """Compute gold.customer_features as of the run date and each training date, and campaign responses."""
    run_date(ctx)
    training_dates(ctx)


if __name__ == "__main__":
    sys.exit(job_main("features", run))
