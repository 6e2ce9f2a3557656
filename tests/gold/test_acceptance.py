from datetime import date, datetime

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
