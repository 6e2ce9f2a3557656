from datetime import date, datetime

import pytest
from chispa import assert_df_equality

from bronze.customers import SOURCE
from silver import customers
from tests.silver.helpers import bronze_frame, failed_rules, refine

T1, T2 = datetime(2026, 1, 1), datetime(2026, 2, 1)


def row(cid, income, updated_at, *, birth="1980", kids="0", corrupt=None, ingested=T1, file="a.csv"):
    return (
        cid,
        birth,
        " PhD ",
        "single",
        income,
        kids,
        "1",
        "2024-05-01",
        updated_at,
        corrupt,
        None,
        file,
        ingested,
        "r1",
    )


def test_latest_version_wins_and_values_are_typed(spark):
    bronze = bronze_frame(
        spark,
        SOURCE.raw_ddl,
        [
            row("1", "50000", "2026-01-01T00:00:00Z"),
            row("1", " 61000 ", "2026-03-01T00:00:00Z", file="b.csv", ingested=T2),
            row("1", "55000", "2026-02-01T00:00:00Z", file="c.csv", ingested=T2),  # late, older update
            row("2", "", "2026-01-05T00:00:00Z"),  # blank income is allowed: unknown
        ],
    )
    silver, quarantined = refine(customers.TABLE, bronze)
    expected = spark.createDataFrame(
        [
            (
                1,
                1980,
                "PhD",
                "Single",
                61000.0,
                0,
                1,
                date(2024, 5, 1),
                datetime(2026, 3, 1),
                "b.csv",
                T2,
                "r1",
            ),
            (2, 1980, "PhD", "Single", None, 0, 1, date(2024, 5, 1), datetime(2026, 1, 5), "a.csv", T1, "r1"),
        ],
        customers.CONTRACT.schema,
    )
    assert_df_equality(silver, expected, ignore_row_order=True, ignore_nullable=True, ignore_metadata=True)
    assert quarantined.count() == 0


def test_only_rows_that_cannot_be_placed_are_quarantined_impossible_values_become_unknown(spark):
    bronze = bronze_frame(
        spark,
        SOURCE.raw_ddl,
        [
            row("3", "lots", "2026-01-01T00:00:00Z", kids="-1"),  # unparseable income, impossible kids
            row("4", "-5", "yesterday"),  # no timestamp: cannot be placed in time
            row("x", "1", "2026-01-01T00:00:00Z", corrupt="x,1,2"),
            row("5", "40000", "2026-01-01T00:00:00Z", birth="1893"),  # impossible birth year
        ],
    )
    silver, quarantined = refine(customers.TABLE, bronze)
    assert failed_rules(quarantined) == {
        "4": ["income_valid", "updated_at_valid"],
        "x": ["customer_id_valid", "well_formed"],
    }
    kept = sorted(
        (r["customer_id"], r["income"], r["kids_at_home"], r["birth_year"]) for r in silver.collect()
    )
    assert kept == [(3, None, None, 1980), (5, 40000.0, 0, None)]


def test_blank_demographics_keep_the_customer_and_are_counted_per_column(spark):
    from pipelines import quality

    blank = ("7", "", "", "", "", "", "", "2024-05-01", "2026-01-01T00:00:00Z", None, None, "a.csv", T1, "r1")
    bronze = bronze_frame(spark, SOURCE.raw_ddl, [blank, row("8", "1000", "2026-01-01T00:00:00Z")])
    silver, quarantined = refine(customers.TABLE, bronze)
    assert quarantined.count() == 0
    got = silver.where("customer_id = 7").collect()[0]
    assert [got[c] for c in customers.DEMOGRAPHICS] == [None] * 6
    checks = customers.checks(None)  # type: ignore[arg-type]
    from pipelines.refine import with_bronze_record

    flagged = quality.flag(customers.parse(with_bronze_record(bronze)), checks)
    results = {
        r.rule: (r.failed, r.outcome) for r in quality.evaluate("silver.customers", flagged, checks)[0]
    }
    assert {c: results[f"{c}_present"] for c in customers.DEMOGRAPHICS} == {
        c: (1, "warned") for c in customers.DEMOGRAPHICS
    }
    assert results["income_valid"] == (0, "passed")  # blank is unknown, not invalid


def test_contract_columns_and_key():
    assert customers.CONTRACT.primary_key == ("customer_id",)
    assert customers.CONTRACT.columns[:2] == ("customer_id", "birth_year")
    assert not customers.CONTRACT.column("customer_id").nullable


@pytest.mark.parametrize("policy", ["signup", "updated_at"])
def test_history_keeps_every_version_valid_until_the_next(spark, policy):
    from silver import customer_history

    bronze = bronze_frame(
        spark,
        SOURCE.raw_ddl,
        [
            row("1", "50000", "2026-01-01T00:00:00Z"),
            row("1", "61000", "2026-03-01T00:00:00Z", file="b.csv", ingested=T2),
            row(
                "1", "55000", "2026-02-01T00:00:00Z", file="c.csv", ingested=T2
            ),  # late but older: in between
            row("1", "55000", "2026-02-01T00:00:00Z", file="d.csv", ingested=T2),  # delivered twice
            row("2", "", "2026-01-05T00:00:00Z"),
        ],
    )
    history, _ = refine(customer_history.TABLE, bronze, valid_from=policy)
    got = sorted(
        (r["customer_id"], r["income"], r["valid_from"], r["valid_to"], r["is_current"])
        for r in history.collect()
    )
    signup = datetime(2024, 5, 1)  # the first version describes the customer from sign-up, by default
    first = (
        {1: signup, 2: signup} if policy == "signup" else {1: datetime(2026, 1, 1), 2: datetime(2026, 1, 5)}
    )
    assert got == [
        (1, 50000.0, first[1], datetime(2026, 2, 1), False),
        (1, 55000.0, datetime(2026, 2, 1), datetime(2026, 3, 1), False),
        (1, 61000.0, datetime(2026, 3, 1), None, True),
        (2, None, first[2], None, True),
    ]
