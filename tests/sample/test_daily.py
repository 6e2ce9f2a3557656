import json
from datetime import date

from sample.daily import write_days
from sample.generator import generate

END = date(2026, 6, 30)
VOCABULARY = (("wines", "fruits", "meat", "fish", "sweets", "gold"), ("web", "catalog", "store"))


def _records(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_new_days_are_the_samples_customers_after_its_end_one_file_per_day(tmp_path):
    generate(tmp_path, customers=500, seed=3, end_date=END)
    written = write_days(tmp_path, 500, 3, END, 2, *VOCABULARY)
    customers = {
        int(line.split(",")[0])
        for p in (tmp_path / "customers").glob("*.csv")
        for line in p.read_text().splitlines()[1:]
    }
    orders = _records(tmp_path / "orders" / "orders_2026-06-30.jsonl") + _records(
        tmp_path / "orders" / "orders_2026-07-01.jsonl"
    )
    visits = _records(tmp_path / "web_visits" / "web_visits_2026-07-01.jsonl")
    assert written["orders"] == len(orders) > 0 and len(visits) > 0
    assert {o["customer_id"] for o in orders} <= customers and {v["customer_id"] for v in visits} <= customers
    assert {o["ordered_at"][:10] for o in orders} == {"2026-06-30", "2026-07-01"}
    assert all(o["channel"] in VOCABULARY[1] and o["items"] for o in orders)
    assert all(i["category"] in VOCABULARY[0] and i["amount"] >= 0 for o in orders for i in o["items"])


def test_the_same_seed_and_day_write_the_same_bytes(tmp_path):
    for folder in ("a", "b"):
        write_days(tmp_path / folder, 200, 3, END, 1, *VOCABULARY)
    day = "orders/orders_2026-06-30.jsonl"
    assert (tmp_path / "a" / day).read_bytes() == (tmp_path / "b" / day).read_bytes()
