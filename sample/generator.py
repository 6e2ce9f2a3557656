"""Generate a delivery platform's raw files into the landing zone, deterministic for a seed.

Distributions follow the public CRM case (``docs/data.md``): income, kids, two years of spend per
category, purchases per channel, recency, web visits, five past campaigns and a pilot campaign with
~15% acceptance. Acceptance depends on a latent responsiveness (visible through past acceptances),
spend, recency at the contact date, tenure, marital status and education, so the signal is learnable
from the event data alone.

Files written, with the columns of the bronze sources' raw contracts (``docs/raw-contract.md``):
  customers/customers_<date>.csv       two CRM exports; the later one repeats changed customers
  orders/orders_<yyyy-mm>.jsonl        one file per month of orders
  web_visits/web_visits_<yyyy-mm>.jsonl
  campaign_contacts/contacts_<campaign>.csv
  complaints/complaints.csv

The random draws happen in a fixed order: the same seed writes the same bytes.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np

from bronze import campaign_contacts, complaints, customers, orders, web_visits

# Shares of two-year spend per category in the public case (wines 50%, meat 28%, ...).
BASE_CATEGORY_SHARES = {
    "wines": 0.50,
    "fruits": 0.043,
    "meat": 0.276,
    "fish": 0.062,
    "sweets": 0.044,
    "gold": 0.073,
}
# Share of purchases per channel in the public case (store 46%, web 33%, catalog 21%).
BASE_CHANNEL_SHARES = {"web": 0.33, "catalog": 0.21, "store": 0.46}
EDUCATION = {"Graduation": 0.503, "PhD": 0.217, "Master": 0.165, "2n Cycle": 0.091, "Basic": 0.024}
MARITAL = {
    "Married": 0.386,
    "Together": 0.259,
    "Single": 0.214,
    "Divorced": 0.104,
    "Widow": 0.034,
    "Alone": 0.003,
}
PAST_CAMPAIGNS = (  # campaign id, days before the end date, acceptance rate in the public case
    ("cmp1", 600, 0.064),
    ("cmp2", 480, 0.013),
    ("cmp3", 360, 0.073),
    ("cmp4", 240, 0.075),
    ("cmp5", 120, 0.073),
)
PILOT = ("cmp6", 30, 0.149)
CASE_SNAPSHOT_YEAR = 2014


@dataclass
class GenerationSummary:
    landing: Path
    customers: int
    files: dict[str, int] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    pilot_campaign: str = PILOT[0]
    pilot_acceptance_rate: float = 0.0


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _calibrate(logit: np.ndarray, target: float) -> np.ndarray:
    """Shift logits so the mean probability equals ``target`` (bisection on the intercept)."""
    lo, hi = -20.0, 20.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if _sigmoid(logit + mid).mean() < target:
            lo = mid
        else:
            hi = mid
    return _sigmoid(logit + (lo + hi) / 2)


def _shares(names: Sequence[str], base: dict[str, float]) -> np.ndarray:
    """Base shares for known names; an unknown (configured) name gets the smallest known share."""
    floor = min(base.values())
    raw = np.array([base.get(n, floor) for n in names], dtype=float)
    return raw / raw.sum()


def _ts(day: date, seconds: int | np.integer) -> str:
    moment = datetime.combine(day, time(0), tzinfo=timezone.utc) + timedelta(seconds=int(seconds))
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _z(x: np.ndarray) -> np.ndarray:
    return (x - x.mean()) / (x.std() + 1e-9)


def _record(source_columns: Sequence[str], *values: Any) -> dict[str, Any]:
    """A raw record with the source's columns, in the raw contract's order."""
    return dict(zip(source_columns, values, strict=True))


def _write_csv(path: Path, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        writer.writerows(rows)


def _write_lines(folder: Path, prefix: str, by_month: dict[str, list[str]]) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    for month, lines in sorted(by_month.items()):
        (folder / f"{prefix}_{month}.jsonl").write_text("\n".join(lines) + "\n")
    return len(by_month)


@dataclass(frozen=True)
class Population:
    """Every customer's attributes and habits, one array element per customer."""

    ids: np.ndarray
    education: np.ndarray
    marital: np.ndarray
    birth_year: np.ndarray
    income: np.ndarray
    income_z: np.ndarray
    kids: np.ndarray
    teens: np.ndarray
    signup_offset: np.ndarray  # days before the end date
    signup: np.ndarray
    tenure_z: np.ndarray
    spend: np.ndarray
    spend_z: np.ndarray
    taste: np.ndarray
    n_orders: np.ndarray
    recency: np.ndarray  # days since the last order at the end date

    @property
    def size(self) -> int:
        return len(self.ids)


def _population(rng: np.random.Generator, n: int, end_date: date, categories: Sequence[str]) -> Population:
    shift = end_date.year - CASE_SNAPSHOT_YEAR
    ids = np.sort(rng.choice(np.arange(1, n * 3 + 1), size=n, replace=False))
    education = rng.choice(list(EDUCATION), size=n, p=list(EDUCATION.values()))
    marital = rng.choice(list(MARITAL), size=n, p=np.array(list(MARITAL.values())) / sum(MARITAL.values()))
    birth_year = np.clip(np.round(rng.normal(1969, 11.7, n)), 1940, 1996).astype(int) + shift
    edu_income = np.select(
        [education == "PhD", education == "Master", education == "Basic"], [6000, 3000, -30000], 0
    )
    income = np.clip(rng.normal(51500, 20500, n) + edu_income, 1730, 160000).round(0)
    income_z = _z(income)
    kids = np.clip(np.round(rng.normal(0.44 - 0.45 * income_z, 0.45)), 0, 2).astype(int)
    teens = rng.choice([0, 1, 2], size=n, p=[0.52, 0.46, 0.02])
    signup_offset = rng.integers(1, 700, n)
    signup = np.array([end_date - timedelta(days=int(d)) for d in signup_offset])
    # Two-year spend spans 5 to ~2,500 in the case (median ~400), rising with income, falling with kids.
    latent = 0.75 * income_z - 0.45 * (kids - 0.44) / 0.54 - 0.15 * (teens - 0.5) + rng.normal(0, 0.5, n)
    active_fraction = np.minimum(signup_offset, 730) / 730
    spend = np.exp(np.clip(5.8 + 1.45 * latent, 1.6, 7.85)) * (0.7 + 0.3 * active_fraction)
    taste = rng.dirichlet(_shares(categories, BASE_CATEGORY_SHARES) * 15, size=n)
    n_orders = 1 + rng.poisson(2.0 + 0.42 * np.sqrt(spend))
    recency = rng.integers(0, 100, n)
    return Population(
        ids, education, marital, birth_year, income, income_z, kids, teens, signup_offset, signup,
        _z(signup_offset.astype(float)), spend, _z(np.log1p(spend)), taste, n_orders, recency,
    )  # fmt: skip


def _past_acceptances(
    rng: np.random.Generator, people: Population
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """A latent responsiveness, and who accepted each past campaign (driven by it and by spend)."""
    n = people.size
    responsive = rng.normal(0, 1, n)
    accepted = {}
    for campaign, _days_before, rate in PAST_CAMPAIGNS:
        logit = 1.7 * responsive + 0.9 * people.spend_z + rng.normal(0, 0.5, n)
        accepted[campaign] = rng.random(n) < _calibrate(logit, rate)
    return responsive, accepted


def _customer_orders(
    rng: np.random.Generator,
    people: Population,
    i: int,
    end_date: date,
    vocabulary: tuple[Sequence[str], Sequence[str]],
) -> tuple[list[tuple[date, dict[str, Any]]], int]:
    """One customer's orders (day, record without order_id) and their last order's distance to the pilot."""
    categories, channels = vocabulary
    window_start = min(max(int(people.signup_offset[i]), 0), 730)
    last = int(people.recency[i])
    if last >= window_start:
        last = max(window_start - 1, 0)
    # the last order is `last` days before the end; the others are spread between signup and it
    count = people.n_orders[i]
    offsets = np.concatenate(([last], rng.integers(last, max(window_start, last + 1), count - 1)))
    amounts = people.spend[i] * rng.dirichlet(np.ones(count))
    catalog_boost = np.where(
        np.array(channels) == "catalog", np.clip(people.spend[i] / 600, 0.2, 3.0) ** 0.8, 1.0
    )
    chan_p = _shares(channels, BASE_CHANNEL_SHARES) * catalog_boost
    chan_p /= chan_p.sum()
    deal_p = np.clip(
        0.10 + 0.12 * people.kids[i] + 0.08 * people.teens[i] - 0.04 * people.income_z[i], 0.02, 0.6
    )
    before_pilot = offsets[offsets > PILOT[1]]
    last_before_pilot = int(before_pilot.min()) - PILOT[1] if before_pilot.size else -1
    placed = []
    for offset, amount in zip(offsets, amounts, strict=True):
        day = end_date - timedelta(days=int(offset) + 1)
        k = min(len(categories), 1 + rng.binomial(3, 0.5))
        picked = rng.choice(len(categories), size=k, replace=False, p=people.taste[i])
        weights = people.taste[i][picked] / people.taste[i][picked].sum()
        items = [
            {"category": categories[c], "amount": round(float(amount * w), 2)}
            for c, w in zip(picked, weights, strict=True)
        ]
        ordered_at = _ts(day, rng.integers(8 * 3600, 23 * 3600))
        channel = str(rng.choice(channels, p=chan_p))
        is_deal = bool(rng.random() < deal_p)
        placed.append(
            (day, {"ordered_at": ordered_at, "channel": channel, "is_deal": is_deal, "items": items})
        )
    return placed, last_before_pilot


def _write_orders(
    rng: np.random.Generator,
    landing: Path,
    people: Population,
    end_date: date,
    vocabulary: tuple[Sequence[str], Sequence[str]],
) -> tuple[int, int, np.ndarray]:
    """Every customer's orders, one file per month; returns (files, orders, days from the last order
    before the pilot to the pilot, -1 for none)."""
    columns = orders.SOURCE.raw_columns
    by_month: dict[str, list[str]] = {}
    last_before_pilot = np.full(people.size, -1, dtype=int)
    order_no = 0
    for i in range(people.size):
        placed, last_before_pilot[i] = _customer_orders(rng, people, i, end_date, vocabulary)
        for day, values in placed:
            order_no += 1
            record = _record(columns, f"O{order_no:08d}", int(people.ids[i]), *values.values())
            by_month.setdefault(day.strftime("%Y-%m"), []).append(json.dumps(record))
    return _write_lines(landing / "orders", "orders", by_month), order_no, last_before_pilot


def _pilot_acceptances(
    rng: np.random.Generator,
    people: Population,
    responsive: np.ndarray,
    past: dict[str, np.ndarray],
    last_before_pilot: np.ndarray,
    pilot_day: date,
) -> np.ndarray:
    """What the model should learn: past acceptances, responsiveness, spend, recency, tenure, marital
    status, education and kids drive the pilot's acceptance; only customers signed up by then get it."""
    recency_at_pilot = np.where(last_before_pilot >= 0, last_before_pilot, 365).astype(float)
    past_count = sum(a.astype(int) for a in past.values())
    logit = (
        1.15 * past_count
        + 0.9 * responsive
        + 0.55 * people.spend_z
        - 0.022 * recency_at_pilot
        + 0.45 * people.tenure_z
        + 0.75 * np.isin(people.marital, ["Single", "Divorced", "Widow", "Alone"])
        + np.select([people.education == "PhD", people.education == "Basic"], [0.45, -1.2], 0.0)
        - 0.25 * people.kids
    )
    eligible = people.signup < pilot_day
    return (rng.random(people.size) < _calibrate(logit, PILOT[2])) & eligible


def _write_contacts(
    landing: Path, people: Population, accepted: dict[str, np.ndarray], end_date: date
) -> int:
    """One export per campaign: every customer signed up by its day was contacted."""
    contacts = 0
    for campaign, days_before, _rate in (*PAST_CAMPAIGNS, PILOT):
        day = end_date - timedelta(days=days_before)
        rows = [
            [campaign, int(people.ids[i]), _ts(day, 9 * 3600 + int(i % 3600)), int(accepted[campaign][i])]
            for i in np.flatnonzero(people.signup < day)
        ]
        path = landing / "campaign_contacts" / f"contacts_{campaign}.csv"
        _write_csv(path, campaign_contacts.SOURCE.raw_columns, rows)
        contacts += len(rows)
    return contacts


def _write_visits(
    rng: np.random.Generator, landing: Path, people: Population, end_date: date
) -> tuple[int, int]:
    """Web visits in the last 90 days: fewer for higher incomes."""
    monthly = np.clip(rng.normal(5.3 - 2.2 * people.income_z + 0.6 * people.kids, 1.6), 0, 20)
    columns = web_visits.SOURCE.raw_columns
    by_month: dict[str, list[str]] = {}
    visit_no = 0
    for i in range(people.size):
        horizon = min(90, int(people.signup_offset[i]))
        for offset in rng.integers(0, max(horizon, 1), rng.poisson(monthly[i] * horizon / 30)):
            visit_no += 1
            day = end_date - timedelta(days=int(offset) + 1)
            record = _record(
                columns, f"V{visit_no:09d}", int(people.ids[i]), _ts(day, rng.integers(0, 86400))
            )
            by_month.setdefault(day.strftime("%Y-%m"), []).append(json.dumps(record))
    return _write_lines(landing / "web_visits", "web_visits", by_month), visit_no


def _write_complaints(rng: np.random.Generator, landing: Path, people: Population, end_date: date) -> int:
    """About 1% of customers complained once, some day since they signed up."""
    complainers = np.flatnonzero(rng.random(people.size) < 0.0095)
    rows = []
    for k, i in enumerate(complainers):
        day = end_date - timedelta(days=int(rng.integers(1, max(2, min(730, int(people.signup_offset[i]))))))
        rows.append([f"K{k + 1:06d}", int(people.ids[i]), _ts(day, 12 * 3600)])
    _write_csv(landing / "complaints" / "complaints.csv", complaints.SOURCE.raw_columns, rows)
    return len(complainers)


def _write_exports(rng: np.random.Generator, landing: Path, people: Population, end_date: date) -> int:
    """Two CRM exports: a year ago, and yesterday with new and changed customers (8% changed)."""
    first_export = end_date - timedelta(days=365)
    changed = rng.random(people.size) < 0.08
    blank_income = rng.random(people.size) < 0.011
    rows_first, rows_second = [], []
    for i in range(people.size):
        shown_income = "" if blank_income[i] else f"{people.income[i]:.0f}"
        signup = people.signup[i]
        current = [
            int(people.ids[i]), people.birth_year[i], people.education[i], people.marital[i], shown_income,
            people.kids[i], people.teens[i], signup.isoformat(), _ts(signup, 10 * 3600),
        ]  # fmt: skip
        if signup >= first_export:
            rows_second.append(current)
        elif not changed[i]:
            rows_first.append(current)
        else:  # the old export holds the previous version
            old_income = "" if blank_income[i] else f"{people.income[i] * rng.uniform(0.8, 0.95):.0f}"
            rows_first.append([*current[:4], old_income, max(people.kids[i] - 1, 0), *current[6:]])
            moment = first_export + timedelta(days=int(rng.integers(1, 300)))
            rows_second.append([*current[:8], _ts(moment, 11 * 3600)])
    columns = customers.SOURCE.raw_columns
    for day, rows in ((first_export, rows_first), (end_date - timedelta(days=1), rows_second)):
        _write_csv(landing / "customers" / f"customers_{day.isoformat()}.csv", columns, rows)
    return len(rows_first) + len(rows_second)


def generate(
    landing: Path,
    customers: int = 5000,
    seed: int = 7,
    end_date: date = date(2026, 6, 30),
    categories: Sequence[str] = tuple(BASE_CATEGORY_SHARES),
    channels: Sequence[str] = tuple(BASE_CHANNEL_SHARES),
) -> GenerationSummary:
    """Write every source's raw files for ``customers`` customers whose history ends on ``end_date``."""
    if customers < 1:
        raise ValueError(f"--customers must be at least 1, not {customers}")
    rng = np.random.default_rng(seed)
    summary = GenerationSummary(landing, customers)
    people = _population(rng, customers, end_date, categories)
    responsive, accepted = _past_acceptances(rng, people)
    landing.mkdir(parents=True, exist_ok=True)
    files, count, last_before_pilot = _write_orders(rng, landing, people, end_date, (categories, channels))
    summary.files["orders"], summary.rows["orders"] = files, count
    pilot_day = end_date - timedelta(days=PILOT[1])
    accepted[PILOT[0]] = _pilot_acceptances(rng, people, responsive, accepted, last_before_pilot, pilot_day)
    eligible = people.signup < pilot_day
    summary.pilot_acceptance_rate = float(accepted[PILOT[0]][eligible].mean()) if eligible.any() else 0.0
    summary.files["campaign_contacts"] = len(PAST_CAMPAIGNS) + 1
    summary.rows["campaign_contacts"] = _write_contacts(landing, people, accepted, end_date)
    summary.files["web_visits"], summary.rows["web_visits"] = _write_visits(rng, landing, people, end_date)
    summary.files["complaints"], summary.rows["complaints"] = (
        1,
        _write_complaints(rng, landing, people, end_date),
    )
    summary.files["customers"], summary.rows["customers"] = 2, _write_exports(rng, landing, people, end_date)
    return summary
