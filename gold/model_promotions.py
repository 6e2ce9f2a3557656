"""ops.model_promotions: one row per decision about a newly trained model: promoted to champion, kept as
challenger, or a rollback; with both models' metrics on the same holdout."""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.contract import Contract

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
