"""More days after the sample's end date: the orders and web visits a daily run finds new in the landing zone.

The customers are the generated sample's own (the same seed draws the same population first), ordering and
visiting at the sample's rates: a customer orders in proportion to their two-year order count, spends their
usual order value split over their favourite categories, and visits the web at their monthly rate.
One file per source and day (``orders/orders_<date>.jsonl``, ``web_visits/web_visits_<date>.jsonl``),
deterministic for the seed and the day.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from bronze import orders, web_visits
from sample import files
from sample.generator import BASE_CHANNEL_SHARES, _items, _population, _shares

DAY_SECONDS = 86_400


def _orders_of_day(
    rng: np.random.Generator,
    people,  # type: ignore[no-untyped-def]
    day: date,
    categories: Sequence[str],
    channels: Sequence[str],
) -> list[str]:
    per_day = people.n_orders / 730
    count = rng.poisson(per_day.sum())
    who = rng.choice(people.size, size=count, p=per_day / per_day.sum())
    value = people.spend[who] / people.n_orders[who] * rng.gamma(4.0, 0.25, count)
    channel = rng.choice(len(channels), size=count, p=_shares(channels, BASE_CHANNEL_SHARES))
    deal_p = np.clip(
        0.10 + 0.12 * people.kids[who] + 0.08 * people.teens[who] - 0.04 * people.income_z[who], 0.02, 0.6
    )  # as in the sample's history
    is_deal = rng.random(count) < deal_p
    stamps = files.timestamps(
        day, np.zeros(count, dtype=int), np.sort(rng.integers(8 * 3600, 23 * 3600, count))
    )
    items = _items(rng, people.taste[who], value, categories)
    names, deal = [json.dumps(c) for c in channels], ["false", "true"]
    record = files.json_record(orders.SOURCE.raw_columns)
    return [
        record.format(f'"D{day:%Y%m%d}{n + 1:07d}"', i, f'"{t}"', names[c], deal[d], f"[{it}]")
        for n, (i, t, c, d, it) in enumerate(
            zip(
                people.ids[who].tolist(),
                stamps.tolist(),
                channel.tolist(),
                is_deal.tolist(),
                items,
                strict=True,
            )
        )
    ]


def _visits_of_day(rng: np.random.Generator, people, day: date) -> list[str]:  # type: ignore[no-untyped-def]
    monthly = np.clip(5.3 - 2.2 * people.income_z + 0.6 * people.kids, 0.1, 20)
    count = rng.poisson(monthly.sum() / 30)
    who = rng.choice(people.size, size=count, p=monthly / monthly.sum())
    stamps = files.timestamps(day, np.zeros(count, dtype=int), np.sort(rng.integers(0, DAY_SECONDS, count)))
    record = files.json_record(web_visits.SOURCE.raw_columns)
    return [
        record.format(f'"W{day:%Y%m%d}{n + 1:07d}"', i, f'"{t}"')
        for n, (i, t) in enumerate(zip(people.ids[who].tolist(), stamps.tolist(), strict=True))
    ]


def write_days(
    landing: Path,
    customers: int,
    seed: int,
    end_date: date,
    days: int,
    categories: Sequence[str],
    channels: Sequence[str],
) -> dict[str, int]:
    """Write ``days`` days of orders and web visits after ``end_date`` (the sample's last day + 1 onwards,
    up to the run date ``end_date + days``); returns the rows written per source."""
    started = time.time()
    if days < 1:
        raise ValueError(f"days must be at least 1, not {days}")
    people = _population(np.random.default_rng(seed), customers, end_date, categories)
    written = {"orders": 0, "web_visits": 0}
    for offset in range(days):
        day = end_date + timedelta(days=offset)
        rng = np.random.default_rng([seed, day.toordinal()])
        for source, lines in (
            ("orders", _orders_of_day(rng, people, day, categories, channels)),
            ("web_visits", _visits_of_day(rng, people, day)),
        ):
            folder = landing / source
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{source}_{day.isoformat()}.jsonl").write_text("".join(f"{line}\n" for line in lines))
            written[source] += len(lines)
    files.settle(landing, started, end_date + timedelta(days=days - 1))
    return written
