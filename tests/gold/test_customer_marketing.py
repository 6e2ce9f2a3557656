from datetime import date

import pytest
from chispa import assert_df_equality

from gold import customer_marketing
from gold.objectives import OBJECTIVES, Economics
from ops import dq_results
from pipelines import runner
from pipelines.quality import DataQualityError

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


def test_a_probability_outside_0_1_stops_the_write_naming_the_rule(ctx):
    scores = ctx.spark.createDataFrame(
        [(1, 1.2), (2, 0.25), (3, -0.1)], "customer_id BIGINT, acceptance_probability DOUBLE"
    )
    out = customer_marketing.transform(
        _segments(ctx.spark), scores, as_of=AS_OF, thresholds=THRESHOLDS, economics=Economics(),
        acceptance_model_version="5", run_id="r1",
    )  # fmt: skip
    with pytest.raises(DataQualityError, match=r"rule 'probability_in_0_1'.* 2 of 3 rows"):
        runner.write(ctx.on(AS_OF), customer_marketing.TABLE, out, dq_results.TABLE)
    outcomes = {r["rule"]: r["outcome"] for r in ctx.lakehouse.read("ops.dq_results").collect()}
    assert outcomes == {
        "customer_id_as_of_date_unique": "passed",
        "probability_in_0_1": "failed",
        "decile_in_1_10": "passed",
    }


def test_targets_by_objective_and_budget_and_their_totals(spark):
    marketing = customer_marketing.transform(
        _segments(spark), spark.createDataFrame([(1, 0.9), (2, 0.25), (3, 0.1)], "customer_id BIGINT, acceptance_probability DOUBLE"),
        as_of=AS_OF, thresholds=THRESHOLDS, economics=Economics(), acceptance_model_version="5", run_id="r1",
    )  # fmt: skip
    balanced = customer_marketing.targets(
        marketing, as_of=AS_OF, objective="aggressive_acquisition", budget=None
    )
    assert [r["customer_id"] for r in balanced.collect()] == [1, 2]
    best_one = customer_marketing.targets(marketing, as_of=AS_OF, objective=None, budget=1)
    assert [r["customer_id"] for r in best_one.collect()] == [1]
    total = customer_marketing.totals(balanced).collect()[0]
    assert (total["contacts"], round(total["acceptances"], 6), round(total["profit"], 6)) == (
        2,
        1.15,
        round(1.15 * 11 - 6, 6),
    )
    none = customer_marketing.totals(
        customer_marketing.targets(marketing, as_of=date(2020, 1, 1), objective=None, budget=None)
    )
    assert tuple(none.collect()[0]) == (0, 0.0, 0.0)
