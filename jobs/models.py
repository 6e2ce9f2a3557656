"""`lakehouse models rollback`: make the previous champion champion again; and what every decision
about a champion shares: recorded in ops.model_promotions before the alias moves, so a run cut off
between the two is finished by the next one."""

from __future__ import annotations

from typing import Any

import mlflow

from gold import acceptance_training as at
from gold import customer_marketing, customer_segments
from gold import segmentation as seg
from jobs.common import record_decision
from ops import model_promotions
from pipelines import runner, tracking
from pipelines.runtime import RunContext

MODELS = (at.MODEL_NAME, seg.MODEL_NAME)
# where each model's scores land, and the column naming the version that scored them
SCORED_BY = {
    at.MODEL_NAME: (customer_marketing.TABLE, "acceptance_model_version"),
    seg.MODEL_NAME: (customer_segments.TABLE, "model_version"),
}


def decisions(ctx: RunContext, name: str) -> list[dict[str, Any]]:
    """The model's rows of ops.model_promotions, oldest first."""
    if not ctx.lakehouse.exists(model_promotions.TABLE.name):
        return []
    # read from its files (a few rows: no Spark job before training); ``history`` picks the model's
    rows = ctx.lakehouse.rows(model_promotions.TABLE.name, model_promotions.HISTORY_COLUMNS)
    return model_promotions.history(rows, name)


def decided(history: list[dict[str, Any]], version: str) -> bool:
    """Whether ``history`` (``decisions``) holds a gate's decision about ``version``."""
    return any(d["candidate_version"] == version and d["decision"] != "rollback" for d in history)


def settle(
    ctx: RunContext, client: mlflow.MlflowClient, name: str, history: list[dict[str, Any]]
) -> str | None:
    """When the last recorded decision did not reach the registry (a run cut off between the row and
    the alias), move the alias as recorded; returns the champion so restored, None when in step."""
    in_turn = model_promotions.champions(history)
    current = tracking.champion(client, name)
    if not in_turn or (current is not None and current.version == in_turn[-1]):
        return None
    tracking.set_alias(client, name, in_turn[-1])
    ctx.log.info(
        "  %s: the last decision recorded in %s makes version %s champion (the registry said %s): done now",
        name, model_promotions.TABLE.name, in_turn[-1], current.version if current else "none",
    )  # fmt: skip
    return in_turn[-1]


def decide(ctx: RunContext, client: mlflow.MlflowClient, decision: dict[str, Any]) -> str:
    """Record a promoted/challenger decision, then move the alias it names; returns the alias."""
    alias = tracking.CHAMPION if decision["decision"] == "promoted" else model_promotions.CHALLENGER
    record_decision(ctx, decision)
    tracking.set_alias(client, decision["model_name"], decision["candidate_version"], alias)
    return alias


def rescore_hint(ctx: RunContext, name: str, version: str) -> str:
    """Whether gold still holds scores of ``version`` at its newest date."""
    table, column = SCORED_BY[name]
    if not ctx.lakehouse.exists(table.name):
        return f"{table.name} does not exist yet"
    row = model_promotions.newest_scores(runner.read(ctx, table), column).first()
    if row is None or version not in row[1]:
        return f"{table.name} holds no score of version {version} at its newest date"
    return (
        f"{table.name} as of {row[0]} was scored with version {version}: "
        f"run `lakehouse score --as-of {row[0]}` to rescore it"
    )


def rollback(ctx: RunContext, name: str = at.MODEL_NAME) -> str:
    """Make the champion before the current one champion again (walking the recorded decisions,
    rollbacks included); the rolled-back version becomes challenger. The decision is recorded first."""
    if name not in MODELS:
        raise model_promotions.RollbackError(f"unknown model {name!r}; known: {', '.join(MODELS)}")
    client = tracking.configure(ctx.config)
    if not ctx.lakehouse.exists(model_promotions.TABLE.name):
        raise model_promotions.RollbackError(
            f"{model_promotions.TABLE.name} does not exist: no promotion to roll back"
        )
    history = decisions(ctx, name)
    settled = settle(ctx, client, name, history)
    if settled is not None:
        ctx.log.info("%s: champion is version %s as recorded; run again to roll back further", name, settled)
        return settled
    current = tracking.get_alias(client, name).version
    restored = model_promotions.previous_champion(model_promotions.champions(history), current)
    reason = f"rolled back from version {current} to {restored} by request"
    decision = {"model_name": name, "decision": "rollback", "candidate_version": restored}
    record_decision(ctx, {**decision, "champion_version": current, "reason": reason})
    tracking.set_alias(client, name, restored)
    tracking.set_alias(client, name, current, model_promotions.CHALLENGER)
    ctx.log.info("%s: champion is version %s again (version %s is now challenger)", name, restored, current)
    ctx.log.info("  %s", rescore_hint(ctx, name, current))
    return restored
