from datetime import date

import pytest

from gold import segment_profiles

AS_OF = date(2026, 6, 30)
MARKETING = "customer_id bigint, as_of_date date, segment_id int, segment_name string, segment_model_version string, acceptance_probability double"
FEATURES = (
    "customer_id bigint, as_of_date date, spend_total double, orders_total bigint, recency_days int, income double, "
    "age_years int, web_visits_30d bigint, campaigns_accepted bigint, campaigns_contacted bigint"
)


@pytest.fixture
def profiles(spark):
    marketing = spark.createDataFrame(
        [
            (1, AS_OF, 0, "a", "1", 0.1),
            (2, AS_OF, 0, "a", "1", 0.2),
            (3, AS_OF, 1, "b", "1", 0.7),
        ],
        MARKETING,
    )
    features = spark.createDataFrame(
        [
            (1, AS_OF, 100.10, 2, 5, 50000.0, 40, 3, 1, 4),
            (2, AS_OF, 200.20, 4, 9, None, 30, 1, 0, 4),
            (3, AS_OF, 700.70, 9, 1, 90000.0, 50, 8, 2, 2),
        ],
        FEATURES,
    )
    return marketing, features


def test_sizes_shares_and_means_per_segment(profiles):
    rows = segment_profiles.transform(*profiles, as_of=AS_OF, run_id="r").orderBy("segment_id").collect()
    assert [(r.segment_id, r.customers) for r in rows] == [(0, 2), (1, 1)]
    assert [r.revenue_share for r in rows] == pytest.approx([300.30 / 1001.0, 700.70 / 1001.0], abs=1e-15)
    assert [r.mean_acceptance_probability for r in rows] == pytest.approx([0.15, 0.7], abs=1e-15)
    assert [r.past_acceptance_rate for r in rows] == [1 / 8, 1.0]
    assert rows[0].median_income == 50000.0  # an unknown income is left out, not counted as zero


def test_the_same_rows_in_any_partitioning_give_the_same_bits(profiles):
    marketing, features = profiles
    one = segment_profiles.transform(marketing.coalesce(1), features, as_of=AS_OF, run_id="r").collect()
    three = segment_profiles.transform(
        marketing.repartition(3), features.repartition(2), as_of=AS_OF, run_id="r"
    )
    assert sorted(one) == sorted(three.collect())
