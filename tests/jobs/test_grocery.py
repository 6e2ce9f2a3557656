"""Every stage on a grocery-shaped lakehouse: blank demographics, one CRM snapshot exported after every
basket, one channel, no web or complaints feed, two dozen small overlapping campaigns."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from gold import acceptance_training, campaign_responses
from jobs import backtest, run_all
from pipelines.config import load_config
from pipelines.runtime import RunContext, default_run_id
from sample import landing
from tests.conftest import SMALL_TRAINING

pytestmark = pytest.mark.e2e
HOUSEHOLDS = 300
GROCERY = Path(__file__).resolve().parents[2] / "lakehouse.grocery.toml"


@pytest.fixture(scope="module")
def grocery(spark, tmp_path_factory):  # type: ignore[no-untyped-def]
    config = load_config(
        "lakehouse.grocery.toml", {"root": tmp_path_factory.mktemp("grocery") / "lakehouse"}, environ={}
    )
    config = load_config("lakehouse.grocery.toml", {"root": config.root, "model": SMALL_TRAINING}, environ={})
    landing.write(config, HOUSEHOLDS)
    ctx = RunContext(spark, config, config.sample.end_date, default_run_id(config.sample.end_date))
    run_all.run(ctx)
    return ctx


def test_the_profile_has_the_shapes_real_retail_data_has(grocery):
    landed = grocery.config.landing_dir
    assert not (landed / "web_visits").exists() and not (landed / "complaints").exists()
    (export,) = (landed / "customers").iterdir()
    lines = export.read_text().splitlines()[1:]
    blank_income = sum(1 for line in lines if line.split(",")[4] == "")
    assert len(lines) == HOUSEHOLDS and 0.55 < blank_income / HOUSEHOLDS < 0.8
    assert {line.split(",")[-1] for line in lines} == {
        "2026-07-01T06:00:00Z"
    }  # one snapshot, after every basket
    sizes = [len(p.read_text().splitlines()) - 1 for p in (landed / "campaign_contacts").iterdir()]
    assert 20 <= len(sizes) <= 30 and min(sizes) >= 10


def test_every_customer_reaches_the_features_at_every_campaign_date(grocery):
    lakehouse = grocery.lakehouse
    customers = lakehouse.read("silver.customers")
    assert customers.count() == HOUSEHOLDS  # blank demographics quarantine nobody
    features = lakehouse.read("gold.customer_features")
    responses = lakehouse.read("gold.campaign_responses")
    window = grocery.config.model.training_window_days
    dates = [r[0] for r in campaign_responses.training_dates(responses, grocery.as_of, window).collect()]
    assert len(dates) >= 5
    for day in [*dates, grocery.as_of]:
        signed_up = customers.where(F.col("signup_date") < F.lit(day)).count()
        assert features.where(F.col("as_of_date") == F.lit(day)).count() == signed_up > 0, day
    contacted = responses.join(
        features,
        (responses.customer_id == features.customer_id) & (responses.features_as_of == features.as_of_date),
        "left_anti",
    )
    assert contacted.where(F.col("features_as_of").isin(*dates)).count() == 0  # every contact is described


def test_the_model_trains_on_pooled_campaigns_and_is_judged_on_the_latest(grocery):
    model = grocery.report["models"][acceptance_training.MODEL_NAME]
    assert len(json.loads(model["campaigns"])) >= 3 and model["holdout"] == "temporal"
    assert 0.5 < model["metrics"]["roc_auc"] <= 1.0


def test_backtest_beats_the_past_acceptance_rule(grocery, capsys):
    summary = backtest.run(grocery, campaigns=2, last_only=False)
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert last == summary and summary["campaigns"] == 2
    assert summary["roc_auc"] > summary["baseline_roc_auc"]
    assert summary["roc_auc"] > summary["baselines"]["random"]["roc_auc"]
