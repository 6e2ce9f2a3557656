import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F

from pipelines import quality
from pipelines.quality import Check, DataQualityError

CHECKS = [
    Check("id_present", lambda: F.col("id").isNotNull(), "quarantine"),
    Check("amount_positive", lambda: F.col("amount") > 0, "quarantine"),
    Check("amount_small", lambda: F.col("amount") < 100, "warn"),
]


def test_every_failed_rule_is_named_and_null_counts_as_failure(spark):
    df = spark.createDataFrame([(1, 5.0), (None, -1.0), (3, None), (4, 500.0)], "id INT, amount DOUBLE")
    flagged = quality.flag(df, CHECKS).select("id", "amount", quality.FAILED_RULES, quality.QUARANTINE_RULES)
    expected = spark.createDataFrame(
        [
            (1, 5.0, [], []),
            (None, -1.0, ["id_present", "amount_positive"], ["id_present", "amount_positive"]),
            (3, None, ["amount_positive", "amount_small"], ["amount_positive"]),
            (4, 500.0, ["amount_small"], []),
        ],
        "id INT, amount DOUBLE, _failed_rules ARRAY<STRING>, _quarantine_rules ARRAY<STRING>",
    )
    assert_df_equality(flagged, expected, ignore_row_order=True, ignore_nullable=True, ignore_metadata=True)


def test_evaluate_counts_each_rule_and_decides_outcomes(spark):
    df = spark.createDataFrame([(1, 5.0), (None, -1.0), (3, None), (4, 500.0)], "id INT, amount DOUBLE")
    results = {r.rule: r for r in quality.evaluate("t", quality.flag(df, CHECKS), CHECKS)[0]}
    assert {k: (r.evaluated, r.failed, r.outcome) for k, r in results.items()} == {
        "id_present": (4, 1, "quarantined"),
        "amount_positive": (4, 2, "quarantined"),
        "amount_small": (4, 2, "warned"),
    }


def test_fail_rule_and_ratio_threshold_stop_the_run_naming_the_rule(spark):
    checks = [
        Check("id_present", lambda: F.col("id").isNotNull(), "fail", description="every row has an id"),
        Check("amount_positive", lambda: F.col("amount") > 0, "quarantine", max_ratio=0.25),
    ]
    df = spark.createDataFrame([(1, 5.0), (None, -1.0), (3, -2.0), (4, 1.0)], "id INT, amount DOUBLE")
    results, _ = quality.evaluate("silver.t", quality.flag(df, checks), checks)
    assert [r.outcome for r in results] == ["failed", "failed"]
    with pytest.raises(DataQualityError) as error:
        quality.raise_on_failure(results, checks)
    assert "silver.t: rule 'id_present' (every row has an id) failed on 1 of 4 rows" in str(error.value)
    assert "rule 'amount_positive'" in str(error.value) and "> tolerated 25.00%" in str(error.value)


def test_unknown_action_is_rejected():
    with pytest.raises(ValueError, match="action must be one of"):
        Check("x", lambda: F.lit(True), "drop")  # type: ignore[arg-type]
