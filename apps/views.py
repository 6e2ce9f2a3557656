"""What the marketers' app shows, as pure functions of the gold tables read into pandas (no Streamlit here:
the app lays them out, the tests check them)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from gold.objectives import contact_column
from ops import model_promotions

TARGET_COLUMNS = ["customer_id", "segment_name", "acceptance_probability", "expected_profit", "decile"]

# (rule, action): the first rule a segment meets names its action. Spend, recency and orders are the
# segment's medians relative to the median segment's (1.0 = typical).
ACTIONS = (
    ("high value, lapsing", "win-back: a personal offer before they are gone"),
    ("high value, recent", "retain: loyalty perks and early access, no discount needed"),
    ("frequent, low value", "cross-sell: a category they do not buy yet, basket-building offers"),
    ("low value, lapsing", "reactivate cheaply: email and app only, no paid contact"),
    ("otherwise", "nurture: the regular newsletter, contact when the model says so"),
)


def suggested_action(spend: float, recency: float, orders: float) -> str:
    """The action for a segment from its medians relative to the typical segment's."""
    high, lapsing, frequent = spend >= 1.2, recency >= 1.2, orders >= 1.0
    if high and lapsing:
        return ACTIONS[0][1]
    if high:
        return ACTIONS[1][1]
    if frequent:
        return ACTIONS[2][1]
    if lapsing:
        return ACTIONS[3][1]
    return ACTIONS[4][1]


def segments(profiles: pd.DataFrame) -> pd.DataFrame:
    """One row per segment of a date's ``gold.segment_profiles``: size, share, medians, revenue share,
    past and expected acceptance, and the suggested action; largest revenue share first."""
    typical = {c: profiles[f"median_{c}"].median() for c in ("spend_total", "recency_days", "orders_total")}

    def relative(row: pd.Series, column: str) -> float:
        base = typical[column]
        return float(row[f"median_{column}"] / base) if base else 1.0

    view = pd.DataFrame(
        {
            "segment": profiles["segment_name"],
            "customers": profiles["customers"],
            "share": profiles["customers"] / profiles["customers"].sum(),
            "median spend": profiles["median_spend_total"],
            "median orders": profiles["median_orders_total"],
            "median days since last order": profiles["median_recency_days"],
            "revenue share": profiles["revenue_share"],
            "past acceptance": profiles["past_acceptance_rate"],
            "expected acceptance": profiles["mean_acceptance_probability"],
            "suggested action": [
                suggested_action(
                    relative(row, "spend_total"), relative(row, "recency_days"), relative(row, "orders_total")
                )
                for _, row in profiles.iterrows()
            ],
        }
    )
    return view.sort_values("revenue share", ascending=False).reset_index(drop=True)


def targets(marketing: pd.DataFrame, objective: str | None, budget: int | None) -> pd.DataFrame:
    """Whom to contact on the latest date: those an objective flags, or the ``budget`` most likely to accept
    (both: the most likely ``budget`` among the objective's); best first (as ``lakehouse targets``)."""
    rows = marketing.reset_index(drop=True)
    chosen = rows[rows[contact_column(objective)]] if objective else rows
    ranked = chosen.sort_values(["acceptance_probability", "customer_id"], ascending=[False, True])
    return (ranked.head(budget) if budget else ranked).reset_index(drop=True)


def totals(chosen: pd.DataFrame) -> Mapping[str, Any]:
    """Contacts, expected acceptances and expected profit of a target list."""
    return {
        "contacts": len(chosen),
        "acceptances": float(chosen["acceptance_probability"].sum()),
        "profit": float(chosen["expected_profit"].sum()),
    }


def champion_flags(promotions: pd.DataFrame, model: str, version: str) -> str | None:
    """What the newest decision that left ``version`` of ``model`` champion flagged about it
    (``ops.model_promotions`` rows), or None."""
    if "champion_flags" not in promotions:
        return None
    rows = model_promotions.history(promotions.to_dict("records"), model)
    return "; ".join(model_promotions.champion_flags(rows, version)) or None
