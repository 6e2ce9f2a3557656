"""Every stage on a grocery-shaped lakehouse: blank demographics and a column nobody fills, one CRM snapshot
exported after every basket, one channel, no web or complaints feed, two dozen small overlapping campaigns
and five from before the history starts, files copied in just before the run. No hand-fixing."""

from __future__ import annotations

import json

import pytest
from pyspark.sql import functions as F

from gold import acceptance_training, campaign_responses
from jobs import backtest, run_all
from jobs import features as features_job
from pipelines import tracking
from pipelines.config import load_config
from pipelines.ingest import IngestError
from pipelines.runtime import RunContext, default_run_id
from sample.grocery import generate_grocery
from tests.conftest import SMALL_TRAINING

pytestmark = pytest.mark.e2e
HOUSEHOLDS = 300


@pytest.fixture(scope="module")
def grocery(spark, tmp_path_factory):  # type: ignore[no-untyped-def]
    """The retailer's files copied into the landing zone just before the run: the first attempt stops
    with the cause; the next, with ``ingest.settle_seconds = 0`` as the line advises, runs every stage."""
    root = tmp_path_factory.mktemp("grocery") / "lakehouse"
    config = load_config("lakehouse.grocery.toml", {"root": root, "model": SMALL_TRAINING}, environ={})
    sample = config.sample
    generate_grocery(config.landing_dir, HOUSEHOLDS, sample.seed, sample.end_date, config.categories, True)
    ctx = RunContext(spark, config, sample.end_date, default_run_id(sample.end_date))
    with pytest.raises(IngestError) as stopped:
        run_all.run(ctx)
    settled = load_config(
        "lakehouse.grocery.toml",
        {"root": root, "model": SMALL_TRAINING, "ingest": {"settle_seconds": 0}},
        environ={},
    )
    ctx = RunContext(spark, settled, sample.end_date, default_run_id(sample.end_date))
    run_all.run(ctx)
    ctx.record("test", "stopped", str(stopped.value))
    return ctx


def test_the_profile_has_the_shapes_real_retail_data_has(grocery):
    landed = grocery.config.landing_dir
    assert not (landed / "web_visits").exists() and not (landed / "complaints").exists()
    (export,) = (landed / "customers").iterdir()
    lines = [line.split(",") for line in export.read_text().splitlines()[1:]]
    blank_income = sum(1 for line in lines if line[4] == "")
    assert len(lines) == HOUSEHOLDS and 0.55 < blank_income / HOUSEHOLDS < 0.8
    assert {line[6] for line in lines} == {""}  # teens at home: never recorded
    assert {line[-1] for line in lines} == {"2026-07-01T06:00:00Z"}  # one snapshot, after every basket
    first_signup = min(line[7] for line in lines)
    contacted = {
        p.stem: min(line.split(",")[2] for line in p.read_text().splitlines()[1:])
        for p in (landed / "campaign_contacts").iterdir()
    }
    before = sorted(c for c, day in contacted.items() if day[:10] < first_signup)
    assert before == ["contacts_e01", "contacts_e02", "contacts_e03", "contacts_e04"]
    sizes = [len(p.read_text().splitlines()) - 1 for p in (landed / "campaign_contacts").iterdir()]
    assert 25 <= len(sizes) <= 30 and min(sizes) >= 10


def test_files_copied_in_just_before_the_run_stop_it_with_the_cause(grocery):
    stopped = grocery.report["test"]["stopped"]
    files = sum(1 for p in grocery.config.landing_dir.rglob("*") if p.is_file())
    assert stopped.startswith(
        f"nothing to ingest: all {files:,} landed file(s) were modified in the last 60 s"
    )
    assert "lower ingest.settle_seconds" in stopped and "\n" not in stopped


def test_every_customer_with_a_basket_is_featured_and_every_describable_contact_trains(grocery):
    lakehouse = grocery.lakehouse
    customers = lakehouse.read("silver.customers")
    assert customers.count() == HOUSEHOLDS  # blank demographics quarantine nobody
    features = lakehouse.read("gold.customer_features")
    today = features.where(F.col("as_of_date") == F.lit(grocery.as_of))
    shoppers = lakehouse.read("silver.orders").where(
        F.col("ordered_at") < F.lit(grocery.as_of).cast("timestamp")
    )
    assert shoppers.select("customer_id").distinct().join(today, "customer_id", "left_anti").count() == 0
    responses = lakehouse.read("gold.campaign_responses")
    window = grocery.config.model.training_window_days
    campaigns = features_job.completed(grocery, responses, window)
    dates = campaign_responses.training_dates(campaigns, grocery.as_of)
    assert len(dates) >= 5
    for day in [*dates, grocery.as_of]:
        signed_up = customers.where(F.col("signup_date") < F.lit(day)).count()
        assert features.where(F.col("as_of_date") == F.lit(day)).count() == signed_up > 0, day
    # the campaigns from before the history: counted per campaign in ops.dq_results, never trained on
    checked = lakehouse.read("ops.dq_results").where(F.col("rule").startswith("contacts_described:"))
    found = {r["rule"].split(":")[1]: (r["evaluated"], r["failed"]) for r in checked.collect()}
    contacted = {r[0]: r[1] for r in responses.groupBy("campaign_id").count().collect()}
    assert {c: found[c] for c in ("e01", "e02", "e03", "e04")} == {
        c: (contacted[c], contacted[c]) for c in ("e01", "e02", "e03", "e04")
    }
    assert 0 < found["e05"][1] < found["e05"][0] and all(found[c][1] == 0 for c in found if c.startswith("g"))
    model = grocery.report["models"][acceptance_training.MODEL_NAME]
    assert not {"e01", "e02", "e03", "e04"} & set(json.loads(model["campaigns"]))


def test_a_column_nobody_fills_is_left_out_of_the_model_and_says_so(grocery):
    client = tracking.configure(grocery.config)
    name = acceptance_training.MODEL_NAME
    version = tracking.champion_version(client, name)
    exported = tracking.logged_dict(client, name, version, acceptance_training.PORTABLE_ARTIFACT)
    assert set(exported["left_out"]) == {"teens_at_home", "kids_total"}
    assert "teens_at_home" not in exported["numeric"] and "kids_total" not in exported["engineered"]
    run = client.get_run(client.get_model_version(name, version).run_id)
    assert json.loads(run.data.params["left_out"].replace("'", '"')) == ["kids_total", "teens_at_home"]
    flags = grocery.report["champion_flags"][name]
    decided = grocery.lakehouse.read("ops.model_promotions").where(F.col("model_name") == name)
    newest = decided.orderBy(F.col("decided_at").desc()).first()
    assert flags["version"] == version and (newest["champion_flags"] or "") == "; ".join(flags["flags"])


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
