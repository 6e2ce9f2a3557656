"""`lakehouse models rollback`: make the previous champion champion again."""

from __future__ import annotations

from gold import acceptance_training as at
from jobs.common import record_decision
from ops import model_promotions
from pipelines import runner, tracking
from pipelines.runtime import RunContext


def rollback(ctx: RunContext, name: str = at.MODEL_NAME) -> str:
    """Make the previous champion champion again; the rolled-back version becomes challenger."""
    client = tracking.configure(ctx.config)
    current = tracking.get_alias(client, name).version
    if not ctx.lakehouse.exists(model_promotions.TABLE.name):
        raise model_promotions.RollbackError(
            f"{model_promotions.TABLE.name} does not exist: no promotion to roll back"
        )
    promoted = model_promotions.promoted_versions(runner.read(ctx, model_promotions.TABLE), name)
    restored = model_promotions.previous_champion(promoted, current)
    tracking.set_alias(client, name, restored)
    tracking.set_alias(client, name, current, model_promotions.CHALLENGER)
    reason = f"rolled back from version {current} to {restored} by request"
    decision = {"model_name": name, "decision": "rollback", "candidate_version": restored}
    record_decision(ctx, {**decision, "champion_version": current, "reason": reason})
    ctx.log.info("%s: champion is version %s again (version %s is now challenger)", name, restored, current)
    return restored
