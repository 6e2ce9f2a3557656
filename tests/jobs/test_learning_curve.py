"""`lakehouse learning-curve`: the champion's candidate fitted on growing stratified samples of its training
customers, logged to the champion's MLflow run."""

from __future__ import annotations

import json

import pytest

from gold import acceptance_training as at
from jobs import learning_curve
from pipelines import tracking

pytestmark = pytest.mark.e2e


def test_the_curve_grows_to_every_training_row_and_is_logged_to_the_champion(generated_copy, capsys):
    summary = learning_curve.run(generated_copy)
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == summary

    client = tracking.configure(generated_copy.config)
    champion = tracking.get_alias(client, at.MODEL_NAME)
    params = client.get_run(champion.run_id).data.params
    curve = tracking.logged_table(client, champion.run_id, learning_curve.CURVE_ARTIFACT)
    # growing samples, the last one every row the champion trained on
    assert list(curve["rows"]) == sorted(curve["rows"]) and curve["rows"].iloc[0] < curve["rows"].iloc[-1]
    assert curve["rows"].iloc[-1] == int(params["budget_training_rows"]) == summary["training_rows"]
    # stratified by whether a customer ever accepted: each sample of some size accepts at the whole's rate
    rate = curve["acceptances"].iloc[-1] / curve["rows"].iloc[-1]
    for sample in curve[curve["rows"] >= 300].itertuples():
        assert sample.acceptances / sample.rows == pytest.approx(rate, abs=0.05)
    # the metric's steps are the samples' rows
    history = client.get_metric_history(champion.run_id, "learning_curve_roc_auc")
    assert sorted((m.step, round(m.value, 9)) for m in history) == [
        (int(r), round(a, 9)) for r, a in zip(curve["rows"], curve["roc_auc"], strict=True)
    ]
    # the champion, fitted by Spark ML on every training row, and the in-memory fit on every row solve the
    # same problem: their holdout ROC AUC agree
    assert summary["champion_roc_auc"] == pytest.approx(champion.metrics["roc_auc"], abs=1e-4)
    assert abs(summary["champion_below_every_row"]) < 0.002
