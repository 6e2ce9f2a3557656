"""`lakehouse models`: the registered models' aliases, and rolling the champion back."""

from __future__ import annotations

import argparse

from pyspark.sql import functions as F

from gold import model_promotions
from jobs.common import add_config_arguments, start_context
from jobs.registry import ACCEPTANCE_MODEL
from jobs.train_acceptance import CHALLENGER, record_decision
from pipelines import tracking
from pipelines.runtime import RunContext


class RollbackError(RuntimeError):
    """There is no earlier champion to restore."""


def previous_champion(promoted_in_order: list[str], current: str) -> str:
    """The champion promoted before ``current`` (promotions oldest first)."""
    history = [v for i, v in enumerate(promoted_in_order) if i == 0 or v != promoted_in_order[i - 1]]
    if current not in history or history.index(current) == 0:
        raise RollbackError(f"version {current} has no earlier promoted champion to restore")
    return history[history.index(current) - 1]


def rollback(ctx: RunContext, name: str = ACCEPTANCE_MODEL) -> str:
    """Make the previous champion champion again; the rolled-back version becomes challenger."""
    client = tracking.configure(ctx.config)
    current = tracking.get_alias(client, name).version
    if not ctx.lakehouse.exists(model_promotions.CONTRACT.name):
        raise RollbackError(f"{model_promotions.CONTRACT.name} does not exist: no promotion to roll back")
    promoted = [
        r["candidate_version"]
        for r in ctx.lakehouse.read(model_promotions.CONTRACT.name)
        .where((F.col("model_name") == name) & (F.col("decision") == "promoted"))
        .orderBy("decided_at", F.col("candidate_version").cast("int"))
        .collect()
    ]
    restored = previous_champion(promoted, current)
    tracking.set_alias(client, name, restored)
    tracking.set_alias(client, name, current, CHALLENGER)
    record_decision(
        ctx,
        {
            "model_name": name,
            "decision": "rollback",
            "candidate_version": restored,
            "champion_version": current,
            "reason": f"rolled back from version {current} to {restored} by request",
        },
    )
    ctx.log.info(
        "%s: champion is version %s again (version %s is now %s)", name, restored, current, CHALLENGER
    )
    return restored


def main(args: argparse.Namespace) -> int:
    args.as_of, args.run_id = None, None
    ctx = start_context(args, "lakehouse-models")
    if args.action == "rollback":
        rollback(ctx, args.model)
    ctx.log.info("run report: %s", ctx.write_report())
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    back = add_config_arguments(
        actions.add_parser(
            "rollback", help="make the previous champion champion again (recorded in ops.model_promotions)"
        )
    )
    back.add_argument(
        "--model", default=ACCEPTANCE_MODEL, help=f"registered model (default {ACCEPTANCE_MODEL})"
    )
    back.add_argument("--run-id", default=None, help=argparse.SUPPRESS)
    back.set_defaults(handler=main)
    return parser
