"""A sample shaped like a grocery retailer's data rather than the delivery platform's, as `lakehouse generate
--profile grocery` writes it (with `lakehouse.grocery.toml`):

- one channel (store), nine store departments as categories, no web tracking and no complaints feed;
- demographics known for about a third of households, blank for the rest; teens at home never recorded;
- one CRM snapshot, exported the day after the last basket: every version's updated_at is the export;
- two dozen campaigns of 10 to 1,500 contacts, each targeting its own audience (they overlap), with 2-20%
  acceptance driven by a latent responsiveness, spend, recency at the contact date and past acceptances;
- five older campaigns from before the history starts: their contacts sign up weeks later, or, for one,
  mostly later;
- optionally (``just_delivered``), files copied in seconds before the run rather than long settled.

Deterministic for a seed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from bronze import campaign_contacts, customers, orders
from sample.files import record as _record
from sample.files import settle
from sample.files import ts as _ts
from sample.files import write_csv as _write_csv
from sample.files import write_lines as _write_lines
from sample.generator import GenerationSummary, _calibrate, _z

DEPARTMENTS = ("produce", "dairy", "bakery", "meat", "seafood", "frozen", "pantry", "beverages", "household")
CAMPAIGNS = 24
HISTORY_DAYS = 720


def _baskets(rng: np.random.Generator, n: int, start: np.ndarray) -> list[np.ndarray]:
    """Per household, the days (before the end date) of its baskets, newest first."""
    weekly = np.exp(rng.normal(-0.2, 0.6, n))  # baskets per week
    days = []
    for i in range(n):
        active = int(start[i])
        count = max(1, rng.poisson(weekly[i] * active / 7))
        days.append(np.sort(rng.integers(0, active, count)))
    return days


def _write_baskets(
    rng: np.random.Generator,
    landing: Path,
    ids: np.ndarray,
    days: list[np.ndarray],
    end: date,
    categories: Sequence[str],
) -> tuple[int, int, np.ndarray]:
    """The order files; returns (files, baskets, each household's total spend)."""
    taste = rng.dirichlet(np.ones(len(categories)) * 2, size=len(ids))
    size = np.exp(rng.normal(3.4, 0.5, len(ids)))  # mean basket value
    by_month: dict[str, list[str]] = {}
    spend = np.zeros(len(ids))
    basket = 0
    for i, household_days in enumerate(days):
        for offset in household_days:
            basket += 1
            day = end - timedelta(days=int(offset) + 1)
            picked = (
                np.flatnonzero(rng.random(len(categories)) < 0.45) if len(categories) > 1 else np.array([0])
            )
            picked = picked if picked.size else np.array([int(np.argmax(taste[i]))])
            amounts = size[i] * rng.dirichlet(taste[i][picked] * 5 + 0.1)
            items = [
                {"category": categories[c], "amount": round(float(a), 2)}
                for c, a in zip(picked, amounts, strict=True)
            ]
            spend[i] += sum(x["amount"] for x in items)
            values = (f"B{basket:09d}", int(ids[i]), _ts(day, rng.integers(7 * 3600, 22 * 3600)), "store")
            record = _record(orders.SOURCE.raw_columns, *values, bool(rng.random() < 0.15), items)
            by_month.setdefault(day.strftime("%Y-%m"), []).append(json.dumps(record))
    return _write_lines(landing / "orders", "orders", by_month), basket, spend


def _write_campaigns(
    rng: np.random.Generator, landing: Path, ids: np.ndarray, days: list[np.ndarray], spend: np.ndarray,
    signup_offset: np.ndarray, end: date,
) -> tuple[int, int]:  # fmt: skip
    """Campaigns oldest first; each contacts its own audience (bigger spenders more likely) among households
    signed up by then; acceptance depends on what the household did before the contact."""
    n = len(ids)
    responsive = rng.normal(0, 1, n)
    spend_z = _z(np.log1p(spend))
    accepted_before = np.zeros(n)
    contacts = written = 0
    for k, offset in enumerate(np.linspace(HISTORY_DAYS - 60, 30, CAMPAIGNS).astype(int)):
        eligible = np.flatnonzero(signup_offset > offset + 1)
        audience_size = min(len(eligible), int(np.exp(rng.uniform(np.log(10), np.log(1500)))))
        if audience_size < 10:
            continue
        weight = np.exp(0.8 * spend_z[eligible])
        audience = rng.choice(eligible, size=audience_size, replace=False, p=weight / weight.sum())
        recency = np.array([_days_since_last(days[i], offset) for i in audience], dtype=float)
        logit = (
            1.3 * responsive[audience]
            + 0.6 * spend_z[audience]
            - 0.03 * recency
            + 0.9 * accepted_before[audience]
        )
        accepted = rng.random(audience_size) < _calibrate(logit, rng.uniform(0.02, 0.20))
        accepted_before[audience] += accepted
        day = end - timedelta(days=int(offset))
        contacts += _write_contacts(landing, f"g{k + 1:02d}", ids[audience], accepted, day, 9)
        written += 1
    return written, contacts


def _write_contacts(
    landing: Path, campaign: str, contacted: np.ndarray, accepted: np.ndarray, day: date, hour: int
) -> int:
    """One campaign's contacts file, a contact a second from ``hour`` on ``day``; returns its rows."""
    rows = [
        [campaign, int(customer), _ts(day, hour * 3600 + j % 3600), int(a)]
        for j, (customer, a) in enumerate(zip(contacted, accepted, strict=True))
    ]
    _write_csv(
        landing / "campaign_contacts" / f"contacts_{campaign}.csv", campaign_contacts.SOURCE.raw_columns, rows
    )
    return len(rows)


def _write_campaigns_before_history(
    rng: np.random.Generator, landing: Path, ids: np.ndarray, signup_offset: np.ndarray, end: date
) -> tuple[int, int]:
    """Campaigns the CRM ran before the history export starts: four that contacted households weeks before
    anyone's first known day, and one when only a few had signed up. Nothing is known of most of their
    contacts when they were contacted."""
    first_known = int(signup_offset.max())
    contacts = 0
    offsets = [first_known + 7 * w for w in (8, 6, 4, 2)] + [first_known - 12]
    for k, offset in enumerate(offsets):
        audience = rng.choice(len(ids), size=min(len(ids), int(rng.integers(40, 120))), replace=False)
        accepted = rng.random(len(audience)) < 0.08
        day = end - timedelta(days=int(offset))
        contacts += _write_contacts(landing, f"e{k + 1:02d}", ids[audience], accepted, day, 10)
    return len(offsets), contacts


def _days_since_last(household_days: np.ndarray, offset: int) -> int:
    """Days from the household's last basket before the contact (``offset`` days before the end) to it."""
    before = household_days[household_days > offset]
    return int(before.min() - offset) if before.size else 365


def _write_snapshot(
    rng: np.random.Generator, landing: Path, ids: np.ndarray, signup: list[date], end: date
) -> int:
    """One CRM export, the day after the last basket; demographics blank for about two thirds."""
    n = len(ids)
    known = rng.random(n) < 0.34
    exported = _ts(end + timedelta(days=1), 6 * 3600)
    income = np.clip(rng.normal(52000, 21000, n), 8000, 180000).round(-2)
    birth = rng.integers(1940, 2000, n)
    kids, _teens = (  # drawn, never written: the retailer does not record teens at home
        rng.choice([0, 1, 2, 3], n, p=[0.55, 0.2, 0.2, 0.05]),
        rng.choice([0, 1, 2], n, p=[0.7, 0.2, 0.1]),
    )
    status = rng.choice(["Married", "Single", "Together", "Divorced"], n)
    education = rng.choice(["Graduation", "Master", "PhD", "Basic", "2n Cycle"], n)
    rows = []
    for i in range(n):
        shown = known[i]
        rng.random()  # the retailer never records teens at home: the column is blank for everyone
        rows.append([
            int(ids[i]), birth[i] if shown else "", education[i] if shown else "", status[i] if shown else "", f"{income[i]:.0f}" if shown else "",
            kids[i] if shown else "", "", signup[i].isoformat(), exported,
        ])  # fmt: skip
    _write_csv(
        landing / "customers" / f"customers_{(end + timedelta(days=1)).isoformat()}.csv",
        customers.SOURCE.raw_columns,
        rows,
    )
    return n


def generate_grocery(
    landing: Path,
    households: int,
    seed: int,
    end_date: date,
    categories: Sequence[str] = DEPARTMENTS,
    just_delivered: bool = False,
) -> GenerationSummary:
    """Write a grocery retailer's landing files: baskets, campaign contacts and one CRM snapshot; stamped
    as history long delivered, or, ``just_delivered``, as files copied in seconds before a run."""  # fmt: skip
    started = time.time()
    if households < 1:
        raise ValueError(f"--customers must be at least 1, not {households}")
    rng = np.random.default_rng(seed)
    summary = GenerationSummary(landing, households, pilot_campaign=f"g{CAMPAIGNS:02d}")
    ids = np.sort(rng.choice(np.arange(100_000, 100_000 + households * 4), size=households, replace=False))
    signup_offset = rng.integers(60, HISTORY_DAYS + 60, households)  # days before the end
    signup = [end_date - timedelta(days=int(d)) for d in signup_offset]
    days = _baskets(rng, households, np.minimum(signup_offset, HISTORY_DAYS))
    files, baskets, spend = _write_baskets(rng, landing, ids, days, end_date, categories)
    summary.files["orders"], summary.rows["orders"] = files, baskets
    campaigns, contacts = _write_campaigns(rng, landing, ids, days, spend, signup_offset, end_date)
    early, early_contacts = _write_campaigns_before_history(
        np.random.default_rng(seed + 1), landing, ids, signup_offset, end_date
    )
    summary.files["campaign_contacts"] = campaigns + early
    summary.rows["campaign_contacts"] = contacts + early_contacts
    summary.files["customers"], summary.rows["customers"] = (
        1,
        _write_snapshot(rng, landing, ids, signup, end_date),
    )
    if not just_delivered:
        settle(landing, started, end_date)
    return summary
