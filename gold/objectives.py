"""Decisions from acceptance probabilities: expected profit, and who to contact under each business objective.

A contact costs ``contact_cost``; an acceptance earns ``revenue``. Ranking customers by probability, the
profit of contacting the top n is ``revenue * acceptances(n) - contact_cost * n``. Each objective is a point
on that curve, measured on labelled data the model did not train on (held-out or out-of-fold scores):

- aggressive_acquisition: the most contacts whose campaign still breaks even (profit >= 0);
- moderate: the most contacts that keep at least 90% of the best profit;
- balanced: the best profit;
- cost_saving: the fewest contacts that still earn 80% of the best profit.

The objective's probability threshold carries over to new customers; ``budget`` mode takes the best N instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from pyspark.sql import Column
from pyspark.sql import functions as F

OBJECTIVES = ("aggressive_acquisition", "moderate", "balanced", "cost_saving")
MODERATE_SHARE, COST_SAVING_SHARE = 0.9, 0.8


@dataclass(frozen=True)
class Economics:
    contact_cost: float = 3.0
    revenue: float = 11.0

    @property
    def break_even(self) -> float:
        """The probability at which one contact's expected profit is zero."""
        return self.contact_cost / self.revenue


@dataclass(frozen=True)
class Decision:
    objective: str
    threshold: float  # contact when probability >= threshold
    contacts: int
    acceptances: int
    profit: float
    contact_share: float

    def as_dict(self) -> dict[str, float | int | str]:
        return asdict(self)


def profit_curve(probabilities: Sequence[float], labels: Sequence[float], economics: Economics):  # type: ignore[no-untyped-def]
    """Sorted by probability (highest first), ties kept together: (thresholds, contacts, acceptances,
    profit) for contacting everyone at or above each distinct probability."""
    p = np.asarray(probabilities, dtype=float)
    y = np.asarray(labels, dtype=float)
    order = np.argsort(-p, kind="stable")
    p, y = p[order], y[order]
    last_of_tie = np.r_[p[1:] != p[:-1], True]
    contacts = np.arange(1, len(p) + 1)[last_of_tie]
    acceptances = np.cumsum(y)[last_of_tie]
    profit = economics.revenue * acceptances - economics.contact_cost * contacts
    return p[last_of_tie], contacts, acceptances, profit


def choose(
    probabilities: Sequence[float], labels: Sequence[float], economics: Economics
) -> dict[str, Decision]:
    """The four objectives' thresholds on labelled scores. Contacting nobody (profit 0) is always an option."""
    if len(probabilities) == 0:
        raise ValueError("no labelled scores to choose thresholds from")
    thresholds, contacts, acceptances, profit = profit_curve(probabilities, labels, economics)
    best = max(float(profit.max()), 0.0)
    total = len(probabilities)

    def decision(name: str, index: int | None) -> Decision:
        if index is None or profit[index] < 0 or (name != "aggressive_acquisition" and best == 0.0):
            return Decision(name, float("inf"), 0, 0, 0.0, 0.0)  # contacting anyone loses money
        return Decision(
            name,
            float(thresholds[index]),
            int(contacts[index]),
            int(acceptances[index]),
            float(profit[index]),
            float(contacts[index] / total),
        )

    def last(mask: np.ndarray) -> int | None:
        hits = np.flatnonzero(mask)
        return int(hits[-1]) if hits.size else None

    def first(mask: np.ndarray) -> int | None:
        hits = np.flatnonzero(mask)
        return int(hits[0]) if hits.size else None

    return {
        "aggressive_acquisition": decision("aggressive_acquisition", last(profit >= 0)),
        "moderate": decision("moderate", last(profit >= MODERATE_SHARE * best)),
        "balanced": decision("balanced", int(np.argmax(profit))),
        "cost_saving": decision("cost_saving", first(profit >= COST_SAVING_SHARE * best)),
    }


def expected_profit(probability: Column, economics: Economics) -> Column:
    return probability * F.lit(economics.revenue) - F.lit(economics.contact_cost)


def contact_column(objective: str) -> str:
    return f"contact_{objective}"
