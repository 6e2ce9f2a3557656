from chispa import assert_df_equality

from gold import summary

MARKETING = "customer_id string, segment_id int, segment_name string, acceptance_probability double, expected_profit double, decile int, contact_balanced boolean"


def test_most_likely_ranks_by_probability_then_id_with_rounded_figures(spark):
    marketing = spark.createDataFrame(
        [
            ("c2", 0, "a", 0.41234, 1.5361, 3, False),
            ("c1", 1, "b", 0.91236, 7.0322, 1, True),
            ("c3", 1, "b", 0.41234, 1.5361, 3, False),
        ],
        MARKETING,
    )
    expected = spark.createDataFrame(
        [
            ("c1", "b", 0.912, 7.032, 1, True),
            ("c2", "a", 0.412, 1.536, 3, False),
            ("c3", "b", 0.412, 1.536, 3, False),
        ],
        "customer_id string, segment_name string, acceptance_probability double, expected_profit double, decile int, contact_balanced boolean",
    )
    assert_df_equality(summary.most_likely(marketing), expected, ignore_nullable=True)


def test_segment_sizes_count_customers_and_average_probability_per_segment(spark):
    marketing = spark.createDataFrame(
        [
            ("c1", 1, "b", 0.9, 0.0, 1, True),
            ("c2", 0, "a", 0.2, 0.0, 3, False),
            ("c3", 1, "b", 0.4, 0.0, 2, False),
        ],
        MARKETING,
    )
    expected = spark.createDataFrame(
        [(0, "a", 1, 0.2), (1, "b", 2, 0.65)],
        "segment_id int, segment_name string, customers long, mean_acceptance double",
    )
    assert_df_equality(summary.segment_sizes(marketing), expected, ignore_nullable=True)


def test_the_models_lines_say_when_the_champion_is_flagged_and_stay_quiet_when_it_is_not():
    metrics = {
        "roc_auc": 0.8,
        "pr_auc": 0.5,
        "holdout_rows": 90,
        "holdout_acceptance_rate": 0.1,
        "profit": -142,
    }
    report = {"models": {"campaign_acceptance": {"version": "1", "metrics": metrics, "campaigns": '["g1"]'}}}
    flagged = {"version": "1", "flags": ["holdout profit -142 is negative"]}
    lines = summary.models_lines({**report, "champion_flags": {"campaign_acceptance": flagged}})
    assert lines[1] == (
        "FLAGGED: the acceptance champion v1 on its holdout: holdout profit -142 is negative (it still scores; "
        "see ops.model_promotions)"
    )
    quiet = {"campaign_acceptance": {"version": "1", "flags": []}}
    assert not any("FLAGGED" in line for line in summary.models_lines({**report, "champion_flags": quiet}))


def test_the_summary_names_every_refused_delivery_still_landed():
    refused = [
        "bronze.orders: /l/orders/o.jsonl was refused before: ...",
        "bronze.orders: /l/orders/x is a symbolic link",
    ]
    lines = summary.models_lines({"refused": {"deliveries": refused}})
    assert lines == [f"REFUSED deliveries still in the landing zone (2): {refused[0]}; {refused[1]}"]
    assert summary.models_lines({"refused": {"deliveries": []}}) == []
