"""Data-quality checks: a check is a named Column condition plus an action.

- ``warn``: the row is kept; the failure is counted and reported.
- ``quarantine``: the row leaves the main table and lands in the table's quarantine with every rule it failed.
- ``fail``: any failure (or a failure ratio above ``max_ratio``) stops the run with an error naming the rule.

A null condition counts as a failure, so a check must say explicitly when null is acceptable.
All checks of a table are evaluated in one pass.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from pipelines.errors import PipelineError

Action = Literal["warn", "quarantine", "fail"]
ACTIONS: tuple[str, ...] = ("warn", "quarantine", "fail")
FAILED_RULES = "_failed_rules"
QUARANTINE_RULES = "_quarantine_rules"


class DataQualityError(PipelineError):
    """A ``fail`` check failed, or a check's failure ratio exceeded its threshold."""


@dataclass(frozen=True)
class Check:
    name: str
    condition: Callable[[], Column]  # True = the row passes; built lazily (Columns need a session)
    action: Action = "quarantine"
    max_ratio: float | None = None  # largest tolerated share of failing rows; None = any for warn/quarantine
    description: str = ""

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"check {self.name}: action must be one of {ACTIONS}, not {self.action!r}")


@dataclass(frozen=True)
class RuleResult:
    table: str
    rule: str
    action: str
    evaluated: int
    failed: int
    max_ratio: float | None
    outcome: str  # passed | warned | quarantined | failed

    @property
    def ratio(self) -> float:
        return self.failed / self.evaluated if self.evaluated else 0.0


def _failures(checks: Sequence[Check]) -> Column:
    names = [F.when(~F.coalesce(c.condition(), F.lit(False)), F.lit(c.name)) for c in checks]
    if not names:
        return F.array().cast("array<string>")
    return F.filter(F.array(*names), lambda n: n.isNotNull())


def flag(df: DataFrame, checks: Sequence[Check]) -> DataFrame:
    """Add ``_failed_rules`` (every rule the row fails) and ``_quarantine_rules`` (those that remove it)."""
    quarantining = {c.name for c in checks if c.action == "quarantine"}
    return df.withColumn(FAILED_RULES, _failures(checks)).withColumn(
        QUARANTINE_RULES,
        F.filter(F.col(FAILED_RULES), lambda n: n.isin(*quarantining) if quarantining else F.lit(False)),
    )


def is_quarantined() -> Column:
    return F.size(QUARANTINE_RULES) > 0


def evaluate(
    table: str, flagged: DataFrame, checks: Sequence[Check], also: Mapping[str, Column] | None = None
) -> tuple[list[RuleResult], dict[str, int]]:
    """Count failures of every rule in one aggregation and decide each rule's outcome; ``also``: more
    counts computed in the same pass (returned by name)."""
    extra = dict(also or {})
    aggregates = [
        F.count(F.lit(1)).alias("_evaluated"),
        *[F.count_if(F.array_contains(FAILED_RULES, c.name)).alias(f"r{i}") for i, c in enumerate(checks)],
        *[column.alias(f"also_{n}") for n, column in extra.items()],
    ]
    row = flagged.agg(*aggregates).collect()[0]
    evaluated = int(row["_evaluated"])
    results = []
    for i, check in enumerate(checks):
        failed = int(row[f"r{i}"])
        ratio = failed / evaluated if evaluated else 0.0
        over = check.max_ratio is not None and ratio > check.max_ratio
        if failed == 0:
            outcome = "passed"
        elif check.action == "fail" or over:
            outcome = "failed"
        else:
            outcome = {"warn": "warned", "quarantine": "quarantined"}[check.action]
        results.append(
            RuleResult(table, check.name, check.action, evaluated, failed, check.max_ratio, outcome)
        )
    return results, {n: int(row[f"also_{n}"] or 0) for n in extra}


def raise_on_failure(results: Sequence[RuleResult], checks: Sequence[Check]) -> None:
    described = {c.name: c.description for c in checks}
    failed = [r for r in results if r.outcome == "failed"]
    if failed:
        lines = [
            f"{r.table}: rule {r.rule!r} ({described.get(r.rule) or r.action}) failed on {r.failed} of "
            f"{r.evaluated} rows ({r.ratio:.2%}"
            + (f" > tolerated {r.max_ratio:.2%})" if r.max_ratio is not None else ")")
            for r in failed
        ]
        raise DataQualityError("data-quality gate stopped the run:\n  " + "\n  ".join(lines))


def unique(*columns: str, action: Action = "fail") -> Check:
    """The columns identify a row: no other row of the output has the same values."""
    from pyspark.sql import Window

    return Check(
        f"{'_'.join(columns)}_unique",
        lambda: F.count(F.lit(1)).over(Window.partitionBy(*columns)) == 1,
        action,
        description=f"one row per {', '.join(columns)}",
    )


def results_line(results: Sequence[RuleResult]) -> str:
    """``rule: N row(s) warned`` for every rule that did not pass, one per line."""
    return "\n".join(f"{r.rule}: {r.failed} row(s) {r.outcome}" for r in results if r.outcome != "passed")
