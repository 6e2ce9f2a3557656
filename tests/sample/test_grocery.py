import csv
import json
from datetime import date

from bronze import campaign_contacts, customers
from sample.grocery import DEPARTMENTS, generate_grocery

END = date(2026, 6, 30)


def test_same_seed_same_bytes_and_the_raw_contracts_headers(tmp_path):
    generate_grocery(tmp_path / "a", 150, seed=3, end_date=END)
    generate_grocery(tmp_path / "b", 150, seed=3, end_date=END)
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*") if p.is_file())
    assert all((tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in files)
    assert {f.parts[0] for f in files} == {
        "orders",
        "campaign_contacts",
        "customers",
    }  # no web, no complaints
    with next((tmp_path / "a" / "customers").iterdir()).open() as handle:
        assert tuple(next(csv.reader(handle))) == customers.SOURCE.raw_columns
    with next((tmp_path / "a" / "campaign_contacts").iterdir()).open() as handle:
        assert tuple(next(csv.reader(handle))) == campaign_contacts.SOURCE.raw_columns


def test_store_baskets_over_the_departments_and_campaigns_that_reward_past_acceptance(tmp_path):
    summary = generate_grocery(tmp_path, 1500, seed=5, end_date=END)
    baskets = [
        json.loads(line) for p in (tmp_path / "orders").iterdir() for line in p.read_text().splitlines()
    ]
    assert len(baskets) == summary.rows["orders"] and {b["channel"] for b in baskets} == {"store"}
    assert {i["category"] for b in baskets for i in b["items"]} == set(DEPARTMENTS)
    contacts = [
        r for p in sorted((tmp_path / "campaign_contacts").iterdir()) for r in list(csv.DictReader(p.open()))
    ]
    rates = {}
    for row in contacts:
        rates.setdefault(row["campaign_id"], []).append(int(row["accepted"]))
    sizes = [len(v) for v in rates.values()]
    assert 20 <= len(rates) <= 30 and min(sizes) >= 10 and max(sizes) <= 1500
    assert all(sum(v) / len(v) <= 0.3 for v in rates.values())
    # audiences overlap, and a past acceptor accepts later campaigns more often than others
    seen, accepted_before, later = set(), set(), {True: [], False: []}
    for campaign in sorted(rates):
        for row in (r for r in contacts if r["campaign_id"] == campaign):
            later[row["customer_id"] in accepted_before].append(int(row["accepted"]))
            seen.add(row["customer_id"])
            if row["accepted"] == "1":
                accepted_before.add(row["customer_id"])
    assert len(contacts) > len(seen)
    assert sum(later[True]) / len(later[True]) > 2 * sum(later[False]) / len(later[False])
