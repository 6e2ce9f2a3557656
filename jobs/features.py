"""Compute gold.customer_features as of the run date, and as of each completed campaign's contact date (training
describes each contacted customer as of then), and the responses of completed campaigns."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import date

from gold import campaign_responses, customer_features
from jobs.common import job_main
from ops import dq_results
from pipelines import runner
from pipelines.log import step
from pipelines.runtime import RunContext


def compute(ctx: RunContext, dates: Sequence[date]) -> None:
    """gold.customer_features as of every date of ``dates`` that is not current, in one computation and
    one commit; a date whose inputs did not change on or before it since it was computed is kept."""
    stale = runner.outdated(ctx, customer_features.TABLE, dates)
    for day in sorted(set(dates) - set(stale)):
        ctx.log.info("  features as of %s: kept (no input changed on or before that day)", day)
    if not stale:
        return
    listed = ", ".join(f"{d} ({why})" for d, why in sorted(stale.items()))
    with step(f"gold: customer features as of {listed}"):
        runner.refresh(ctx, customer_features.TABLE, dq_results.TABLE, dates=sorted(stale))


def responses(ctx: RunContext) -> list[date]:
    """The responses of every campaign completed by the run date (a MERGE that commits only what changed;
    skipped when the table's newest commit recorded the same contacts, date and code); returns the features dates training needs besides the run date."""
    table = campaign_responses.TABLE
    key = runner.inputs_key(ctx, table, [ctx.as_of])
    with step("gold: responses of completed campaigns"):
        if runner.written_from(ctx, table, key):
            ctx.log.info("  %s: kept (its newest commit was computed from the same contacts)", table.name)
        else:
            runner.refresh(ctx, table, dq_results.TABLE, metadata=key)
        window = ctx.config.model.training_window_days
        found = campaign_responses.training_dates(runner.read(ctx, table), ctx.as_of, window)
        return [r[0] for r in found.collect()]


def run_date(ctx: RunContext) -> None:
    """Compute gold.customer_features as of the run date (unless current)."""
    compute(ctx, [ctx.as_of])


def training_dates(ctx: RunContext) -> None:
    """Compute the responses of completed campaigns, and the features as of each one's contact date."""
    compute(ctx, responses(ctx))


def run(ctx: RunContext) -> None:
    """Compute gold.customer_features as of the run date and each training date, and campaign responses."""
    compute(ctx, [ctx.as_of, *responses(ctx)])


if __name__ == "__main__":
    sys.exit(job_main("features", run))
