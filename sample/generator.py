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

The same seed writes the same bytes. Orders and web visits are drawn with NumPy for 50,000 customers at a
time, each chunk from its own random stream (seed, source, chunk), so chunks run side by side in worker
processes: a million customers (~12M orders, ~16M web visits) take about two minutes on two cores.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from bronze import campaign_contacts, complaints, customers, orders, web_visits
from pipelines.log import get_logger
from sample import files

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


def _z(x: np.ndarray) -> np.ndarray:
    return (x - x.mean()) / (x.std() + 1e-9)


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

    def take(self, customers: slice) -> Population:
        return Population(*(getattr(self, f.name)[customers] for f in fields(self)))


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


CHUNK = 50_000  # customers drawn at a time: bounds memory; fixed, so the same seed writes the same bytes


def _items(
    rng: np.random.Generator, taste: np.ndarray, amounts: np.ndarray, categories: Sequence[str]
) -> list[str]:
    """Each order's items: 1-4 distinct categories drawn by the customer's taste without replacement
    (Gumbel top-k), the order's amount split in proportion to their taste."""
    k = np.minimum(len(categories), 1 + rng.binomial(3, 0.5, len(amounts)))
    keys = np.log(taste) + rng.gumbel(size=taste.shape)
    ranked = np.argsort(-keys, axis=1, kind="stable")
    picked = np.arange(len(categories))[None, :] < k[:, None]
    weight = np.take_along_axis(taste, ranked, axis=1) * picked
    split = np.round(amounts[:, None] * weight / weight.sum(axis=1, keepdims=True), 2).tolist()
    names = [json.dumps(c) for c in categories]
    return [
        ", ".join(
            f'{{"category": {names[c]}, "amount": {a!r}}}' for c, a in zip(row[:n], values[:n], strict=True)
        )
        for row, values, n in zip(ranked.tolist(), split, k.tolist(), strict=True)
    ]


def _orders_of(
    rng: np.random.Generator,
    people: Population,
    end_date: date,
    vocabulary: tuple[Sequence[str], Sequence[str]],
) -> tuple[np.ndarray, list[tuple[Any, ...]], np.ndarray]:
    """The orders of ``people``: their months, their values after the order_id
    (rendered as JSON), and each customer's days from their last order before the pilot to it (-1: none)."""
    categories, channels = vocabulary
    window_start = np.minimum(np.maximum(people.signup_offset, 0), 730)
    last = np.where(people.recency >= window_start, np.maximum(window_start - 1, 0), people.recency)
    counts = people.n_orders
    owner = np.repeat(np.arange(people.size), counts)
    first = np.r_[0, np.cumsum(counts)[:-1]]
    # the last order is `last` days before the end; the others are spread between signup and it
    offsets = rng.integers(last[owner], np.maximum(window_start, last + 1)[owner])
    offsets[first] = last
    share = rng.exponential(1.0, owner.size)  # a flat Dirichlet split of the customer's spend
    amounts = people.spend[owner] * share / np.add.reduceat(share, first)[owner]
    base = _shares(channels, BASE_CHANNEL_SHARES)
    boost = np.clip(people.spend / 600, 0.2, 3.0) ** 0.8
    chan_p = np.where(np.array(channels) == "catalog", base * boost[:, None], base)
    chan_cdf = np.cumsum(chan_p / chan_p.sum(axis=1, keepdims=True), axis=1)
    channel = np.minimum((rng.random(owner.size)[:, None] > chan_cdf[owner]).sum(axis=1), len(channels) - 1)
    deal_p = np.clip(
        0.10 + 0.12 * people.kids + 0.08 * people.teens - 0.04 * people.income_z,
        0.02,
        0.6,
    )
    is_deal = rng.random(owner.size) < deal_p[owner]
    items = _items(rng, people.taste[owner], amounts, categories)
    stamps = files.timestamps(end_date, offsets + 1, rng.integers(8 * 3600, 23 * 3600, owner.size))
    names, deal = [json.dumps(c) for c in channels], ["false", "true"]
    values = [
        (i, f'"{t}"', names[c], deal[d], f"[{it}]")
        for i, t, c, d, it in zip(
            people.ids[owner].tolist(), stamps.tolist(), channel.tolist(), is_deal.tolist(), items,
            strict=True,
        )
    ]  # fmt: skip
    before_pilot = np.where(offsets > PILOT[1], offsets, np.iinfo(np.int64).max)
    nearest = np.minimum.reduceat(before_pilot, first)
    last_before_pilot = np.where(nearest == np.iinfo(np.int64).max, -1, nearest - PILOT[1])
    return np.array([s[:7] for s in stamps.tolist()]), values, last_before_pilot


def _order_chunk(
    task: tuple[int, int, Population, date, tuple[Sequence[str], Sequence[str]]],
) -> tuple[dict[str, str], int, np.ndarray]:
    """One chunk of customers' orders, grouped by month, from the chunk's own random stream."""
    seed, index, people, end_date, vocabulary = task
    months, values, last_before_pilot = _orders_of(
        np.random.default_rng([seed, 1, index]), people, end_date, vocabulary
    )
    record = files.json_record(orders.SOURCE.raw_columns)
    lines = [record.format(f'"O{index:03d}{n + 1:07d}"', *v) for n, v in enumerate(values)]
    return files.by_month(months, lines), len(lines), last_before_pilot


def _visit_chunk(
    task: tuple[int, int, np.ndarray, np.ndarray, np.ndarray, date],
) -> tuple[dict[str, str], int]:
    """One chunk of customers' web visits in the last 90 days, grouped by month."""
    seed, index, ids, monthly, horizon, end_date = task
    rng = np.random.default_rng([seed, 2, index])
    owner = np.repeat(np.arange(ids.size), rng.poisson(monthly * horizon / 30))
    offsets = rng.integers(0, np.maximum(horizon[owner], 1))
    stamps = files.timestamps(end_date, offsets + 1, rng.integers(0, 86400, owner.size)).tolist()
    record = files.json_record(web_visits.SOURCE.raw_columns)
    lines = [
        record.format(f'"V{index:03d}{n + 1:08d}"', i, f'"{t}"')
        for n, (i, t) in enumerate(zip(ids[owner].tolist(), stamps, strict=True))
    ]
    return files.by_month(np.array([t[:7] for t in stamps]), lines), len(lines)


def _progress(what: str, done: int, chunks: int, customers: int, rows: int) -> None:
    if chunks > 1:
        get_logger().info(
            "  %s: %d of %d customers, %d rows", what, min(done * CHUNK, customers), customers, rows
        )


def _write_orders(
    seed: int,
    landing: Path,
    people: Population,
    end_date: date,
    vocabulary: tuple[Sequence[str], Sequence[str]],
) -> tuple[int, int, np.ndarray]:
    """Every customer's orders, one file per month; returns (files, orders, days from the last order
    before the pilot to the pilot, -1 for none)."""
    months, written, last_before_pilot = files.MonthFiles(landing / "orders", "orders"), 0, []
    starts = range(0, people.size, CHUNK)
    tasks = [(seed, i, people.take(slice(s, s + CHUNK)), end_date, vocabulary) for i, s in enumerate(starts)]
    for done, (by_month, count, last) in enumerate(files.in_chunks(_order_chunk, tasks), start=1):
        months.write(by_month)
        written += count
        last_before_pilot.append(last)
        _progress("orders", done, len(tasks), people.size, written)
    return months.close(), written, np.concatenate(last_before_pilot)


def _write_visits(
    rng: np.random.Generator, seed: int, landing: Path, people: Population, end_date: date
) -> tuple[int, int]:
    """Web visits in the last 90 days: fewer for higher incomes."""
    monthly = np.clip(rng.normal(5.3 - 2.2 * people.income_z + 0.6 * people.kids, 1.6), 0, 20)
    horizon = np.minimum(90, people.signup_offset)
    months, written = files.MonthFiles(landing / "web_visits", "web_visits"), 0
    tasks = [
        (seed, i, people.ids[s : s + CHUNK], monthly[s : s + CHUNK], horizon[s : s + CHUNK], end_date)
        for i, s in enumerate(range(0, people.size, CHUNK))
    ]
    for done, (by_month, count) in enumerate(files.in_chunks(_visit_chunk, tasks), start=1):
        months.write(by_month)
        written += count
        _progress("web visits", done, len(tasks), people.size, written)
    return months.close(), written


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
        reached = np.flatnonzero(people.signup_offset > days_before)  # signed up before the campaign's day
        stamps = files.timestamps(end_date, np.full(reached.size, days_before), 9 * 3600 + reached % 3600)
        rows = zip(
            [campaign] * reached.size,
            people.ids[reached].tolist(),
            stamps.tolist(),
            accepted[campaign][reached].astype(int).tolist(),
            strict=True,
        )
        path = landing / "campaign_contacts" / f"contacts_{campaign}.csv"
        files.write_csv(path, campaign_contacts.SOURCE.raw_columns, rows)
        contacts += reached.size
    return contacts


def _write_complaints(rng: np.random.Generator, landing: Path, people: Population, end_date: date) -> int:
    """About 1% of customers complained once, some day since they signed up."""
    complainers = np.flatnonzero(rng.random(people.size) < 0.0095)
    rows = []
    for k, i in enumerate(complainers):
        day = end_date - timedelta(days=int(rng.integers(1, max(2, min(730, int(people.signup_offset[i]))))))
        rows.append([f"K{k + 1:06d}", int(people.ids[i]), files.ts(day, 12 * 3600)])
    files.write_csv(landing / "complaints" / "complaints.csv", complaints.SOURCE.raw_columns, rows)
    return len(complainers)


def _write_exports(rng: np.random.Generator, landing: Path, people: Population, end_date: date) -> int:
    """Two CRM exports: a year ago, and yesterday with new and changed customers (8% changed)."""
    n, first_export = people.size, end_date - timedelta(days=365)
    changed = rng.random(n) < 0.08
    blank_income = rng.random(n) < 0.011
    old_income = people.income * rng.uniform(0.8, 0.95, n)
    changed_on = rng.integers(1, 300, n)  # days after the first export
    signup = np.datetime_as_string(np.datetime64(end_date) - people.signup_offset.astype("timedelta64[D]"))
    since = (end_date - first_export).days
    columns = zip(
        people.ids.tolist(), people.birth_year.tolist(), people.education.tolist(), people.marital.tolist(),
        np.where(blank_income, "", np.char.mod("%.0f", people.income)).tolist(), people.kids.tolist(),
        people.teens.tolist(), signup.tolist(), files.timestamps(end_date, people.signup_offset, 10 * 3600).tolist(),
        strict=True,
    )  # fmt: skip
    earlier = np.where(blank_income, "", np.char.mod("%.0f", old_income)).tolist()
    updated = files.timestamps(end_date, since - changed_on, 11 * 3600).tolist()
    rows_first, rows_second = [], []
    for i, current in enumerate(columns):
        if people.signup_offset[i] <= since:  # signed up after the first export
            rows_second.append(current)
        elif not changed[i]:
            rows_first.append(current)
        else:  # the old export holds the previous version
            rows_first.append((*current[:4], earlier[i], max(current[5] - 1, 0), *current[6:]))
            rows_second.append((*current[:8], updated[i]))
    names = customers.SOURCE.raw_columns
    for day, rows in ((first_export, rows_first), (end_date - timedelta(days=1), rows_second)):
        files.write_csv(landing / "customers" / f"customers_{day.isoformat()}.csv", names, rows)
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
    started = time.time()
    if customers < 1:
        raise ValueError(f"--customers must be at least 1, not {customers}")
    rng = np.random.default_rng(seed)
    summary = GenerationSummary(landing, customers)
    people = _population(rng, customers, end_date, categories)
    responsive, accepted = _past_acceptances(rng, people)
    landing.mkdir(parents=True, exist_ok=True)
    written, count, last_before_pilot = _write_orders(seed, landing, people, end_date, (categories, channels))
    summary.files["orders"], summary.rows["orders"] = written, count
    pilot_day = end_date - timedelta(days=PILOT[1])
    accepted[PILOT[0]] = _pilot_acceptances(rng, people, responsive, accepted, last_before_pilot, pilot_day)
    eligible = people.signup < pilot_day
    summary.pilot_acceptance_rate = float(accepted[PILOT[0]][eligible].mean()) if eligible.any() else 0.0
    summary.files["campaign_contacts"] = len(PAST_CAMPAIGNS) + 1
    summary.rows["campaign_contacts"] = _write_contacts(landing, people, accepted, end_date)
    summary.files["web_visits"], summary.rows["web_visits"] = _write_visits(
        rng, seed, landing, people, end_date
    )
    summary.files["complaints"], summary.rows["complaints"] = (
        1,
        _write_complaints(rng, landing, people, end_date),
    )
    summary.files["customers"], summary.rows["customers"] = 2, _write_exports(rng, landing, people, end_date)
    files.settle(landing, started, end_date)
    return summary
