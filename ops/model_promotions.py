"""ops.model_promotions: one row per decision about a newly trained model: promoted to champion, kept as
challenger, or a rollback; with both models' metrics on the same holdout."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from pipelines.contract import Contract
from pipelines.declare import Table
from pipelines.errors import PipelineError

CONTRACT = Contract(
    name="ops.model_promotions",
    ddl=(
        "model_name STRING NOT NULL, decided_at TIMESTAMP NOT NULL, run_id STRING NOT NULL, "
        "as_of_date DATE NOT NULL, decision STRING NOT NULL, candidate_version STRING NOT NULL, "
        "champion_version STRING, candidate_pr_auc DOUBLE, champion_pr_auc DOUBLE, candidate_profit DOUBLE, "
        "champion_profit DOUBLE, holdout_rows BIGINT, reason STRING NOT NULL"
    ),
    grain="one row per promotion decision or rollback",
    comments={
        "decision": "promoted | challenger | rollback",
        "candidate_version": "the newly trained version (for a rollback: the version restored)",
        "champion_version": "the champion before the decision",
        "candidate_profit": "profit on the holdout at the candidate's balanced-objective threshold",
        "champion_profit": "profit on the same holdout at the champion's own threshold",
    },
)


TABLE = Table(CONTRACT, stage="train", write="append", description="every champion/challenger decision")
CHALLENGER = "challenger"


class RollbackError(PipelineError):
    """There is no earlier champion to restore."""


@dataclass(frozen=True)
class Verdict:
    promote: bool
    reason: str


def gate(
    candidate_pr_auc: float,
    candidate_profit: float,
    champion_pr_auc: float | None,
    champion_profit: float | None,
) -> Verdict:
    """A candidate replaces the champion only if it is at least as good on both PR AUC and profit."""
    if champion_pr_auc is None or champion_profit is None:
        return Verdict(True, "no champion to compare with")
    better_ranking = candidate_pr_auc >= champion_pr_auc
    better_profit = candidate_profit >= champion_profit
    if better_ranking and better_profit:
        return Verdict(
            True,
            f"PR AUC {candidate_pr_auc:.3f} >= {champion_pr_auc:.3f} and profit {candidate_profit:.0f} >= {champion_profit:.0f}",
        )
    worse = []
    if not better_ranking:
        worse.append(f"PR AUC {candidate_pr_auc:.3f} < {champion_pr_auc:.3f}")
    if not better_profit:
        worse.append(f"profit {candidate_profit:.0f} < {champion_profit:.0f}")
    return Verdict(False, "; ".join(worse))


def previous_champion(promoted_in_order: Sequence[str], current: str) -> str:
    """The champion promoted before ``current`` (promotions oldest first)."""
    history = [v for i, v in enumerate(promoted_in_order) if i == 0 or v != promoted_in_order[i - 1]]
    if current not in history or history.index(current) == 0:
        raise RollbackError(f"version {current} has no earlier promoted champion to restore")
    return history[history.index(current) - 1]


def decision_row(
    decided: Mapping[str, Any], *, decided_at: datetime, run_id: str, as_of: date
) -> tuple[Any, ...]:
    """One row of the table, in contract order; columns the decision does not name are null."""
    row = {"decided_at": decided_at, "run_id": run_id, "as_of_date": as_of, **decided}
    return tuple(row.get(c) for c in CONTRACT.columns)


def decide(
    model_name: str,
    version: str,
    metrics: Mapping[str, float],
    champion_version: str | None,
    champion: Mapping[str, float] | None,
) -> dict[str, Any]:
    """The gate's decision about a new version, as the table's columns (``decision_row`` adds when and
    which run): promoted or challenger, both models' metrics on the same holdout, and why."""
    best_pr_auc, best_profit = (champion["pr_auc"], champion["profit"]) if champion else (None, None)
    verdict = gate(metrics["pr_auc"], metrics["profit"], best_pr_auc, best_profit)
    return {
        "model_name": model_name,
        "decision": "promoted" if verdict.promote else "challenger",
        "candidate_version": version,
        "champion_version": champion_version,
        "candidate_pr_auc": metrics["pr_auc"],
        "champion_pr_auc": best_pr_auc,
        "candidate_profit": metrics["profit"],
        "champion_profit": best_profit,
        "holdout_rows": int(metrics["holdout_rows"]),
        "reason": verdict.reason,
    }


def promoted_versions(promotions: DataFrame, model_name: str) -> list[str]:
    """The versions promoted to champion, oldest first (what ``previous_champion`` walks)."""
    promoted = promotions.where((F.col("model_name") == model_name) & (F.col("decision") == "promoted"))
    ordered = promoted.orderBy("decided_at", F.col("candidate_version").cast("int"))
    return [r["candidate_version"] for r in ordered.select("candidate_version").collect()]
