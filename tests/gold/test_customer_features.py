from datetime import date, datetime

import pytest
from chispa import assert_df_equality

from gold import customer_features
from pipelines.config import Vocabulary
from silver import campaign_contacts, complaints, customer_history, orders, web_visits

AS_OF = date(2026, 6, 30)
VOCAB = Vocabulary(categories=("wines", "meat"), channels=("web", "store"))
LINEAGE = ("f", datetime(2026, 1, 1), "r")


def frames(spark, *, customer_rows, order_rows=(), visit_rows=(), contact_rows=(), complaint_rows=()):
    def customer(cid, signup, income=50000.0, valid_from=None, valid_to=None):
        start = valid_from or datetime(2020, 1, 1)
        return (cid, start, valid_to, valid_to is None, 1980, "PhD", "Single", income, 1, 0, signup, *LINEAGE)

    def order(oid, cid, at, channel, deal, items):
        return (oid, cid, at, channel, deal, items, len(items), sum(a for _, a in items), *LINEAGE)

    return dict(
        customer_history=spark.createDataFrame(
            [customer(*r) for r in customer_rows], customer_history.CONTRACT.schema
        ),
        orders=spark.createDataFrame([order(*r) for r in order_rows], orders.CONTRACT.schema),
        web_visits=spark.createDataFrame([(*r, *LINEAGE) for r in visit_rows], web_visits.CONTRACT.schema),
        campaign_contacts=spark.createDataFrame(
            [(*r, *LINEAGE) for r in contact_rows], campaign_contacts.CONTRACT.schema
        ),
        complaints=spark.createDataFrame(
            [(*r, *LINEAGE) for r in complaint_rows], complaints.CONTRACT.schema
        ),
    )


def features(spark, **rows):
    df = customer_features.transform(
        **frames(spark, **rows), dates=[AS_OF], vocabulary=VOCAB, lookback_days=730
    )
    return {r["customer_id"]: r.asDict() for r in df.collect()}


def test_aggregates_use_only_events_before_the_run_date_within_the_windows(spark):
    got = features(
        spark,
        customer_rows=[(1, date(2024, 1, 1))],
        order_rows=[
            ("O1", 1, datetime(2026, 6, 20, 12), "web", True, [("wines", 10.0), ("meat", 5.0)]),
            ("O2", 1, datetime(2026, 3, 1), "store", False, [("meat", 20.0)]),
            (
                "O3",
                1,
                datetime(2026, 6, 30, 0, 0),
                "web",
                False,
                [("wines", 1000.0)],
            ),  # on the run date: excluded
            (
                "O4",
                1,
                datetime(2024, 6, 1),
                "store",
                False,
                [("wines", 500.0)],
            ),  # older than two years: excluded
        ],
        visit_rows=[
            ("V1", 1, datetime(2026, 6, 29)),
            ("V2", 1, datetime(2026, 6, 1)),
            ("V3", 1, datetime(2026, 5, 30)),
            ("V4", 1, datetime(2026, 7, 1)),
        ],
        contact_rows=[
            ("c1", 1, datetime(2025, 1, 1), True),
            ("c2", 1, datetime(2026, 1, 1), False),
            ("c3", 1, datetime(2026, 6, 30, 9), True),
        ],  # contacted on the run date: not yet known
        complaint_rows=[("K1", 1, datetime(2025, 5, 1)), ("K2", 1, datetime(2026, 7, 2))],
    )[1]
    assert {
        k: got[k]
        for k in (
            "spend_wines",
            "spend_meat",
            "spend_total",
            "orders_web",
            "orders_store",
            "orders_total",
            "deal_orders",
            "recency_days",
            "web_visits_30d",
            "campaigns_contacted",
            "campaigns_accepted",
            "complaints_2y",
            "tenure_days",
            "age_years",
            "as_of_date",
        )
    } == {
        "spend_wines": 10.0,
        "spend_meat": 25.0,
        "spend_total": 35.0,
        "orders_web": 1,
        "orders_store": 1,
        "orders_total": 2,
        "deal_orders": 1,
        "recency_days": 10,
        "web_visits_30d": 2,
        "campaigns_contacted": 2,
        "campaigns_accepted": 1,
        "complaints_2y": 1,
        "tenure_days": 911,
        "age_years": 46,
        "as_of_date": AS_OF,
    }


def test_customer_without_events_gets_zeros_and_full_window_recency(spark):
    got = features(spark, customer_rows=[(2, date(2026, 6, 1), None)])[2]
    assert (
        got["orders_total"],
        got["spend_total"],
        got["spend_wines"],
        got["web_visits_30d"],
        got["recency_days"],
        got["income"],
    ) == (0, 0.0, 0.0, 0, 730, None)


def test_customers_who_signed_up_on_or_after_the_run_date_are_left_out(spark):
    got = features(
        spark, customer_rows=[(1, date(2026, 6, 29)), (2, date(2026, 6, 30)), (3, date(2026, 7, 5))]
    )
    assert sorted(got) == [1]


def test_attributes_are_those_valid_on_the_run_date(spark):
    got = features(
        spark,
        customer_rows=[
            (1, date(2024, 1, 1), 40000.0, datetime(2024, 1, 1), datetime(2026, 3, 1)),
            (1, date(2024, 1, 1), 45000.0, datetime(2026, 3, 1), datetime(2026, 7, 1)),
            (1, date(2024, 1, 1), 99000.0, datetime(2026, 7, 1), None),  # a later change must not leak
            (2, date(2026, 6, 1), 30000.0, datetime(2026, 7, 2), None),  # not in the CRM yet on the run date
        ],
    )
    assert {cid: row["income"] for cid, row in got.items()} == {1: 45000.0}


def test_contract_follows_the_configured_vocabulary():
    contract = customer_features.contract(VOCAB)
    assert {"spend_wines", "spend_meat", "orders_web", "orders_store"} <= set(contract.columns)
    assert "spend_fish" not in contract.columns
    assert contract.primary_key == ("customer_id", "as_of_date") and contract.partition_by == ("as_of_date",)
    assert set(customer_features.numeric_columns(VOCAB)) <= set(contract.columns)


@pytest.mark.parametrize("category", ["pizza", "sushi"])
def test_other_categories_need_no_code_change(spark, category):
    vocab = Vocabulary(categories=(category,), channels=("app",))
    df = customer_features.transform(
        **frames(
            spark,
            customer_rows=[(1, date(2024, 1, 1))],
            order_rows=[("O1", 1, datetime(2026, 6, 1), "app", False, [(category, 7.0)])],
        ),
        dates=[AS_OF],
        vocabulary=vocab,
    )
    row = df.collect()[0]
    assert (row[f"spend_{category}"], row["orders_app"]) == (7.0, 1)


def test_no_later_event_or_attribute_leaks_into_the_features(spark):
    """Features as of AS_OF from the whole history equal those from the history cut at AS_OF, while the
    later data is rich enough to change the features of a later date: any leak would show."""
    after = datetime(2026, 7, 1, 8)
    rows = dict(
        customer_rows=[
            (1, date(2024, 1, 1), 40000.0, datetime(2020, 1, 1), datetime(2026, 7, 1)),
            (1, date(2024, 1, 1), 99000.0, datetime(2026, 7, 1), None),  # income changes after AS_OF
            (2, date(2025, 3, 1), 30000.0),
        ],
        order_rows=[
            ("o1", 1, datetime(2026, 6, 29, 20), "web", False, [("wines", 10.0)]),
            ("o2", 1, after, "store", True, [("meat", 500.0), ("wines", 5.0)]),  # after AS_OF
            ("o3", 2, datetime(2026, 6, 30, 0, 0, 1), "web", True, [("meat", 7.0)]),  # on AS_OF: excluded
        ],
        visit_rows=[("V1", 1, datetime(2026, 6, 20)), ("V2", 2, after), ("V3", 1, datetime(2026, 6, 30))],
        contact_rows=[("c1", 1, datetime(2026, 5, 1), True), ("c2", 2, after, True)],
        complaint_rows=[("K1", 2, datetime(2026, 7, 3))],
    )
    cut = datetime(2026, 6, 30)
    truncated = dict(
        customer_rows=[
            (1, date(2024, 1, 1), 40000.0, datetime(2020, 1, 1), None),
            (2, date(2025, 3, 1), 30000.0),
        ],
        order_rows=[r for r in rows["order_rows"] if r[2] < cut],
        visit_rows=[r for r in rows["visit_rows"] if r[2] < cut],
        contact_rows=[r for r in rows["contact_rows"] if r[2] < cut],
        complaint_rows=[r for r in rows["complaint_rows"] if r[2] < cut],
    )
    assert features(spark, **rows) == features(spark, **truncated)
    later = customer_features.transform(
        **frames(spark, **rows), dates=[date(2026, 7, 10)], vocabulary=VOCAB, lookback_days=730
    )
    later_rows = {r["customer_id"]: r for r in later.collect()}
    assert later_rows[1]["income"] == 99000.0 and later_rows[1]["spend_meat"] == 500.0
    assert later_rows[2]["complaints_2y"] == 1 and later_rows[2]["campaigns_accepted"] == 1
    # both dates in one pass: each date's rows are those it has computed alone
    both = customer_features.transform(
        **frames(spark, **rows), dates=[date(2026, 7, 10), AS_OF], vocabulary=VOCAB, lookback_days=730
    )
    now = customer_features.transform(
        **frames(spark, **rows), dates=[AS_OF], vocabulary=VOCAB, lookback_days=730
    )
    assert_df_equality(both, later.unionByName(now), ignore_row_order=True, ignore_nullable=True)


@pytest.mark.parametrize("policy", ["signup", "updated_at"])
def test_a_snapshot_export_describes_the_customer_since_sign_up_or_fails_loudly(ctx, policy):
    """A CRM snapshot exported after every event: with the signup policy the customer has features on
    earlier dates; with updated_at nobody is known then, and the stage says why instead of writing nothing."""
    import dataclasses

    from ops import dq_results
    from pipelines import runner
    from pipelines.tables import TableError

    config = dataclasses.replace(
        ctx.config,
        categories=VOCAB.categories,
        channels=VOCAB.channels,
        features=dataclasses.replace(ctx.config.features, customer_history_valid_from=policy),
    )
    run = dataclasses.replace(ctx, config=config)
    versions = ctx.spark.createDataFrame(
        [(7, 1980, "PhD", "Single", None, None, 0, date(2024, 1, 1), datetime(2026, 7, 2, 6), *LINEAGE)],
        "customer_id BIGINT, birth_year INT, education STRING, marital_status STRING, income DOUBLE, "
        "kids_at_home INT, teens_at_home INT, signup_date DATE, updated_at TIMESTAMP, _source_file STRING, "
        "_ingested_at TIMESTAMP, _run_id STRING",
    )
    history = customer_history.transform(versions, valid_from=policy)
    silver = frames(
        ctx.spark,
        customer_rows=[(7, date(2024, 1, 1))],
        order_rows=[("o1", 7, datetime(2025, 5, 1), "web", False, [("wines", 4.0)])],
    )
    tables = {customer_history: history, orders: silver["orders"], web_visits: silver["web_visits"]}
    tables |= {campaign_contacts: silver["campaign_contacts"], complaints: silver["complaints"]}
    for module, frame in tables.items():
        run.lakehouse.overwrite(module.CONTRACT, frame)
    if policy == "signup":
        runner.refresh(run, customer_features.TABLE, dq_results.TABLE, as_of=AS_OF)
        row = runner.read_partition(run, customer_features.TABLE, AS_OF).collect()[0]
        assert (row["customer_id"], row["age_years"], row["spend_wines"], row["orders_web"]) == (
            7,
            46,
            4.0,
            1,
        )
    else:
        message = (
            r"gold.customer_features as of 2026-06-30: no row from non-empty inputs. 0 of 1 customers are known "
            r"on 2026-06-30: their first versions start on 2026-07-02 \(updated_at\); see features.customer_history_valid_from"
        )
        with pytest.raises(TableError, match=message):
            runner.refresh(run, customer_features.TABLE, dq_results.TABLE, as_of=AS_OF)
        assert not run.lakehouse.exists("gold.customer_features")
