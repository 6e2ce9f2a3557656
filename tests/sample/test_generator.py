import csv
import json
from datetime import date

import pytest

from bronze import customers
from sample import generate


def read_contacts(landing, campaign):
    with (landing / "campaign_contacts" / f"contacts_{campaign}.csv").open() as handle:
        return list(csv.DictReader(handle))


def test_same_seed_same_files_and_raw_formats(tmp_path):
    a = generate(tmp_path / "a", customers=300, seed=5, end_date=date(2026, 6, 30))
    generate(tmp_path / "b", customers=300, seed=5, end_date=date(2026, 6, 30))
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*") if p.is_file())
    assert files_a == files_b
    assert all((tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in files_a)
    order = json.loads((next((tmp_path / "a" / "orders").glob("*.jsonl"))).read_text().splitlines()[0])
    assert set(order) == {"order_id", "customer_id", "ordered_at", "channel", "is_deal", "items"}
    assert order["channel"] in {"web", "catalog", "store"} and set(order["items"][0]) == {
        "category",
        "amount",
    }
    with next((tmp_path / "a" / "customers").glob("*.csv")).open() as handle:
        assert tuple(next(csv.reader(handle))) == customers.SOURCE.raw_columns  # the raw contract
    assert a.rows["customers"] > 300  # the later export repeats changed customers


def test_other_seed_other_data(tmp_path):
    generate(tmp_path / "a", customers=100, seed=1)
    generate(tmp_path / "b", customers=100, seed=2)
    pilot = "campaign_contacts/contacts_cmp6.csv"
    assert (tmp_path / "a" / pilot).read_bytes() != (tmp_path / "b" / pilot).read_bytes()


def test_pilot_acceptance_is_near_the_case_and_follows_past_acceptance(tmp_path):
    summary = generate(tmp_path, customers=3000, seed=9)
    assert 0.12 < summary.pilot_acceptance_rate < 0.18
    accepted_before = set()
    for campaign in ("cmp1", "cmp2", "cmp3", "cmp4", "cmp5"):
        accepted_before |= {
            r["customer_id"] for r in read_contacts(tmp_path, campaign) if r["accepted"] == "1"
        }
    pilot = read_contacts(tmp_path, "cmp6")
    rate = {
        flag: sum(r["accepted"] == "1" for r in group) / len(group)
        for flag in (True, False)
        if (group := [r for r in pilot if (r["customer_id"] in accepted_before) == flag])
    }
    assert rate[True] > 2 * rate[False]


def test_invalid_customer_count_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="at least 1"):
        generate(tmp_path, customers=0)
