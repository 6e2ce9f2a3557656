"""Compute gold.customer_features as of the run date, and as of each completed campaign's contact date (training
describes each contacted customer as of then), and the responses of completed campaigns."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import date

from pyspark.sql import DataFrame, Row
from pyspark.sql import functions as F

from gold import campaign_responses, customer_features
from jobs.common import job_main
from ops import dq_results
from pipelines import runner
from pipelines.log import step
from pipelines.quality import RuleResult
from pipelines.refine import record_results
from pipelines.runtime import RunContext
from silver import customer_history


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


def described(ctx: RunContext, dates: Sequence[date]) -> DataFrame:
    """(customer_id, as_of_date): whom gold.customer_features describes on each of ``dates``, by its rule on
    silver.customer_history (before they are computed); the rows written where that table is not the
    source (the CRM case's import)."""
    if ctx.lakehouse.exists(customer_history.TABLE.name):
        history = runner.read(ctx, customer_history.TABLE)
        return customer_features.described(history, dates).select("customer_id", "as_of_date")
    features = runner.read(ctx, customer_features.TABLE)
    return features.where(F.col("as_of_date").isin(*dates)).select("customer_id", "as_of_date")


def completed(ctx: RunContext, responses: DataFrame, window_days: int) -> list[Row]:
    """``campaign_responses.completed`` within ``window_days`` of the run date, counting the contacts the
    features describe on each campaign's contact date."""
    every = campaign_responses.completed(responses, ctx.as_of, window_days).collect()
    if not every:
        return every
    featured = described(ctx, sorted({r["features_as_of"] for r in every}))
    return campaign_responses.completed(responses, ctx.as_of, window_days, featured).collect()


def responses(ctx: RunContext) -> list[date]:
    """The responses of every campaign completed by the run date (a MERGE that commits only what changed;
    skipped when the table's newest commit recorded the same contacts, date and code); returns the features
    dates training needs besides the run date. A campaign's contacts made before their customers are known
    are counted (run log, ops.dq_results) and left out; a campaign with none known is skipped."""
    table = campaign_responses.TABLE
    key = runner.inputs_key(ctx, table, [ctx.as_of])
    with step("gold: responses of completed campaigns"):
        if runner.written_from(ctx, table, key):
            ctx.log.info("  %s: kept (its newest commit was computed from the same contacts)", table.name)
        else:
            runner.refresh(ctx, table, dq_results.TABLE, metadata=key)
        campaigns = completed(ctx, runner.read(ctx, table), ctx.config.model.training_window_days)
        for line in campaign_responses.undescribed(campaigns):
            ctx.log.info("  %s", line)
        _record_described(ctx, campaign_responses.described_results(campaigns))
        return campaign_responses.training_dates(campaigns, ctx.as_of)


def _record_described(ctx: RunContext, results: Sequence[RuleResult]) -> None:
    """The per-campaign counts in ops.dq_results, unless this run already recorded the same for the day
    (read from the table's files: a rerun commits nothing)."""
    if not results:
        return
    if ctx.lakehouse.exists(dq_results.TABLE.name):
        where = [("run_id", "=", ctx.run_id), ("as_of_date", "=", ctx.as_of)]
        where += [("table_name", "=", campaign_responses.CONTRACT.name)]
        recorded = ctx.lakehouse.rows(dq_results.TABLE.name, ("rule", "evaluated", "failed"), where)
        if {(r.rule, r.evaluated, r.failed) for r in results} <= {tuple(r.values()) for r in recorded}:
            return
    record_results(ctx, dq_results.TABLE, results, by_rule=True)


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
