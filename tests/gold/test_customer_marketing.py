from datetime import date

import pytest
from chispa import assert_df_equality

from gold import customer_marketing
from gold.objectives import OBJECTIVES, Economics

AS_OF = date(2026, 6, 30)
THRESHOLDS = {"aggressive_acquisition": 0.2, "moderate": 0.3, "balanced": 0.5, "cost_saving": 0.8}


def _segments(spark):
    return spark.createDataFrame(
        [
            (1, AS_OF, 1, "High", "2", "r"),
            (2, AS_OF, 2, "Low", "2", "r"),
            (3, AS_OF, 2, "Low", "2", "r"),
            (1, date(2026, 5, 31), 2, "Low", "1", "r0"),  # another date: not joined
        ],
        "customer_id BIGINT, as_of_date DATE, segment_id INT, segment_name STRING, model_version STRING, "
        "run_id STRING",
    )


def test_rows_carry_segment_score_profit_decile_and_a_flag_per_objective(spark):
    scores = spark.createDataFrame(
        [(1, 0.9), (2, 0.25), (3, 0.1)], "customer_id BIGINT, acceptance_probability DOUBLE"
    )
    out = customer_marketing.transform(
        _segments(spark),
        scores,
        as_of=AS_OF,
        thresholds=THRESHOLDS,
        economics=Economics(contact_cost=3.0, revenue=11.0),
        acceptance_model_version="5",
        run_id="r1",
    )
    assert out.columns == list(customer_marketing.CONTRACT.columns)
    expected = spark.createDataFrame(
        [
            (1, "High", 0.9, 0.9 * 11 - 3, 1, True, True, True, True, "2", "5", "r1"),
            (2, "Low", 0.25, 0.25 * 11 - 3, 2, True, False, False, False, "2", "5", "r1"),
            (3, "Low", 0.1, 0.1 * 11 - 3, 3, False, False, False, False, "2", "5", "r1"),
        ],
        "customer_id BIGINT, segment_name STRING, acceptance_probability DOUBLE, expected_profit DOUBLE, "
        "decile INT, contact_aggressive_acquisition BOOLEAN, contact_moderate BOOLEAN, "
        "contact_balanced BOOLEAN, contact_cost_saving BOOLEAN, segment_model_version STRING, "
        "acceptance_model_version STRING, run_id STRING",
    )
    assert_df_equality(
        out.select(*expected.columns),
        expected,
        ignore_row_order=True,
        ignore_nullable=True,
        ignore_metadata=True,
    )


def test_a_model_without_thresholds_for_every_objective_is_refused(spark):
    scores = spark.createDataFrame([(1, 0.9)], "customer_id BIGINT, acceptance_probability DOUBLE")
    partial = {o: 0.5 for o in OBJECTIVES if o != "moderate"}
    with pytest.raises(ValueError, match="moderate"):
        customer_marketing.transform(
            _segments(spark),
            scores,
            as_of=AS_OF,
            thresholds=partial,
            economics=Economics(),
            acceptance_model_version="5",
            run_id="r1",
        )
