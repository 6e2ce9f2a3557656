from datetime import datetime

from bronze.campaign_contacts import SOURCE
from silver import campaign_contacts
from tests.silver.helpers import bronze_frame, failed_rules, refine

T1, T2 = datetime(2026, 1, 1), datetime(2026, 1, 9)


def contact(cid, accepted, *, file="a.csv", ingested=T1, at="2026-01-01T09:00:00Z"):
    return ("cmp1", cid, at, accepted, None, None, file, ingested, "r1")


def test_a_later_delivery_updates_the_response_and_bad_flags_are_quarantined(spark):
    bronze = bronze_frame(
        spark,
        SOURCE.raw_ddl,
        [
            contact("1", "0"),
            contact("1", "1", file="b.csv", ingested=T2),
            contact("2", "yes"),
            contact("3", "0", at=""),
        ],
    )
    silver, quarantined = refine(campaign_contacts.TABLE, bronze, key="customer_id")
    assert [(r["customer_id"], r["accepted"], r["_source_file"]) for r in silver.collect()] == [
        (1, True, "b.csv")
    ]
    assert failed_rules(quarantined) == {"2": ["accepted_is_0_or_1"], "3": ["contacted_at_valid"]}
