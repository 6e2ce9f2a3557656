from datetime import datetime

from bronze import complaints as bronze_complaints
from bronze import web_visits as bronze_visits
from silver import complaints, web_visits
from tests.silver.helpers import bronze_frame, failed_rules, refine

T1, T2 = datetime(2026, 1, 1), datetime(2026, 1, 2)


def test_web_visits_deduplicate_by_visit_id_and_quarantine_bad_rows(spark):
    bronze = bronze_frame(
        spark,
        bronze_visits.SOURCE.raw_ddl,
        [
            ("V1", "1", "2026-01-01T10:00:00Z", None, None, "a", T1, "r"),
            ("V1", "1", "2026-01-01T10:00:00Z", None, None, "b", T2, "r"),
            ("V2", "2", "soon", None, None, "a", T1, "r"),
            (None, None, None, '{"visit_id": ', None, "a", T1, "r"),
        ],
    )
    silver, quarantined = refine(web_visits.TABLE, bronze)
    assert [(r["visit_id"], r["_source_file"]) for r in silver.collect()] == [("V1", "a")]
    assert failed_rules(quarantined) == {
        "V2": ["visited_at_valid"],
        None: ["customer_id_valid", "visit_id_present", "visited_at_valid", "well_formed"],
    }


def test_complaints_are_typed(spark):
    bronze = bronze_frame(
        spark,
        bronze_complaints.SOURCE.raw_ddl,
        [("K1", " 7 ", "2026-01-03T12:00:00Z", None, None, "a", T1, "r")],
    )
    silver, _ = refine(complaints.TABLE, bronze)
    assert [(r["complaint_id"], r["customer_id"], r["complained_at"]) for r in silver.collect()] == [
        ("K1", 7, datetime(2026, 1, 3, 12))
    ]
