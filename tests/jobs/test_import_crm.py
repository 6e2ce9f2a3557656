"""`lakehouse import-crm` on a small file in the case's layout: same gold schema, labels, models, scores."""

from __future__ import annotations

from datetime import date

import pytest
from pyspark.sql import functions as F

from commands import cli
from gold import customer_features
from jobs import crm, publish, score, train
from pipelines.config import load_config
from pipelines.runtime import RunContext
from pipelines.tables import Lakehouse
from tests import crm_case

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def imported(spark, tmp_path_factory):  # type: ignore[no-untyped-def]
    base = tmp_path_factory.mktemp("import-crm")
    path = crm_case.write(base / "export" / "case.tsv", crm_case.customers(), tab=True)
    # a grid of two candidates, two folds and the tree baseline: what selection compares, at half the fits
    model = {"segment_k_max": 4, "cv_folds": 2, "reg_params": [0.01], "positive_weights": [1.0, 3.0]}
    config = load_config(overrides={"root": base / "lakehouse", "model": model}, environ={})
    ctx = RunContext(spark, config, date(2026, 11, 23), "import-crm-case")
    on_snapshot = crm.prepare(ctx, path)
    for stage in (train.run, score.run, publish.run):
        stage(on_snapshot)
    return on_snapshot, path


def test_the_snapshot_is_the_day_after_the_last_enrolment(imported):
    ctx, _ = imported
    assert str(ctx.as_of) == "2014-06-30"


def test_features_have_the_event_pipelines_schema_and_the_cases_values(imported):
    ctx, _ = imported
    contract = customer_features.contract(ctx.config.vocabulary)
    features = Lakehouse(ctx.spark, ctx.config).read(contract.name)
    fields = lambda schema: [(f.name, f.dataType, f.nullable) for f in schema.fields]  # noqa: E731
    assert fields(features.schema) == fields(contract.schema)
    source = {r["ID"]: r for r in crm_case.customers()}[120]
    row = features.where("customer_id = 120").collect()[0]
    spend = [source[c] for c in ("MntWines", "MntFruits", "MntMeatProducts", "MntFishProducts")]
    spend += [source["MntSweetProducts"], source["MntGoldProds"]]
    assert row["spend_total"] == sum(spend) and row["spend_meat"] == source["MntMeatProducts"]
    assert row["orders_total"] == sum(
        source[c] for c in ("NumWebPurchases", "NumCatalogPurchases", "NumStorePurchases")
    )
    assert row["campaigns_accepted"] == sum(source[f"AcceptedCmp{k}"] for k in range(1, 6))
    assert row["age_years"] == 2014 - source["Year_Birth"]
    assert row["tenure_days"] == (ctx.as_of - source["Dt_Customer"]).days
    assert row["recency_days"] == source["Recency"] and row["web_visits_30d"] == source["NumWebVisitsMonth"]


def test_the_pilot_response_is_the_label(imported):
    ctx, _ = imported
    expected = {r["ID"]: bool(r["Response"]) for r in crm_case.customers()}
    labels = {
        r["customer_id"]: r["accepted"]
        for r in Lakehouse(ctx.spark, ctx.config).read("gold.campaign_responses").collect()
    }
    assert labels == {k: v for k, v in expected.items() if k != crm_case.QUIRKS["unparseable_amount"]}


def test_every_customer_is_segmented_and_scored_past_acceptors_higher(imported):
    ctx, _ = imported
    lakehouse = Lakehouse(ctx.spark, ctx.config)
    scored = lakehouse.read("gold.customer_marketing").join(
        lakehouse.read("gold.customer_features").select("customer_id", "campaigns_accepted"),
        "customer_id",
        how="inner",
    )
    assert scored.count() == lakehouse.read("silver.crm_customers").count() == 119
    means = {
        r["many"]: r["p"]
        for r in scored.groupBy((F.col("campaigns_accepted") >= 2).alias("many"))
        .agg(F.avg("acceptance_probability").alias("p"))
        .collect()
    }
    assert means[True] > means[False]


def test_a_second_import_of_the_same_file_changes_nothing(imported):
    ctx, path = imported
    lakehouse = Lakehouse(ctx.spark, ctx.config)
    before = {name: lakehouse.version(name) for name in ("bronze.crm_case", "silver.crm_customers")}
    crm.prepare(ctx, path)
    assert {name: lakehouse.version(name) for name in before} == before


def test_a_different_file_under_a_landed_name_and_a_missing_file_are_refused(imported, tmp_path, capsys):
    ctx, path = imported
    other = crm_case.write(tmp_path / path.name, crm_case.customers(n=20), tab=False)
    root = str(ctx.config.root)
    assert cli.main(["import-crm", "--root", root, str(other)]) == 1
    assert "already holds a different file named case.tsv" in capsys.readouterr().err
    assert cli.main(["import-crm", "--root", root, str(tmp_path / "nowhere.csv")]) == 1
    assert "nowhere.csv does not exist" in capsys.readouterr().err
