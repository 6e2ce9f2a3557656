"""Spoil generated raw files the way real feeds do, each defect a named function.

Orders: malformed JSON, unparseable amounts and dates, a missing customer_id, unknown categories and
channels, negative amounts, customers nobody knows, events delivered twice. Customers: unparseable
incomes, CSV lines with a missing field, late updates carrying older timestamps. Web visits: malformed
lines. Files: an empty one, one with an extra column, one lacking a required column.
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from bronze import campaign_contacts, customers
from sample.files import settle

Record = dict[str, Any]


def _malformed_json(line: str, record: Record, rng: np.random.Generator) -> str:
    return line[: len(line) // 2]


def _unparseable_amount(line: str, record: Record, rng: np.random.Generator) -> str:
    record["items"][0]["amount"] = "12,5O"
    return json.dumps(record)


def _unparseable_date(line: str, record: Record, rng: np.random.Generator) -> str:
    record["ordered_at"] = "31/02/2026 25:61"
    return json.dumps(record)


def _missing_customer_id(line: str, record: Record, rng: np.random.Generator) -> str:
    del record["customer_id"]
    return json.dumps(record)


def _unknown_category(line: str, record: Record, rng: np.random.Generator) -> str:
    record["items"][0]["category"] = "pizza"
    return json.dumps(record)


def _unknown_channel(line: str, record: Record, rng: np.random.Generator) -> str:
    record["channel"] = "drone"
    return json.dumps(record)


def _negative_amount(line: str, record: Record, rng: np.random.Generator) -> str:
    record["items"][0]["amount"] = -abs(record["items"][0]["amount"]) - 1
    return json.dumps(record)


def _unknown_customer(line: str, record: Record, rng: np.random.Generator) -> str:
    record["customer_id"] = 990_000_000 + int(rng.integers(1_000_000))
    return json.dumps(record)


def _duplicate_event(line: str, record: Record, rng: np.random.Generator) -> str:
    return line  # kept as it is, and sent again in a later file


# name -> (line, parsed record, rng) -> the line as delivered; the order fixes which defect a draw picks
ORDER_DEFECTS: dict[str, Callable[[str, Record, np.random.Generator], str]] = {
    "malformed_json": _malformed_json,
    "unparseable_amount": _unparseable_amount,
    "unparseable_date": _unparseable_date,
    "missing_customer_id": _missing_customer_id,
    "unknown_category": _unknown_category,
    "unknown_channel": _unknown_channel,
    "negative_amount": _negative_amount,
    "unknown_customer": _unknown_customer,
    "duplicate_event": _duplicate_event,
}
RESENT = ("duplicate_event",)


def _spoil_orders(landing: Path, rate: float, rng: np.random.Generator, hit: dict[str, list[str]]) -> None:
    names = list(ORDER_DEFECTS)
    resent: list[str] = []
    for path in sorted((landing / "orders").glob("orders_*.jsonl")):
        out = []
        for line in path.read_text().splitlines():
            record = json.loads(line)
            if rng.random() >= rate:
                out.append(line)
                continue
            defect = names[int(rng.integers(len(names)))]
            hit.setdefault(defect, []).append(record["order_id"])
            out.append(ORDER_DEFECTS[defect](line, record, rng))
            if defect in RESENT:
                resent.append(line)
        path.write_text("\n".join(out) + "\n")
    if resent:  # the order service re-sends events in a later file
        (landing / "orders" / "orders_resent.jsonl").write_text("\n".join(resent) + "\n")
    (landing / "orders" / "orders_empty.jsonl").write_text("")


def _spoil_visits(landing: Path, rate: float, rng: np.random.Generator, hit: dict[str, list[str]]) -> None:
    for path in sorted((landing / "web_visits").glob("*.jsonl")):
        lines = path.read_text().splitlines()
        for i in np.flatnonzero(rng.random(len(lines)) < rate / 4):
            hit.setdefault("malformed_visit", []).append(json.loads(lines[i])["visit_id"])
            lines[i] = lines[i][:-9]
        path.write_text("\n".join(lines) + "\n")


def _spoil_exports(landing: Path, rate: float, rng: np.random.Generator, hit: dict[str, list[str]]) -> None:
    """In the latest export: unparseable incomes, lines missing a field; and a file of late updates that
    carry timestamps older than the versions already delivered."""
    columns = customers.SOURCE.raw_columns
    income, marital, updated = (columns.index(c) for c in ("income", "marital_status", "updated_at"))
    latest = sorted((landing / "customers").glob("customers_*.csv"))[-1]
    with latest.open(newline="") as handle:
        header, *body = list(csv.reader(handle))
    late = []
    for row in body:
        draw = rng.random()
        if draw < rate / 3:
            hit.setdefault("unparseable_income", []).append(row[0])
            row[income] = "n/a"
        elif draw < 2 * rate / 3:
            hit.setdefault("missing_field", []).append(row[0])
            del row[marital]
        elif draw < rate:
            hit.setdefault("late_older_update", []).append(row[0])
            older = datetime.fromisoformat(row[updated].replace("Z", "+00:00")) - timedelta(days=400)
            late.append(
                [*row[:income], "1", *row[income + 1 : updated], older.strftime("%Y-%m-%dT%H:%M:%SZ")]
            )
    with latest.open("w", newline="") as handle:
        csv.writer(handle).writerows([header, *body])
    with (landing / "customers" / f"customers_late_{latest.stem[-10:]}.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows([header, *late])


def _spoil_files(landing: Path, hit: dict[str, list[str]]) -> None:
    """A complaints file with a column outside the contract; a contacts file lacking a required one."""
    complaints = landing / "complaints" / "complaints.csv"
    with complaints.open(newline="") as handle:
        rows = list(csv.reader(handle))
    with complaints.open("w", newline="") as handle:
        csv.writer(handle).writerows([[*rows[0], "agent_note"], *[[*r, "called back"] for r in rows[1:]]])
    hit["extra_column_file"] = [complaints.name]
    required = campaign_contacts.SOURCE.required
    kept = [c for c in campaign_contacts.SOURCE.raw_columns if c != required[-1]]
    broken = landing / "campaign_contacts" / "contacts_export_without_responses.csv"
    broken.write_text(",".join(kept) + "\ncmp9,1,2026-06-01T09:00:00Z\n")
    hit["missing_column_file"] = [broken.name]


def inject_defects(landing: Path, rate: float, seed: int) -> dict[str, list[str]]:
    """Spoil about ``rate`` of the generated records; returns the ids hit per defect."""
    started = time.time()
    if not 0 <= rate <= 0.5:
        raise ValueError(f"--defect-rate must be between 0 and 0.5, not {rate}")
    rng = np.random.default_rng(seed + 1_000_003)
    hit: dict[str, list[str]] = {}
    _spoil_orders(landing, rate, rng, hit)
    _spoil_visits(landing, rate, rng, hit)
    _spoil_exports(landing, rate, rng, hit)
    _spoil_files(landing, hit)
    settle(landing, started, None)
    return hit
