import dataclasses
from datetime import date, datetime

import pytest
from pyspark.sql import functions as F

from gold import acceptance, campaign_responses
from gold.customer_features import numeric_columns
from pipelines.config import Vocabulary

VOCAB = Vocabulary(categories=("wines",), channels=("web",))


def test_completed_campaigns_exclude_those_still_inside_the_response_window(spark):
    contacts = spark.createDataFrame(
        [
            ("a", 1, datetime(2026, 5, 1), True),
            ("a", 2, datetime(2026, 5, 2), False),
            ("b", 1, datetime(2026, 6, 1), False),
            ("c", 1, datetime(2026, 6, 25), True),
        ],
        "campaign_id STRING, customer_id BIGINT, contacted_at TIMESTAMP, accepted BOOLEAN",
    )
    done = campaign_responses.completed_campaigns(
        contacts, date(2026, 6, 30), response_window_days=14
    ).collect()
    assert [(r["campaign_id"], r["contact_date"], r["contacts"], r["acceptances"]) for r in done] == [
        ("b", date(2026, 6, 1), 1, 0),
        ("a", date(2026, 5, 1), 2, 1),
    ]


def test_holdout_is_deterministic_and_close_to_the_fraction(spark):
    ids = spark.range(2000).withColumnRenamed("id", "customer_id")
    first = {r[0] for r in ids.where(acceptance.in_holdout(0.2, 42)).collect()}
    second = {r[0] for r in ids.where(acceptance.in_holdout(0.2, 42)).collect()}
    assert first == second and 300 < len(first) < 500


def _features(spark, rows):
    cols = numeric_columns(VOCAB)
    ddl = "customer_id BIGINT, education STRING, marital_status STRING, label DOUBLE, " + ", ".join(
        f"{c} DOUBLE" for c in cols
    )
    return spark.createDataFrame(rows, ddl), cols


def test_obvious_acceptors_score_above_obvious_refusers(spark):
    cols = numeric_columns(VOCAB)
    rows = []
    for i in range(80):
        accepts = i % 4 == 0
        values = {c: float((i * 7) % 5) for c in cols}
        values |= {
            "campaigns_accepted": 3.0 if accepts else 0.0,
            "recency_days": 5.0 if accepts else 90.0,
            "income": None if i == 1 else 50000.0 + i,
        }
        rows.append(
            (i, "PhD" if i % 2 else "Basic", "Single", 1.0 if accepts else 0.0, *[values[c] for c in cols])
        )
    train, cols = _features(spark, rows)
    model = acceptance.build_pipeline(cols, seed=1).fit(acceptance.prepare(train, cols))
    new = {c: 1.0 for c in cols} | {"income": 50040.0}
    hot = (
        1000,
        "Master",
        "Widow",
        None,
        *[{**new, "campaigns_accepted": 3.0, "recency_days": 3.0}[c] for c in cols],
    )
    cold = (
        1001,
        "unknown",
        "YOLO",
        None,
        *[{**new, "campaigns_accepted": 0.0, "recency_days": 95.0}[c] for c in cols],
    )
    scored = acceptance.score(model, _features(spark, [hot, cold])[0], cols)  # unseen categories are handled
    probability = {r["customer_id"]: r[acceptance.PROBABILITY] for r in scored.collect()}
    assert probability[1000] > 0.5 > probability[1001]
    assert all(0.0 <= p <= 1.0 for p in probability.values())


def _responses(spark, campaigns):
    """campaigns: (id, contact date, [(customer, accepted), ...]); final 14 days after contact."""
    from datetime import timedelta

    rows = [
        (cid, customer, day, day + timedelta(days=14), accepted)
        for cid, day, contacts in campaigns
        for customer, accepted in contacts
    ]
    return spark.createDataFrame(rows, campaign_responses.CONTRACT.schema)


def _completed(responses, settings):  # type: ignore[no-untyped-def]
    return campaign_responses.completed(responses, date(2026, 6, 30), settings.training_window_days).collect()


def test_the_latest_campaigns_hold_out_when_they_hold_enough_acceptances(spark):
    import dataclasses

    from gold import acceptance_training as at
    from pipelines.config import ModelSettings

    def campaign(k, day, accepted):
        return (f"c{k}", day, [(i, i < accepted) for i in range(40)])

    responses = _responses(
        spark,
        [
            campaign(1, date(2025, 3, 1), 6),  # outside a 365-day window on 2026-06-30
            campaign(2, date(2025, 9, 1), 5),
            campaign(3, date(2026, 1, 10), 4),
            campaign(4, date(2026, 4, 1), 8),
            campaign(5, date(2026, 5, 20), 3),
        ],
    )
    settings = dataclasses.replace(ModelSettings(), min_holdout_acceptances=10, training_window_days=365)
    plan = at.plan(_completed(responses, settings), date(2026, 6, 30), settings)
    assert [c.campaign_id for c in plan.holdout] == ["c5", "c4"]  # 3 + 8 >= 10 acceptances
    assert [c.campaign_id for c in plan.train] == ["c3", "c2"]  # final before c4's first contact
    assert plan.kind == "temporal" and plan.dates[0] == date(2025, 9, 1)
    # too few acceptances in every recent campaign together: a customer-grouped random holdout
    few = at.plan(
        _completed(responses, settings),
        date(2026, 6, 30),
        dataclasses.replace(settings, min_holdout_acceptances=500),
    )
    assert few.kind == "customer-grouped random" and not few.holdout
    assert [c.campaign_id for c in few.train] == ["c5", "c4", "c3", "c2"]
    # one campaign only (the CRM case): nothing earlier to train on, so a random holdout
    single = at.plan(
        _completed(_responses(spark, [campaign(9, date(2026, 6, 1), 9)]), settings),
        date(2026, 6, 30),
        settings,
    )
    assert single.kind == "customer-grouped random" and [c.campaign_id for c in single.train] == ["c9"]


def test_pooled_rows_describe_each_contact_as_of_its_campaigns_date_and_hold_out_whole_customers(spark):
    from gold import acceptance_training as at
    from pipelines.config import Config

    responses = _responses(
        spark, [("a", date(2026, 1, 1), [(1, True), (2, False)]), ("b", date(2026, 3, 1), [(1, False)])]
    )
    numeric = numeric_columns(Config().vocabulary)
    features = spark.createDataFrame(
        [(c, d, float(c * 10 + d.month)) for c in (1, 2) for d in (date(2026, 1, 1), date(2026, 3, 1))],
        "customer_id BIGINT, as_of_date DATE, income DOUBLE",
    ).select(
        "*",
        *[F.lit(0.0).alias(c) for c in numeric if c != "income"],
        F.lit(None).cast("string").alias("education"),
        F.lit(None).cast("string").alias("marital_status"),
    )
    plan = at.Plan(
        train=(
            at.Campaign("a", date(2026, 1, 1), date(2026, 1, 15), 2, 1),
            at.Campaign("b", date(2026, 3, 1), date(2026, 3, 15), 1, 0),
        )
    )
    rows = at.labelled(features, responses, plan, Config()).collect()
    got = sorted((r["customer_id"], r["campaign_id"], r["income"], r["label"]) for r in rows)
    assert got == [(1, "a", 11.0, 1.0), (1, "b", 13.0, 0.0), (2, "a", 21.0, 0.0)]
    held = {r["customer_id"]: set() for r in rows}
    for r in rows:
        held[r["customer_id"]].add(r[at.HOLDOUT])
    assert all(len(flags) == 1 for flags in held.values())  # a customer is held out with every campaign


def test_contacts_made_before_their_customers_are_known_are_counted_and_left_out(spark):
    """A history that starts after the first campaigns: a campaign none of whose contacts the features
    describe is skipped, one with some is trained on those, and the counts say which."""
    import dataclasses

    from gold import acceptance_training as at
    from pipelines.config import ModelSettings

    def campaign(k, day):
        return (f"c{k}", day, [(i, i % 4 == 0) for i in range(20)])

    responses = _responses(
        spark, [campaign(1, date(2025, 9, 1)), campaign(2, date(2026, 1, 10)), campaign(3, date(2026, 4, 1))]
    )
    # nobody is known on c1's date, customers 0-9 on c2's, everyone on c3's
    described = spark.createDataFrame(
        [(i, date(2026, 1, 10)) for i in range(10)] + [(i, date(2026, 4, 1)) for i in range(20)],
        "customer_id BIGINT, as_of_date DATE",
    )
    settings = dataclasses.replace(ModelSettings(), min_holdout_acceptances=500, training_window_days=365)
    found = campaign_responses.completed(responses, date(2026, 6, 30), 365, described).collect()
    counts = {r["campaign_id"]: (r["contacted"], r["contacts"], r["acceptances"]) for r in found}
    assert counts == {"c1": (20, 0, 0), "c2": (20, 10, 3), "c3": (20, 20, 5)}
    plan = at.plan(found, date(2026, 6, 30), settings)
    assert [(c.campaign_id, c.contacts) for c in plan.train] == [("c3", 20), ("c2", 10)]
    lines = campaign_responses.undescribed(found)
    assert len(lines) == 2 and lines[0].startswith("c2 (contacted 2026-01-10): 10 of 20 contacts left out")
    assert lines[1].startswith("c1 (contacted 2025-09-01): skipped, none of its 20 contacts is known")
    results = {
        r.rule: (r.evaluated, r.failed, r.outcome) for r in campaign_responses.described_results(found)
    }
    assert results == {
        "contacts_described:c1": (20, 20, "warned"),
        "contacts_described:c2": (20, 10, "warned"),
        "contacts_described:c3": (20, 0, "passed"),
    }
    assert campaign_responses.training_dates(found, date(2026, 6, 30)) == [
        date(2026, 1, 10),
        date(2026, 4, 1),
    ]


def test_inputs_left_out_by_name_take_what_derives_from_them_and_an_unknown_name_is_refused():
    import pytest

    from pipelines.config import ConfigError

    numeric, engineered = acceptance.model_inputs(VOCAB, ["spend_total"])
    assert "spend_total" not in numeric and "share_spend_wines" not in engineered
    assert "log_spend_wines" in engineered and "spend_per_order" not in engineered
    with pytest.raises(ConfigError, match=r"model.left_out_inputs names \['teens'\], which are not inputs"):
        acceptance.model_inputs(VOCAB, ["teens"])


def test_selection_reads_every_held_out_row_and_a_stratified_sample_of_the_training_customers(spark):
    import pandas as pd

    from gold import acceptance_training as at
    from pipelines.config import load_config

    config = load_config(environ={})
    columns = at.memory_columns(config)
    # 4,000 customers, one contact each, every eighth accepting; the last 1,000 held out
    rows = pd.DataFrame(
        {c: [0.0] * 4000 for c in columns if c not in ("campaign_id", "education", "marital_status")}
    )
    rows["customer_id"] = range(4000)
    rows["campaign_id"], rows["education"], rows["marital_status"] = "cmp1", "PhD", "Single"
    rows["label"] = [float(i % 8 == 0) for i in range(4000)]
    rows[at.HOLDOUT] = [i >= 3000 for i in range(4000)]
    labelled = spark.createDataFrame(rows[[*columns, at.HOLDOUT]])
    budget = at.Budget(training_rows=3000, acceptances=375, fit_rate=1.0, selection_share=0.2, fits=1)

    seen = at.in_memory(labelled, budget, config)
    held = seen[seen[at.HOLDOUT]]
    assert sorted(held["customer_id"]) == list(range(3000, 4000))  # every held-out row
    sample = seen[~seen[at.HOLDOUT]]
    assert len(sample) == pytest.approx(600, abs=40)  # a fifth of the training customers
    assert sample["label"].mean() == pytest.approx(1 / 8, abs=0.005)  # accepting as the whole does
    everyone = at.in_memory(labelled, dataclasses.replace(budget, selection_share=1.0), config)
    assert sorted(everyone["customer_id"]) == list(range(4000))
