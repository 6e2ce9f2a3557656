"""ops.model_promotions: one row per decision about a newly trained model: promoted to champion, kept as
challenger, or a rollback; with both models' metrics on the same holdout."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
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
        "champion_profit DOUBLE, holdout_rows BIGINT, reason STRING NOT NULL, champion_flags STRING"
    ),
    grain="one row per promotion decision or rollback",
    comments={
        "decision": "promoted | challenger | rollback",
        "candidate_version": "the newly trained version (for a rollback: the version restored)",
        "champion_version": "the champion before the decision",
        "candidate_profit": "profit on the holdout at the candidate's balanced-objective threshold",
        "champion_profit": "profit on the same holdout at the champion's own threshold",
        "champion_flags": (
            "what is wrong with the champion after this decision, on this holdout: it loses to a baseline "
            "(ROC AUC or profit), or its profit is negative; null when nothing is. A first version is champion "
            "even when flagged: something must score"
        ),
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


def flags(metrics: Mapping[str, float], baselines: Mapping[str, Mapping[str, float]]) -> list[str]:
    """Why a model should not be trusted as it is, on a holdout: its profit is negative, or a baseline
    (``baselines``: name -> its roc_auc and profit on the same holdout) ranks or earns better."""
    found = []
    if metrics["profit"] < 0:
        found.append(f"holdout profit {metrics['profit']:.0f} is negative")
    for name, baseline in baselines.items():
        if baseline["roc_auc"] > metrics["roc_auc"]:
            found.append(f"ROC AUC {metrics['roc_auc']:.3f} < {baseline['roc_auc']:.3f} of {name}")
        if baseline["profit"] > metrics["profit"]:
            found.append(f"profit {metrics['profit']:.0f} < {baseline['profit']:.0f} of {name}")
    return found


def champions(decisions: Sequence[Mapping[str, Any]]) -> list[str]:
    """The champions in turn, replayed from the decisions oldest first (``history``): a
    promotion puts its version on top, a rollback returns to the version it restored. The last entry is
    the champion the decisions say; the one before it is what a rollback restores."""
    stack: list[str] = []
    for decision in decisions:
        version = str(decision["candidate_version"])
        if decision["decision"] == "promoted" and (not stack or stack[-1] != version):
            stack.append(version)
        elif decision["decision"] == "rollback":
            while stack and stack[-1] != version:
                stack.pop()
            stack = stack or [version]
    return stack


def previous_champion(champions_in_turn: Sequence[str], current: str) -> str:
    """The champion before ``current`` (``champions`` of the decisions)."""
    if not champions_in_turn or champions_in_turn[-1] != current:
        raise RollbackError(
            f"version {current} is not the champion {CONTRACT.name} records: nothing to roll back"
        )
    if len(champions_in_turn) < 2:
        raise RollbackError(f"version {current} has no earlier champion to restore")
    return champions_in_turn[-2]


def decision_row(
    decided: Mapping[str, Any], *, decided_at: datetime, run_id: str, as_of: date
) -> tuple[Any, ...]:
    """One row of the table, in contract order; columns the decision does not name are null."""
    row = {"decided_at": decided_at, "run_id": run_id, "as_of_date": as_of, **decided}
    return tuple(row.get(c) for c in CONTRACT.columns)


def backfill(as_of: date, champion_as_of: str | None) -> Verdict | None:
    """A model trained as of a date before the champion's never replaces it (a backfill of an earlier day
    must not undo what a later day trained)."""
    if champion_as_of and as_of < date.fromisoformat(champion_as_of):
        return Verdict(False, f"trained as of {as_of}, before the champion's {champion_as_of}: a backfill")
    return None


def decide(
    model_name: str,
    version: str,
    metrics: Mapping[str, float],
    champion_version: str | None,
    champion: Mapping[str, float] | None,
    *,
    as_of: date,
    champion_as_of: str | None = None,
    baselines: Mapping[str, Mapping[str, float]] | None = None,
) -> dict[str, Any]:
    """The gate's decision about a new acceptance version, as the table's columns (``decision_row`` adds
    when and which run): promoted or challenger, both models' metrics on the same holdout, and why; and
    ``flags`` of the champion it leaves against ``baselines`` on that holdout."""
    best_pr_auc, best_profit = (champion["pr_auc"], champion["profit"]) if champion else (None, None)
    verdict = backfill(as_of, champion_as_of) or gate(
        metrics["pr_auc"], metrics["profit"], best_pr_auc, best_profit
    )
    after = metrics if verdict.promote or not champion else champion
    found = flags(after, baselines or {})
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
        "champion_flags": "; ".join(found) or None,
    }


def decide_segments(
    model_name: str,
    version: str,
    silhouette: float,
    champion_version: str | None,
    comparison: Mapping[str, float] | None,
    *,
    as_of: date,
    champion_as_of: str | None = None,
) -> dict[str, Any]:
    """The gate for a segmentation version: promoted when its silhouette on today's customers is not
    worse than the champion's on the same customers; the share of customers keeping their value segment
    is reported (``comparison``: champion_silhouette, kept_share, customers)."""
    verdict = backfill(as_of, champion_as_of)
    if verdict is None and comparison is None:
        verdict = Verdict(True, "no champion to compare with")
    elif verdict is None:
        assert comparison is not None
        before, kept = comparison["champion_silhouette"], comparison["kept_share"]
        sign = ">=" if silhouette >= before - 1e-9 else "<"
        verdict = Verdict(
            sign == ">=",
            f"silhouette {silhouette:.3f} {sign} {before:.3f} on the same customers; "
            f"{kept:.1%} keep their value segment",
        )
    return {
        "model_name": model_name,
        "decision": "promoted" if verdict.promote else "challenger",
        "candidate_version": version,
        "champion_version": champion_version,
        "holdout_rows": int(comparison["customers"]) if comparison else None,
        "reason": verdict.reason,
    }


HISTORY_COLUMNS = (
    "model_name", "decided_at", "decision", "candidate_version", "champion_version", "champion_flags"
)  # fmt: skip


def history(decisions: Iterable[Mapping[str, Any]], model_name: str) -> list[dict[str, Any]]:
    """A model's decisions (rows of the table, ``HISTORY_COLUMNS``), oldest first: what ``champions``
    replays."""
    mine = (dict(d) for d in decisions if d["model_name"] == model_name)
    return sorted(mine, key=lambda d: d["decided_at"])


def newest_scores(scored: DataFrame, version_column: str) -> DataFrame:
    """The newest date of a scored gold table and the model versions that scored it (one row)."""
    return (
        scored.groupBy("as_of_date")
        .agg(F.collect_set(version_column).alias("versions"))
        .orderBy(F.col("as_of_date").desc())
        .limit(1)
    )


def champion_flags(history_rows: Sequence[Mapping[str, Any]], version: str) -> list[str]:
    """What the newest decision that left ``version`` champion flagged about it (``history`` rows)."""
    for d in reversed(history_rows):
        after = d["candidate_version"] if d["decision"] in ("promoted", "rollback") else d["champion_version"]
        if after == version:
            flags = d.get("champion_flags")
            return [f for f in flags.split("; ") if f] if isinstance(flags, str) else []
    return []
