"""Cross-validation mechanics with transparent scorers: folds, selection inside the training rows only."""

import numpy as np
import pandas as pd
import pytest

from gold.model_selection import (
    MODEL,
    Candidate,
    as_text,
    assign_folds,
    compared,
    evaluate,
    nested_cross_validation,
    sample_customers,
    select,
)
from gold.objectives import Economics

ECONOMICS = Economics(3.0, 11.0)


def _data(n=300):
    # label 1 for the top 20% of x, so "probability = x" ranks perfectly
    return pd.DataFrame(
        {
            "customer_id": range(n),
            "x": [i / n for i in range(n)],
            "label": [float(i >= 0.8 * n) for i in range(n)],
        }
    )


def _scorer(seen):
    def fit_predict(train, test, candidate):
        seen.append((set(train["customer_id"]), set(test["customer_id"])))
        good = candidate.reg_param == 1.0  # a good and a useless model
        return test["x"].to_numpy() if good else np.full(len(test), 0.5)

    return fit_predict


def test_folds_are_stratified_and_deterministic():
    folds = assign_folds(_data(), k=5, seed=1)
    counts = folds.groupby("_fold").agg(n=("label", "size"), pos=("label", "sum"))
    assert sorted(zip(counts["n"], counts["pos"], strict=True)) == [(60, 12.0)] * 5
    again = assign_folds(_data(), k=5, seed=1)
    assert (
        folds.sort_values("customer_id")["_fold"].tolist()
        == again.sort_values("customer_id")["_fold"].tolist()
    )
    other = assign_folds(_data(), k=5, seed=2)
    assert (
        folds.sort_values("customer_id")["_fold"].tolist()
        != other.sort_values("customer_id")["_fold"].tolist()
    )


def test_selection_prefers_the_better_candidate_and_a_profitable_threshold():
    selection = select(_data(), [Candidate(2.0, 1.0), Candidate(1.0, 1.0)], 3, 7, _scorer([]), ECONOMICS)
    assert selection.candidate == Candidate(1.0, 1.0)
    assert 0.79 <= selection.threshold <= 0.8  # exactly the acceptors
    assert selection.scores[Candidate(1.0, 1.0).name] == pytest.approx(1.0)


def test_nested_cross_validation_never_tunes_on_the_fold_it_is_judged_on():
    seen: list = []
    per_fold, scored = nested_cross_validation(
        _data(),
        k=3,
        inner_k=2,
        seed=3,
        candidates=[Candidate(1.0, 1.0), Candidate(2.0, 1.0)],
        fit_predict=_scorer(seen),
        economics=ECONOMICS,
    )
    assert len(per_fold) == 3 and sorted(scored["customer_id"]) == list(range(300))
    assert len(seen) == 3 * (2 * 2 + 1)  # per outer fold: 2 inner folds x 2 candidates, then the final fit
    for fold in range(3):
        *inner, (outer_train, judged) = seen[fold * 5 : fold * 5 + 5]
        assert all(not (judged & (train | test)) for train, test in inner)
        assert not (judged & outer_train)
    # each fold's threshold is the lowest acceptor seen in its training folds: an acceptor of the judged
    # fold just below it is missed (-8), so the profit is at most the perfect 480, and close to it
    assert all(0.79 <= t <= 0.81 for t in per_fold["threshold"])
    assert 480 - 3 * 8 <= per_fold["profit"].sum() <= 480


def test_evaluate_reports_decision_and_calibration_metrics():
    result = evaluate([1, 0, 1, 0], [0.9, 0.8, 0.3, 0.1], 0.5, ECONOMICS)
    assert (result["tp"], result["fp"], result["fn"], result["tn"]) == (1, 1, 1, 1)
    assert result["precision"] == 0.5 and result["recall"] == 0.5 and result["f1"] == 0.5
    assert result["profit"] == 11 - 6 and result["roc_auc"] == 0.75
    assert result["brier"] == pytest.approx((0.01 + 0.64 + 0.49 + 0.01) / 4)


def test_a_customer_contacted_by_several_campaigns_is_one_group_in_the_folds():
    # 100 customers, each contacted by 1 to 3 campaigns; a customer who ever accepted is one stratum
    rows = [(c, f"k{j}", float(c % 5 == 0 and j == 0)) for c in range(100) for j in range(1 + c % 3)]
    data = pd.DataFrame(rows, columns=["customer_id", "campaign_id", "label"])
    folds = assign_folds(data, k=4, seed=3)
    assert set(folds.groupby("customer_id")["_fold"].nunique()) == {1}  # never in training and validation
    assert sorted(folds[folds["label"] == 1].groupby("_fold").size()) == [5, 5, 5, 5]  # stratified
    assert len(folds) == len(rows)


def test_as_text_prints_counts_and_money_whole_and_rates_to_three_places():
    import pandas as pd

    table = pd.DataFrame({"roc_auc": [0.81234], "contacts": [1234.4], "profit": [5678.9]}, index=["lr"])
    lines = as_text(table).splitlines()
    assert lines[1].split() == ["lr", "0.812", "1,234", "5,679"]


def test_the_tree_baseline_is_compared_unless_switched_off():
    from pipelines.config import load_config

    with_trees = compared(load_config(environ={}))
    without = compared(load_config(environ={"LAKEHOUSE_MODEL_TREE_BASELINE": "false"}))
    assert list(with_trees) == [
        MODEL,
        "majority class",
        "rule: accepted a past campaign",
        "gradient-boosted trees",
    ]
    assert list(without) == list(with_trees)[:3]


def test_the_folds_hash_customers_as_spark_s_xxhash64_does(spark):  # type: ignore[no-untyped-def]
    from pyspark.sql import functions as F

    ids = [1, 2, 42, 5524, 10**12, -7]
    frame = spark.createDataFrame([(i,) for i in ids], "customer_id BIGINT")
    expected = [r[0] for r in frame.select(F.xxhash64("customer_id", F.lit(7))).collect()]
    from gold import model_selection

    assert model_selection._hash(pd.Series(ids), 7).tolist() == expected


def test_a_customer_sample_is_stratified_nested_and_keeps_each_customer_whole():
    # 1,000 customers, every tenth an acceptor; each contacted twice (accepting once at most)
    customers = np.repeat(np.arange(1000), 2)
    labelled = pd.DataFrame(
        {
            "customer_id": customers,
            "label": [float(c % 10 == 0 and i == 0) for c, i in zip(customers, [0, 1] * 1000, strict=True)],
        }
    )
    samples = {share: sample_customers(labelled, share, seed=7) for share in (0.05, 0.2, 0.5)}
    for share, sample in samples.items():
        people = sample.groupby("customer_id")["label"].max()
        assert len(people) == round(1000 * share)
        assert people.sum() == round(100 * share)  # the whole's one acceptor in ten
        assert (sample.groupby("customer_id").size() == 2).all()  # every row of a sampled customer
    assert (
        set(samples[0.05]["customer_id"])
        <= set(samples[0.2]["customer_id"])
        <= set(samples[0.5]["customer_id"])
    )
    assert sample_customers(labelled, 1.0, seed=7) is labelled
