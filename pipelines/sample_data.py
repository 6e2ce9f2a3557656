"""Generate a delivery platform's raw files into the landing zone, deterministic for a seed.

Distributions follow the public CRM case (``docs/data.md``): income, kids, two years of spend per
category, purchases per channel, recency, web visits, five past campaigns and a pilot campaign with
~15% acceptance. Acceptance depends on a latent responsiveness (visible through past acceptances),
spend, recency at the contact date, tenure, marital status and education, so the signal is learnable
from the event data alone.

Files written (the raw contract, ``docs/raw-contract.md``):
  customers/customers_<date>.csv       two CRM exports; the later one repeats changed customers
  orders/orders_<yyyy-mm>.jsonl        one file per month of orders
  web_visits/web_visits_<yyyy-mm>.jsonl
  campaign_contacts/contacts_<campaign>.csv
  complaints/complaints.csv
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

import numpy as np

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


def _ts(day: date, seconds: np.ndarray | int) -> str:
    moment = datetime.combine(day, time(0), tzinfo=timezone.utc) + timedelta(seconds=int(seconds))
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _z(x: np.ndarray) -> np.ndarray:
    return (x - x.mean()) / (x.std() + 1e-9)


def generate(
    landing: Path,
    customers: int = 5000,
    seed: int = 7,
    end_date: date = date(2026, 6, 30),
    categories: Sequence[str] = tuple(BASE_CATEGORY_SHARES),
    channels: Sequence[str] = tuple(BASE_CHANNEL_SHARES),
) -> GenerationSummary:
    if customers < 1:
        raise ValueError(f"--customers must be at least 1, not {customers}")
    rng = np.random.default_rng(seed)
    n = customers
    shift = end_date.year - CASE_SNAPSHOT_YEAR
    summary = GenerationSummary(landing, n)

    # --- customers ---------------------------------------------------------------------------------
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
    signup_offset = rng.integers(1, 700, n)  # days before the end date
    signup = np.array([end_date - timedelta(days=int(d)) for d in signup_offset])
    tenure_z = _z(signup_offset.astype(float))

    # --- spend and purchases -------------------------------------------------------------------------
    # Two-year spend spans 5 to ~2,500 in the case (median ~400), rising with income, falling with kids.
    latent = 0.75 * income_z - 0.45 * (kids - 0.44) / 0.54 - 0.15 * (teens - 0.5) + rng.normal(0, 0.5, n)
    active_fraction = np.minimum(signup_offset, 730) / 730
    spend = np.exp(np.clip(5.8 + 1.45 * latent, 1.6, 7.85)) * (0.7 + 0.3 * active_fraction)
    spend_z = _z(np.log1p(spend))
    cat_base = _shares(categories, BASE_CATEGORY_SHARES)
    taste = rng.dirichlet(cat_base * 15, size=n)
    chan_base = _shares(channels, BASE_CHANNEL_SHARES)
    n_orders = 1 + rng.poisson(2.0 + 0.42 * np.sqrt(spend))
    recency = rng.integers(0, 100, n)  # days since the last order at the end date

    # --- campaigns: latent responsiveness drives past and pilot acceptance --------------------------
    responsive = rng.normal(0, 1, n)
    accepted_past = {}
    for campaign, _days_before, rate in PAST_CAMPAIGNS:
        logit = 1.7 * responsive + 0.9 * spend_z + rng.normal(0, 0.5, n)
        accepted_past[campaign] = rng.random(n) < _calibrate(logit, rate)

    landing.mkdir(parents=True, exist_ok=True)
    orders_by_month: dict[str, list[str]] = {}
    last_order_before_pilot = np.full(n, -1, dtype=int)  # days before pilot date, -1 = none
    pilot_day = end_date - timedelta(days=PILOT[1])
    order_no = 0
    for i in range(n):
        start = max(int(signup_offset[i]), 0)
        window_start = min(start, 730)
        last = int(recency[i])
        if last >= window_start:
            last = max(window_start - 1, 0)
        # the last order is `last` days before the end; the others are spread between signup and it
        offsets = np.concatenate(([last], rng.integers(last, max(window_start, last + 1), n_orders[i] - 1)))
        amounts = spend[i] * rng.dirichlet(np.ones(n_orders[i]))
        catalog_boost = np.where(
            np.array(channels) == "catalog", np.clip(spend[i] / 600, 0.2, 3.0) ** 0.8, 1.0
        )
        chan_p = chan_base * catalog_boost
        chan_p /= chan_p.sum()
        deal_p = np.clip(0.10 + 0.12 * kids[i] + 0.08 * teens[i] - 0.04 * income_z[i], 0.02, 0.6)
        pilot_offset = PILOT[1]
        before_pilot = offsets[offsets > pilot_offset]
        if before_pilot.size:
            last_order_before_pilot[i] = int(before_pilot.min()) - pilot_offset
        for offset, amount in zip(offsets, amounts, strict=True):
            order_no += 1
            day = end_date - timedelta(days=int(offset) + 1)
            k = min(len(categories), 1 + rng.binomial(3, 0.5))
            picked = rng.choice(len(categories), size=k, replace=False, p=taste[i])
            weights = taste[i][picked] / taste[i][picked].sum()
            items = [
                {"category": categories[c], "amount": round(float(amount * w), 2)}
                for c, w in zip(picked, weights, strict=True)
            ]
            record = {
                "order_id": f"O{order_no:08d}",
                "customer_id": int(ids[i]),
                "ordered_at": _ts(day, rng.integers(8 * 3600, 23 * 3600)),
                "channel": str(rng.choice(channels, p=chan_p)),
                "is_deal": bool(rng.random() < deal_p),
                "items": items,
            }
            orders_by_month.setdefault(day.strftime("%Y-%m"), []).append(json.dumps(record))
    summary.files["orders"] = _write_lines(landing / "orders", "orders", orders_by_month)
    summary.rows["orders"] = order_no

    # --- pilot response: what the model should learn -------------------------------------------------
    recency_at_pilot = np.where(last_order_before_pilot >= 0, last_order_before_pilot, 365).astype(float)
    past_count = sum(a.astype(int) for a in accepted_past.values())
    logit = (
        1.15 * past_count
        + 0.9 * responsive
        + 0.55 * spend_z
        - 0.022 * recency_at_pilot
        + 0.45 * tenure_z
        + 0.75 * np.isin(marital, ["Single", "Divorced", "Widow", "Alone"])
        + np.select([education == "PhD", education == "Basic"], [0.45, -1.2], 0.0)
        - 0.25 * kids
    )
    eligible = signup < pilot_day
    pilot_accepted = (rng.random(n) < _calibrate(logit, PILOT[2])) & eligible
    summary.pilot_acceptance_rate = float(pilot_accepted[eligible].mean()) if eligible.any() else 0.0

    contacts = 0
    (landing / "campaign_contacts").mkdir(parents=True, exist_ok=True)
    for campaign, days_before, _rate in (*PAST_CAMPAIGNS, PILOT):
        day = end_date - timedelta(days=days_before)
        accepted = pilot_accepted if campaign == PILOT[0] else accepted_past[campaign]
        with (landing / "campaign_contacts" / f"contacts_{campaign}.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["campaign_id", "customer_id", "contacted_at", "accepted"])
            for i in np.flatnonzero(signup < day):
                writer.writerow([campaign, int(ids[i]), _ts(day, 9 * 3600 + int(i % 3600)), int(accepted[i])])
                contacts += 1
    summary.files["campaign_contacts"] = len(PAST_CAMPAIGNS) + 1
    summary.rows["campaign_contacts"] = contacts

    # --- web visits in the last 90 days: fewer for higher incomes ------------------------------------
    monthly = np.clip(rng.normal(5.3 - 2.2 * income_z + 0.6 * kids, 1.6), 0, 20)
    visits_by_month: dict[str, list[str]] = {}
    visit_no = 0
    for i in range(n):
        horizon = min(90, int(signup_offset[i]))
        for offset in rng.integers(0, max(horizon, 1), rng.poisson(monthly[i] * horizon / 30)):
            visit_no += 1
            day = end_date - timedelta(days=int(offset) + 1)
            record = {
                "visit_id": f"V{visit_no:09d}",
                "customer_id": int(ids[i]),
                "visited_at": _ts(day, rng.integers(0, 86400)),
            }
            visits_by_month.setdefault(day.strftime("%Y-%m"), []).append(json.dumps(record))
    summary.files["web_visits"] = _write_lines(landing / "web_visits", "web_visits", visits_by_month)
    summary.rows["web_visits"] = visit_no

    # --- complaints: about 1% of customers ------------------------------------------------------------
    complainers = np.flatnonzero(rng.random(n) < 0.0095)
    (landing / "complaints").mkdir(parents=True, exist_ok=True)
    with (landing / "complaints" / "complaints.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["complaint_id", "customer_id", "complained_at"])
        for k, i in enumerate(complainers):
            day = end_date - timedelta(days=int(rng.integers(1, max(2, min(730, int(signup_offset[i]))))))
            writer.writerow([f"K{k + 1:06d}", int(ids[i]), _ts(day, 12 * 3600)])
    summary.files["complaints"] = 1
    summary.rows["complaints"] = len(complainers)

    # --- CRM exports: a year ago, and yesterday with new and changed customers ------------------------
    first_export = end_date - timedelta(days=365)
    changed = rng.random(n) < 0.08
    header = [
        "customer_id",
        "birth_year",
        "education",
        "marital_status",
        "income",
        "kids_at_home",
        "teens_at_home",
        "signup_date",
        "updated_at",
    ]
    blank_income = rng.random(n) < 0.011
    rows_first, rows_second = [], []
    for i in range(n):
        shown_income = "" if blank_income[i] else f"{income[i]:.0f}"
        current = [
            int(ids[i]),
            birth_year[i],
            education[i],
            marital[i],
            shown_income,
            kids[i],
            teens[i],
            signup[i].isoformat(),
            _ts(signup[i], 10 * 3600),
        ]
        if signup[i] < first_export:
            if changed[i]:  # the old export holds the previous version
                old_income = "" if blank_income[i] else f"{income[i] * rng.uniform(0.8, 0.95):.0f}"
                previous = [*current[:4], old_income, max(kids[i] - 1, 0), *current[6:]]
                rows_first.append(previous)
                moment = first_export + timedelta(days=int(rng.integers(1, 300)))
                rows_second.append([*current[:8], _ts(moment, 11 * 3600)])
            else:
                rows_first.append(current)
        else:
            rows_second.append(current)
    (landing / "customers").mkdir(parents=True, exist_ok=True)
    for day, rows in ((first_export, rows_first), (end_date - timedelta(days=1), rows_second)):
        with (landing / "customers" / f"customers_{day.isoformat()}.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(rows)
    summary.files["customers"] = 2
    summary.rows["customers"] = len(rows_first) + len(rows_second)
    return summary


def _write_lines(folder: Path, prefix: str, by_month: dict[str, list[str]]) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    for month, lines in sorted(by_month.items()):
        (folder / f"{prefix}_{month}.jsonl").write_text("\n".join(lines) + "\n")
    return len(by_month)


# --- defects, on purpose ---------------------------------------------------------------------------------
ORDER_DEFECTS = (
    "malformed_json",
    "unparseable_amount",
    "unparseable_date",
    "missing_customer_id",
    "unknown_category",
    "unknown_channel",
    "negative_amount",
    "unknown_customer",
    "duplicate_event",
)


def inject_defects(landing: Path, rate: float, seed: int) -> dict[str, list[str]]:
    """Spoil about ``rate`` of the generated records the way real feeds do; returns the ids hit per defect.

    Orders: malformed JSON, unparseable amounts and dates, a missing customer_id, unknown categories and
    channels, negative amounts, customers nobody knows, events delivered twice. Customers: unparseable
    incomes, CSV lines with a missing field, late updates carrying older timestamps. Web visits: malformed
    lines. Files: an empty one, one with an extra column, one lacking a required column.
    """
    if not 0 <= rate <= 0.5:
        raise ValueError(f"--defect-rate must be between 0 and 0.5, not {rate}")
    rng = np.random.default_rng(seed + 1_000_003)
    hit: dict[str, list[str]] = {}

    order_files = sorted((landing / "orders").glob("orders_*.jsonl"))
    duplicates: list[str] = []
    for path in order_files:
        out = []
        for line in path.read_text().splitlines():
            record = json.loads(line)
            if rng.random() >= rate:
                out.append(line)
                continue
            defect = ORDER_DEFECTS[int(rng.integers(len(ORDER_DEFECTS)))]
            hit.setdefault(defect, []).append(record["order_id"])
            if defect == "malformed_json":
                out.append(line[: len(line) // 2])
                continue
            if defect == "duplicate_event":
                out.append(line)
                duplicates.append(line)
                continue
            if defect == "unparseable_amount":
                record["items"][0]["amount"] = "12,5O"
            elif defect == "unparseable_date":
                record["ordered_at"] = "31/02/2026 25:61"
            elif defect == "missing_customer_id":
                del record["customer_id"]
            elif defect == "unknown_category":
                record["items"][0]["category"] = "pizza"
            elif defect == "unknown_channel":
                record["channel"] = "drone"
            elif defect == "negative_amount":
                record["items"][0]["amount"] = -abs(record["items"][0]["amount"]) - 1
            elif defect == "unknown_customer":
                record["customer_id"] = 990_000_000 + int(rng.integers(1_000_000))
            out.append(json.dumps(record))
        path.write_text("\n".join(out) + "\n")
    if duplicates:  # the order service re-sends events in a later file
        (landing / "orders" / "orders_resent.jsonl").write_text("\n".join(duplicates) + "\n")
    (landing / "orders" / "orders_empty.jsonl").write_text("")

    visits = sorted((landing / "web_visits").glob("*.jsonl"))
    for path in visits:
        lines = path.read_text().splitlines()
        for i in np.flatnonzero(rng.random(len(lines)) < rate / 4):
            hit.setdefault("malformed_visit", []).append(json.loads(lines[i])["visit_id"])
            lines[i] = lines[i][:-9]
        path.write_text("\n".join(lines) + "\n")

    exports = sorted((landing / "customers").glob("customers_*.csv"))
    latest = exports[-1]
    with latest.open(newline="") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1:]
    late = []
    for row in body:
        draw = rng.random()
        if draw < rate / 3:
            hit.setdefault("unparseable_income", []).append(row[0])
            row[4] = "n/a"
        elif draw < 2 * rate / 3:
            hit.setdefault("missing_field", []).append(row[0])
            del row[3]
        elif draw < rate:
            hit.setdefault("late_older_update", []).append(row[0])
            older = datetime.fromisoformat(row[8].replace("Z", "+00:00")) - timedelta(days=400)
            late.append([*row[:4], "1", *row[5:8], older.strftime("%Y-%m-%dT%H:%M:%SZ")])
    with latest.open("w", newline="") as handle:
        csv.writer(handle).writerows([header, *body])
    with (landing / "customers" / f"customers_late_{latest.stem[-10:]}.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows([header, *late])

    complaints = landing / "complaints" / "complaints.csv"
    with complaints.open(newline="") as handle:
        rows = list(csv.reader(handle))
    with complaints.open("w", newline="") as handle:
        csv.writer(handle).writerows([[*rows[0], "agent_note"], *[[*r, "called back"] for r in rows[1:]]])
    hit["extra_column_file"] = [complaints.name]
    broken = landing / "campaign_contacts" / "contacts_export_without_responses.csv"
    broken.write_text("campaign_id,customer_id,contacted_at\ncmp9,1,2026-06-01T09:00:00Z\n")
    hit["missing_column_file"] = [broken.name]
    return hit
