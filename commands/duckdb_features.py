"""gold.customer_features computed a second way: DuckDB SQL straight from the landing files.

An independent implementation, written from the table's documented meaning (``docs/data.md``, the contract's
comments) rather than from the Spark code: the benchmark times it against the pipeline and fails when any
value differs, and a test holds the pipeline to it. It covers well-formed landing files, such as the sample
generator writes (a defective record would be quarantined by silver and is not modelled here): the latest
CRM export row per customer and ``updated_at`` (later files win), each event's first delivery (earlier files
win), events strictly before the run date.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from pipelines.config import Config

ORDERS = "STRUCT(category VARCHAR, amount DOUBLE)[]"


def _files(landing: Path, folder: str, suffix: str) -> list[str]:
    return sorted(str(p) for p in (landing / folder).glob(f"*{suffix}") if p.is_file())


def _ts(column: str) -> str:
    return f"CAST(CAST({column} AS TIMESTAMPTZ) AS TIMESTAMP)"


def _sources(con: Any, landing: Path) -> None:
    """One view per landing folder, with each row's file name (the order of delivery)."""
    csv = "read_csv({files}, header = true, all_varchar = true, filename = true)"
    jsonl = "read_json({files}, format = 'newline_delimited', columns = {columns}, filename = true)"
    sources = {
        "raw_customers": csv.format(files=_files(landing, "customers", ".csv")),
        "raw_contacts": csv.format(files=_files(landing, "campaign_contacts", ".csv")),
        "raw_complaints": csv.format(files=_files(landing, "complaints", ".csv")),
        "raw_orders": jsonl.format(
            files=_files(landing, "orders", ".jsonl"),
            columns="{order_id: 'VARCHAR', customer_id: 'BIGINT', ordered_at: 'VARCHAR', channel: 'VARCHAR', "
            f"is_deal: 'BOOLEAN', items: '{ORDERS}'}}",
        ),
        "raw_visits": jsonl.format(
            files=_files(landing, "web_visits", ".jsonl"),
            columns="{visit_id: 'VARCHAR', customer_id: 'BIGINT', visited_at: 'VARCHAR'}",
        ),
    }
    for name, source in sources.items():
        con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT * FROM {source}")


def _first_delivered(table: str, key: str, ts: str) -> str:
    return f"""
        SELECT CAST(customer_id AS BIGINT) AS customer_id, {_ts(ts)} AS {ts}
        FROM {table} WHERE CAST(customer_id AS BIGINT) IN (SELECT customer_id FROM known_ids)
        QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY filename, {_ts(ts)}) = 1"""


def _window(start: str, ts: str, days: int | None) -> str:
    """Strictly before the run date's start (and within ``days`` of it when given)."""
    lower = f" AND {ts} >= {start} - INTERVAL {days} DAY" if days is not None else ""
    return f"{ts} < {start}{lower}"


def _customers_sql(config: Config, day: str, start: str) -> str:
    """Every CRM version (impossible values unknown), valid from..to, and the versions in force on the day."""
    first_version_from = (
        "least(CAST(signup_date AS TIMESTAMP), updated_at)"
        if config.features.customer_history_valid_from == "signup"
        else "updated_at"
    )
    return f"""
    WITH versions AS (
        SELECT CAST(customer_id AS BIGINT) AS customer_id,
               CASE WHEN TRY_CAST(birth_year AS INT) BETWEEN 1900 AND 2015 THEN TRY_CAST(birth_year AS INT) END
                   AS birth_year,
               nullif(trim(education), '') AS education,
               array_to_string(list_transform(string_split(lower(nullif(trim(marital_status), '')), ' '),
                   lambda w: upper(w[1]) || w[2:]), ' ') AS marital_status,  -- Spark's initcap
               CASE WHEN TRY_CAST(income AS DOUBLE) >= 0 THEN TRY_CAST(income AS DOUBLE) END AS income,
               CASE WHEN TRY_CAST(kids_at_home AS INT) BETWEEN 0 AND 10 THEN TRY_CAST(kids_at_home AS INT) END
                   AS kids_at_home,
               CASE WHEN TRY_CAST(teens_at_home AS INT) BETWEEN 0 AND 10 THEN TRY_CAST(teens_at_home AS INT) END
                   AS teens_at_home,
               CAST(signup_date AS DATE) AS signup_date, {_ts("updated_at")} AS updated_at
        FROM raw_customers
        QUALIFY row_number() OVER (PARTITION BY customer_id, updated_at ORDER BY filename DESC) = 1
    ),
    history AS (
        SELECT *,
               CASE WHEN row_number() OVER w = 1 THEN {first_version_from} ELSE updated_at END AS valid_from,
               lead(updated_at) OVER w AS valid_to
        FROM versions WINDOW w AS (PARTITION BY customer_id ORDER BY updated_at)
    ),
    known_ids AS (SELECT DISTINCT customer_id FROM versions),
    known AS (
        SELECT * FROM history
        WHERE valid_from < {start} AND (valid_to IS NULL OR valid_to >= {start}) AND signup_date < {day}
    ),
    """


def _events_sql(config: Config, start: str) -> str:
    """Per customer: orders, spend per category, web visits, campaigns and complaints before the day."""
    categories, channels = config.vocabulary.categories, config.vocabulary.channels
    lookback, web_days = config.features.lookback_days, config.features.web_visit_days
    window = lambda ts, days: _window(start, ts, days)  # noqa: E731
    spend = ",\n".join(
        f"coalesce(CAST(sum(amount) FILTER (WHERE category = '{c}') AS DOUBLE), 0) AS spend_{c}"
        for c in categories
    )
    per_channel = ",\n".join(f"count(*) FILTER (WHERE channel = '{c}') AS orders_{c}" for c in channels)
    return f"""
    orders AS (
        SELECT customer_id, {_ts("ordered_at")} AS ordered_at, lower(trim(channel)) AS channel, is_deal, items
        FROM raw_orders WHERE customer_id IN (SELECT customer_id FROM known_ids)
        QUALIFY row_number() OVER (PARTITION BY order_id ORDER BY filename, {_ts("ordered_at")}) = 1
    ),
    recent_orders AS (SELECT * FROM orders WHERE {window("ordered_at", lookback)}),
    order_counts AS (
        SELECT customer_id, count(*) AS orders_total, {per_channel},
               count(*) FILTER (WHERE is_deal) AS deal_orders, max(ordered_at) AS last_ordered_at
        FROM recent_orders GROUP BY customer_id
    ),
    items AS (
        SELECT customer_id, lower(trim(item.category)) AS category,
               CAST(item.amount AS DECIMAL(18, 2)) AS amount
        FROM recent_orders, unnest(items) AS t(item)
    ),
    spend AS (
        SELECT customer_id, {spend},
               coalesce(CAST(sum(amount) AS DOUBLE), 0) AS spend_total
        FROM items GROUP BY customer_id
    ),
    visits AS (
        SELECT customer_id, count(*) AS web_visits_30d
        FROM ({_first_delivered("raw_visits", "visit_id", "visited_at")})
        WHERE {window("visited_at", web_days)} GROUP BY customer_id
    ),
    contacts AS (
        SELECT CAST(customer_id AS BIGINT) AS customer_id, {_ts("contacted_at")} AS contacted_at,
               accepted = '1' AS accepted
        FROM raw_contacts WHERE CAST(customer_id AS BIGINT) IN (SELECT customer_id FROM known_ids)
        QUALIFY row_number() OVER (PARTITION BY campaign_id, customer_id ORDER BY filename DESC) = 1
    ),
    campaigns AS (
        SELECT customer_id, count(*) AS campaigns_contacted, count(*) FILTER (WHERE accepted) AS campaigns_accepted
        FROM contacts WHERE {window("contacted_at", None)} GROUP BY customer_id
    ),
    complaints AS (
        SELECT customer_id, count(*) AS complaints_2y
        FROM ({_first_delivered("raw_complaints", "complaint_id", "complained_at")})
        WHERE {window("complained_at", lookback)} GROUP BY customer_id
    )
    """


def feature_sql(config: Config, as_of: date) -> str:
    """The query: one row per customer known before ``as_of``, the contract's columns in its order."""
    categories, channels = config.vocabulary.categories, config.vocabulary.channels
    day = f"DATE '{as_of.isoformat()}'"
    start = f"CAST({day} AS TIMESTAMP)"
    lookback = config.features.lookback_days
    zero = lambda c: f"coalesce({c}, 0) AS {c.split('.')[-1]}"  # noqa: E731
    return f"""
    {_customers_sql(config, day, start)}
    {_events_sql(config, start)}
    SELECT k.customer_id, {day} AS as_of_date, {as_of.year} - k.birth_year AS age_years,
           k.education, k.marital_status, k.income, k.kids_at_home, k.teens_at_home,
           date_diff('day', k.signup_date, {day}) AS tenure_days,
           coalesce(date_diff('day', CAST(o.last_ordered_at AS DATE), {day}), {lookback}) AS recency_days,
           {", ".join(zero(f"s.spend_{c}") for c in categories)}, {zero("s.spend_total")},
           {", ".join(zero(f"o.orders_{c}") for c in channels)}, {zero("o.orders_total")},
           {zero("o.deal_orders")}, {zero("v.web_visits_30d")}, {zero("c.campaigns_contacted")},
           {zero("c.campaigns_accepted")}, {zero("x.complaints_2y")}
    FROM known AS k
    LEFT JOIN order_counts AS o USING (customer_id)
    LEFT JOIN spend AS s USING (customer_id)
    LEFT JOIN visits AS v USING (customer_id)
    LEFT JOIN campaigns AS c USING (customer_id)
    LEFT JOIN complaints AS x USING (customer_id)
    ORDER BY k.customer_id
        """


@dataclass(frozen=True)
class Features:
    columns: list[str]
    rows: list[tuple[Any, ...]]
    seconds: float


def compute(landing: Path, config: Config, as_of: date) -> Features:
    """The features as of ``as_of`` from every file in ``landing``, and the seconds DuckDB took."""
    import duckdb

    started = time.perf_counter()
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        _sources(con, landing)
        result = con.execute(feature_sql(config, as_of))
        columns = [d[0] for d in result.description]
        rows = result.fetchall()
    finally:
        con.close()
    return Features(columns, rows, time.perf_counter() - started)


def _same(left: Any, right: Any) -> bool:
    if isinstance(left, float) and isinstance(right, float):
        return left == right or (math.isnan(left) and math.isnan(right))
    return bool(left == right) if left is not None and right is not None else left is right


def first_difference(
    columns: Sequence[str], expected: Sequence[tuple[Any, ...]], actual: Sequence[tuple[Any, ...]]
) -> str | None:
    """None when both hold the same rows (by customer_id, every column exactly); else the first difference,
    in one line naming the customer and the column."""
    key = columns.index("customer_id")
    by_id = {row[key]: row for row in actual}
    wanted = {row[key] for row in expected}
    if missing := sorted(wanted - by_id.keys()):
        return f"{len(missing)} customer(s) missing, e.g. customer_id {missing[0]}"
    if extra := sorted(by_id.keys() - wanted):
        return f"{len(extra)} customer(s) not expected, e.g. customer_id {extra[0]}"
    for row in sorted(expected, key=lambda r: r[key]):
        other = by_id[row[key]]
        for name, left, right in zip(columns, row, other, strict=True):
            if not _same(left, right):
                return f"customer_id {row[key]}, {name}: expected {left!r}, found {right!r}"
    return None
