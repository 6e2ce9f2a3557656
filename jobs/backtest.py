"""`lakehouse backtest`: would the model have helped on the last campaigns? For each of the last N completed
campaigns, as of its first contact: train on the campaigns completed before it, score its contacts, and
compare with the baselines on the same contacts. The last line printed is JSON."""

from __future__ import annotations

import json

import mlflow
import pandas as pd

from gold import acceptance_training as at
from gold import campaign_responses, customer_features, figures
from jobs import features as features_job
from jobs import train
from ops import dq_results
from pipelines import runner, tracking
from pipelines.log import step
from pipelines.runtime import RunContext


def run(ctx: RunContext, campaigns: int, last_only: bool, min_acceptances: int = 10) -> dict[str, object]:
    """Print the per-campaign comparison and, last, the JSON line of means over the judged campaigns."""
    responses = runner.read(ctx, campaign_responses.TABLE)
    completed = features_job.completed(ctx, responses, window_days=100 * 365)
    plans = at.backtest_plans(completed, ctx.config.model, campaigns, last_only, min_acceptances)
    have = {r[0] for r in runner.read(ctx, customer_features.TABLE).select("as_of_date").distinct().collect()}
    missing = sorted({d for p in plans for d in p.dates} - have)
    if missing:
        runner.refresh(ctx, customer_features.TABLE, dq_results.TABLE, dates=missing)
    features = runner.read_dates(ctx, customer_features.TABLE, sorted({d for p in plans for d in p.dates}))
    rows = []
    for plan in plans:
        judged = plan.holdout[0].campaign_id
        with step(f"backtest: {judged}, {plan.describe()}"):
            labelled = at.labelled(features, responses, plan, ctx.config).persist()
            try:
                progress = lambda line: ctx.log.info("  %s", line)  # noqa: E731
                config = train.with_inputs(ctx, labelled).config
                table = at.backtest(labelled, plan, config, progress)
            finally:
                labelled.unpersist()
        rows.append(table[at.BACKTEST_COLUMNS].reset_index(names="model").assign(campaign_id=judged))
    per_campaign = pd.concat(rows, ignore_index=True)
    summary = at.backtest_summary(per_campaign)
    _log(ctx, per_campaign, summary, last_only)
    pd.set_option("display.width", 200)
    print("\n" + per_campaign.set_index(["campaign_id", "model"]).round(3).to_string())
    print(json.dumps(summary))
    return summary


def _log(ctx: RunContext, per_campaign: pd.DataFrame, summary: dict[str, object], last_only: bool) -> None:
    tracking.configure(ctx.config)
    values = {
        model: {
            f"{r.campaign_id}:{m}": float(getattr(r, m))
            for r in group.itertuples()
            for m in ("roc_auc", "pr_auc")
        }
        for model, group in per_campaign.groupby("model")
    }
    with mlflow.start_run(run_name=f"backtest {ctx.as_of}"):
        tracking.log(
            params={
                "as_of": str(ctx.as_of),
                "campaigns": summary["campaigns"],
                "last_campaign_only": last_only,
            },
            metrics={k: float(v) for k, v in summary.items() if isinstance(v, float)},
            tables={"backtest.json": per_campaign},
        )
        mlflow.log_figure(figures.per_campaign(values, ["roc_auc", "pr_auc"]), "backtest.png")
