from datetime import datetime

from bronze.orders import SOURCE
from pipelines.config import Vocabulary
from silver import orders
from tests.silver.helpers import bronze_frame, failed_rules, refine

T1, T2 = datetime(2026, 1, 1), datetime(2026, 1, 2)


def order(
    oid,
    items,
    *,
    channel="web",
    deal="false",
    at="2026-01-01T10:00:00Z",
    file="a.jsonl",
    ingested=T1,
    cust="1",
):
    return (oid, cust, at, channel, deal, items, None, None, file, ingested, "r1")


def test_items_are_typed_totalled_and_a_repeated_event_keeps_its_first_delivery(spark):
    bronze = bronze_frame(
        spark,
        SOURCE.raw_ddl,
        [
            order("O1", [("Wines", "10.5"), ("meat", " 4.5")], channel=" Store ", deal="true"),
            order("O1", [("wines", "99")], file="b.jsonl", ingested=T2),  # redelivered later
            order("O2", [("gold", "0")]),
        ],
    )
    silver, quarantined = refine(orders.TABLE, bronze)
    got = {
        r["order_id"]: (
            r["channel"],
            r["is_deal"],
            r["item_count"],
            r["amount_total"],
            [(i["category"], i["amount"]) for i in r["items"]],
            r["_source_file"],
        )
        for r in silver.collect()
    }
    assert got == {
        "O1": ("store", True, 2, 15.0, [("wines", 10.5), ("meat", 4.5)], "a.jsonl"),
        "O2": ("web", False, 1, 0.0, [("gold", 0.0)], "a.jsonl"),
    }
    assert quarantined.count() == 0


def test_bad_orders_are_quarantined_by_rule(spark):
    bronze = bronze_frame(
        spark,
        SOURCE.raw_ddl,
        [
            order("O3", [("wines", "-2")]),
            order("O4", [("pizza", "3")], channel="drone"),
            order("O5", [], deal="maybe", at="not a date"),
            order("O6", None, cust="abc"),
        ],
    )
    _, quarantined = refine(orders.TABLE, bronze)
    assert failed_rules(quarantined) == {
        "O3": ["item_amounts_valid"],
        "O4": ["channel_known", "item_categories_known"],
        "O5": ["has_items", "is_deal_valid", "ordered_at_valid"],
        "O6": ["customer_id_valid", "has_items", "item_amounts_valid", "item_categories_known"],
    }


def test_orders_of_unknown_customers_are_quarantined(spark):
    bronze = bronze_frame(
        spark, SOURCE.raw_ddl, [order("O8", [("wines", "1")], cust="404"), order("O9", [("wines", "1")])]
    )
    silver, quarantined = refine(orders.TABLE, bronze, unknown_customers=(404,))
    assert [r["order_id"] for r in silver.collect()] == ["O9"]
    assert failed_rules(quarantined) == {"O8": ["customer_known"]}


def test_vocabularies_come_from_configuration(spark):
    bronze = bronze_frame(spark, SOURCE.raw_ddl, [order("O7", [("pizza", "3")], channel="app")])
    silver, quarantined = refine(orders.TABLE, bronze, Vocabulary(categories=("pizza",), channels=("app",)))
    assert [r["order_id"] for r in silver.collect()] == ["O7"] and quarantined.count() == 0
