from datetime import date

import pytest
from pyspark.sql import functions as F

from gold import customer_segments
from gold.customer_segments import ClusterProfile, name_segments
from ops import dq_results
from pipelines import runner
from pipelines.quality import DataQualityError


def profile(cluster, spend, recency, meat, wines):
    return ClusterProfile(cluster, 10, spend, recency, 5.0, {"meat": meat, "wines": wines})


def test_ids_rank_by_spend_and_names_come_from_centroid_statistics():
    segments = name_segments(
        [
            profile(7, 100.0, 80.0, 50.0, 50.0),
            profile(3, 2000.0, 10.0, 100.0, 900.0),
            profile(5, 600.0, 30.0, 500.0, 100.0),
        ],
        overall_recency=40.0,
    )
    assert {c: (s.segment_id, s.name) for c, s in segments.items()} == {
        3: (0, "High value / Recent : Wines-leaning"),
        5: (1, "Mid value / Recent : Meat-leaning"),
        7: (2, "Low value / Lapsing : Meat-leaning"),
    }


def test_names_do_not_depend_on_kmeans_cluster_numbers():
    a = name_segments([profile(0, 100.0, 80.0, 1.0, 9.0), profile(1, 900.0, 5.0, 9.0, 1.0)], 40.0)
    b = name_segments([profile(1, 100.0, 80.0, 1.0, 9.0), profile(0, 900.0, 5.0, 9.0, 1.0)], 40.0)
    assert sorted((s.segment_id, s.name) for s in a.values()) == sorted(
        (s.segment_id, s.name) for s in b.values()
    )


def test_duplicate_names_are_made_unique():
    names = [
        s.name
        for s in name_segments(
            [
                profile(0, 10.0, 5.0, 1.0, 1.0),
                profile(1, 20.0, 5.0, 1.0, 1.0),
                profile(2, 30.0, 5.0, 1.0, 1.0),
                profile(3, 40.0, 5.0, 1.0, 1.0),
                profile(4, 50.0, 5.0, 1.0, 1.0),
            ],
            40.0,
        ).values()
    ]
    assert len(set(names)) == 5


def test_well_separated_groups_land_in_different_segments(spark):
    rows = [
        (i, 5000.0 + i, 40 + i % 3, 2, 0 if i % 2 else 1, 0) for i in range(30)
    ]  # heavy, frequent, recent buyers
    rows += [(100 + i, 20.0 + i, 1 + i % 3, 300, 0, 9) for i in range(30)]  # small, rare, lapsed, browsing
    features = spark.createDataFrame(
        rows,
        "customer_id BIGINT, spend_total DOUBLE, orders_total BIGINT, "
        "recency_days INT, deal_orders BIGINT, web_visits_30d BIGINT",
    )
    data = customer_segments.segment_input(features)
    model = customer_segments.build_pipeline(k=2, seed=1).fit(data)
    clusters = (
        model.transform(data)
        .groupBy((F.col("customer_id") < 100).alias("heavy"))
        .agg(F.collect_set(customer_segments.CLUSTER).alias("clusters"))
    )
    sets = {r["heavy"]: r["clusters"] for r in clusters.collect()}
    assert len(sets[True]) == 1 and len(sets[False]) == 1 and sets[True] != sets[False]


def test_assign_combines_both_views_into_one_segment(spark):
    clustered = spark.createDataFrame(
        [(1, 0, 1), (2, 1, 0)], "customer_id BIGINT, cluster INT, taste_cluster INT"
    )
    values = {
        0: customer_segments.Segment(1, "Low value / Lapsing", 1),
        1: customer_segments.Segment(0, "High value / Recent", 1),
    }
    tastes = {
        0: customer_segments.Segment(0, "Meat & Wines", 1),
        1: customer_segments.Segment(2, "Fruits", 1),
    }
    out = customer_segments.assign(
        clustered, values, tastes, as_of=date(2026, 6, 30), model_version="3", run_id="r"
    )
    assert out.columns == list(customer_segments.CONTRACT.columns)
    assert sorted((r["customer_id"], r["segment_id"], r["segment_name"]) for r in out.collect()) == [
        (1, 12, "Low value / Lapsing : Fruits"),
        (2, 0, "High value / Recent : Meat & Wines"),
    ]


def test_taste_segments_are_named_by_the_categories_they_buy_more_of_than_everyone():
    profiles = [
        customer_segments.TasteProfile(4, 50, {"fish": 0.05, "meat": 0.50, "wines": 0.45}),
        customer_segments.TasteProfile(7, 30, {"fish": 0.40, "meat": 0.10, "wines": 0.50}),
        customer_segments.TasteProfile(9, 20, {"fish": 0.05, "meat": 0.05, "wines": 0.90}),
    ]
    tastes = customer_segments.name_tastes(profiles)
    assert {c: (s.segment_id, s.name) for c, s in tastes.items()} == {
        4: (0, "Meat"),
        7: (1, "Fish"),
        9: (2, "Wines"),
    }
    previous = {tastes[p.cluster].segment_id: customer_segments.taste_centroid(p) for p in profiles}
    reordered = [
        customer_segments.TasteProfile(0, 25, {"fish": 0.06, "meat": 0.04, "wines": 0.90}),
        customer_segments.TasteProfile(1, 45, {"fish": 0.06, "meat": 0.49, "wines": 0.45}),
        customer_segments.TasteProfile(2, 30, {"fish": 0.41, "meat": 0.10, "wines": 0.49}),
    ]
    again = customer_segments.name_tastes(reordered, previous)
    assert {c: s.segment_id for c, s in again.items()} == {0: 2, 1: 0, 2: 1}


def test_well_separated_tastes_land_in_different_taste_segments(spark):
    rows = [(i, 100.0, 90.0 - i % 5, 10.0 + i % 5) for i in range(20)]  # mostly meat
    rows += [(100 + i, 100.0, 5.0 + i % 5, 95.0 - i % 5) for i in range(20)]  # mostly wine
    features = spark.createDataFrame(
        [(c, t, m, w, 5, 10, 1, 3) for c, t, m, w in rows],
        "customer_id BIGINT, spend_total DOUBLE, spend_meat DOUBLE, spend_wines DOUBLE, orders_total BIGINT, "
        "recency_days INT, deal_orders BIGINT, web_visits_30d BIGINT",
    )
    data = customer_segments.segment_input(features, ("meat", "wines"))
    model = customer_segments.build_pipeline(2, 1, view="taste", categories=("meat", "wines")).fit(data)
    groups = (
        model.transform(data)
        .groupBy((F.col("customer_id") < 100).alias("meat"))
        .agg(F.collect_set(customer_segments.TASTE_CLUSTER).alias("clusters"))
        .collect()
    )
    sets = {r["meat"]: r["clusters"] for r in groups}
    assert len(sets[True]) == 1 and len(sets[False]) == 1 and sets[True] != sets[False]


def test_a_retrain_keeps_each_segments_id_by_matching_centroids():
    first = [profile(0, 2000.0, 10.0, 100.0, 900.0), profile(1, 600.0, 30.0, 500.0, 100.0)]
    before = name_segments(first, 20.0)
    previous = {before[p.cluster].segment_id: customer_segments.centroid(p) for p in first}
    # retrained: KMeans numbered the clusters the other way, the mid segment now spends a bit more than the
    # top one did, yet each is still nearest its own previous centroid
    second = [profile(4, 650.0, 28.0, 480.0, 120.0), profile(9, 2100.0, 12.0, 110.0, 880.0)]
    after = name_segments(second, 20.0, previous)
    assert after[9].segment_id == before[0].segment_id and after[4].segment_id == before[1].segment_id
    assert after[9].name == before[0].name


def test_a_new_segment_after_k_grows_gets_the_next_free_id():
    first = [profile(0, 2000.0, 10.0, 100.0, 900.0), profile(1, 100.0, 80.0, 50.0, 50.0)]
    before = name_segments(first, 40.0)
    previous = {before[p.cluster].segment_id: customer_segments.centroid(p) for p in first}
    second = [
        profile(0, 2050.0, 11.0, 100.0, 900.0),
        profile(1, 110.0, 78.0, 50.0, 50.0),
        profile(2, 700.0, 35.0, 600.0, 50.0),
    ]
    after = name_segments(second, 40.0, previous)
    assert after[0].segment_id == before[0].segment_id and after[1].segment_id == before[1].segment_id
    assert after[2].segment_id == 2


def test_a_customer_in_a_cluster_the_model_does_not_name_fails_the_segmented_rule(ctx):
    clustered = ctx.spark.createDataFrame(
        [(1, 0, 0), (2, 1, 0)], "customer_id BIGINT, cluster INT, taste_cluster INT"
    )
    values = {0: customer_segments.Segment(0, "High value / Recent", 1)}  # cluster 1 has no segment
    tastes = {0: customer_segments.Segment(0, "Meat", 2)}
    out = customer_segments.assign(clustered, values, tastes, as_of=ctx.as_of, model_version="1", run_id="r")
    assert sorted(r["customer_id"] for r in out.collect()) == [1, 2]  # kept, not silently dropped
    with pytest.raises(DataQualityError, match=r"gold\.customer_segments: rule 'segmented'.* 1 of 2 rows"):
        runner.write(ctx, customer_segments.TABLE, out, dq_results.TABLE)
    assert not ctx.lakehouse.exists(customer_segments.TABLE.name)
