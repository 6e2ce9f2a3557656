"""Incremental silver on real Delta tables: a daily run reads only the new bronze rows (and re-checks the
quarantine), writes what a full refresh writes, and its accounting fails when a write loses a row."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta

import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F

from gold import customer_features
from jobs import ingest, refine
from ops import dq_results, refine_log
from ops.ingest_log import TABLE as INGEST_LOG
from pipelines import runner
from pipelines.ingest import ingest_all
from pipelines.quality import DataQualityError
from pipelines.refine import quarantine_contract, refine_all
from pipelines.runtime import RunContext
from pipelines.tables import VOLATILE_COLUMNS, Lakehouse
from sample.daily import write_days
from silver.tables import TABLES as SILVER
from tests.conftest import DEFECTIVE_CUSTOMERS, DEFECTIVE_SEED, copy_lakehouse, deliver

pytestmark = pytest.mark.e2e
CUSTOMERS, SEED = DEFECTIVE_CUSTOMERS, DEFECTIVE_SEED  # the lakehouse the tests start from
INCREMENTAL = {t.name for t in SILVER if t.newest_first is not None}
HEADER = "customer_id,birth_year,education,marital_status,income,kids_at_home,teens_at_home,signup_date,updated_at\n"


def _hashes(lakehouse: Lakehouse) -> dict[str, tuple[int, str]]:
    """Every silver table and quarantine, without what says when (or by which run) a row was written."""
    ignore = (*VOLATILE_COLUMNS, "quarantined_by_run")
    names = [t.name for t in SILVER] + [quarantine_contract(t.name).name for t in SILVER]
    return {n: lakehouse.content_hash(n, ignore) for n in names if lakehouse.exists(n)}


def _land_second_delivery(ctx: RunContext) -> dict[str, object]:
    """Two new days; the export that brings a quarantined order's unknown customer; an order delivered
    again with another channel (the first delivery stays); a response delivered again, flipped (it wins)."""
    lakehouse, landing = ctx.lakehouse, ctx.config.landing_dir
    vocabulary = ctx.config.vocabulary
    end = ctx.config.sample.end_date
    write_days(
        landing, CUSTOMERS, SEED, end + timedelta(days=1), 2, vocabulary.categories, vocabulary.channels
    )
    waiting = (
        lakehouse.read("silver.orders_quarantine")
        .where(F.array_contains("failed_rules", "customer_known") & (F.size("failed_rules") == 1))
        .first()
    )
    assert waiting is not None, "the defects include an order of an unknown customer"
    stranger = json.loads(waiting["raw_record"])["customer_id"]
    deliver(
        landing / "customers" / "customers_arrived.csv",
        HEADER + f"{stranger},1985,Master,Single,42000,0,0,2025-01-01,{end}T12:00:00Z\n",
    )
    order = lakehouse.read("silver.orders").orderBy("order_id").first()
    again = {
        "order_id": order["order_id"],
        "customer_id": order["customer_id"],
        "ordered_at": order["ordered_at"].isoformat() + "Z",
        "channel": "store" if order["channel"] != "store" else "web",
        "is_deal": order["is_deal"],
        "items": [{"category": i["category"], "amount": i["amount"]} for i in order["items"]],
    }
    deliver(landing / "orders" / "orders_resent.jsonl", json.dumps(again) + "\n")
    contact = lakehouse.read("silver.campaign_contacts").orderBy("campaign_id", "customer_id").first()
    folder = landing / "campaign_contacts"
    headers = (f.read_text().splitlines()[0] for f in sorted(folder.glob("*.csv")))
    header = next(h for h in headers if "accepted" in h.split(","))
    values = {
        "campaign_id": contact["campaign_id"],
        "customer_id": str(contact["customer_id"]),
        "contacted_at": contact["contacted_at"].isoformat() + "Z",
        "accepted": "0" if contact["accepted"] else "1",
    }
    deliver(
        folder / "contacts_corrected.csv",
        header + "\n" + ",".join(values.get(c, "") for c in header.split(",")) + "\n",
    )
    return {"stranger": int(stranger), "waiting": waiting["raw_record"], "order": order, "contact": contact}


@pytest.fixture(scope="module")
def runs(spark, defective, tmp_path_factory):  # type: ignore[no-untyped-def]
    # a copy of the defective lakehouse, whose first run ingested and refined everything (all "full")
    first = copy_lakehouse(defective[0], tmp_path_factory.mktemp("incr") / "lakehouse")
    config = first.config
    lakehouse = Lakehouse(spark, config)
    bronze_before = {t.name: lakehouse.read(t.bronze().name).count() for t in SILVER}
    landed = _land_second_delivery(first)
    daily = RunContext(spark, config, config.sample.end_date + timedelta(days=2), "run-daily")
    ingest.run(daily)
    refine.run(daily)
    bronze_after = {t.name: lakehouse.read(t.bronze().name).count() for t in SILVER}
    incremental = _hashes(lakehouse)
    full = dataclasses.replace(daily, run_id="run-full", full_refresh=True, report={})
    refine.run(full)
    return {
        "first": first,
        "daily": daily,
        "full": full,
        "landed": landed,
        "appended": {n: bronze_after[n] - bronze_before[n] for n in bronze_after},
        "incremental": incremental,
        "lakehouse": lakehouse,
    }


def test_a_daily_run_reads_only_the_rows_appended_to_bronze(runs):
    report = runs["daily"].report["silver"]
    for name in INCREMENTAL:
        assert report[name]["mode"] == "incremental", name
        assert report[name]["rows_new"] == runs["appended"][name], name
    assert runs["appended"]["silver.orders"] > 1 and runs["appended"]["silver.customers"] == 1
    assert report["silver.customer_history"]["mode"] == "full"  # declares no newest_first order
    assert {v["mode"] for v in runs["first"].report["silver"].values()} == {"full"}


def test_the_quarantine_is_rechecked_so_an_arriving_customer_lets_their_order_through(runs):
    lakehouse, landed = runs["lakehouse"], runs["landed"]
    report = runs["daily"].report["silver"]["silver.orders"]
    assert report["rows_rechecked"] > 0
    quarantined = [r["raw_record"] for r in lakehouse.read("silver.orders_quarantine").collect()]
    assert landed["waiting"] not in quarantined
    order_id = json.loads(landed["waiting"])["order_id"]
    moved = lakehouse.read("silver.orders").where(F.col("order_id") == order_id).collect()
    assert [r["customer_id"] for r in moved] == [landed["stranger"]]


def test_the_winner_against_stored_rows_follows_each_table_s_order(runs):
    lakehouse, landed = runs["lakehouse"], runs["landed"]
    order, contact = landed["order"], landed["contact"]
    kept = lakehouse.read("silver.orders").where(F.col("order_id") == order["order_id"]).collect()
    assert [(r["channel"], r["_source_file"]) for r in kept] == [(order["channel"], order["_source_file"])]
    key = (F.col("campaign_id") == contact["campaign_id"]) & (F.col("customer_id") == contact["customer_id"])
    latest = lakehouse.read("silver.campaign_contacts").where(key).collect()
    assert [(r["accepted"], r["_source_file"]) for r in latest] == [
        (not contact["accepted"], "contacts_corrected.csv")
    ]


def test_a_full_refresh_gives_the_same_tables_as_the_incremental_run(runs):
    assert {v["mode"] for v in runs["full"].report["silver"].values()} == {"full"}
    assert _hashes(runs["lakehouse"]) == runs["incremental"]


def _silver(name: str):  # type: ignore[no-untyped-def]
    return next(t for t in SILVER if t.name == name)


def _refine(ctx: RunContext, name: str) -> None:
    """Refine one silver table (the others have nothing new for these tests)."""
    refine_all(ctx, [_silver(name)], dq_results.TABLE, refine_log.TABLE)


def _deliver(ctx: RunContext, run_id: str, source: str, lines: list[str]) -> RunContext:
    """Land a file for ``source`` and take it through its bronze and silver tables."""
    deliver(ctx.config.landing_dir / source / f"{run_id}.jsonl", "".join(f"{x}\n" for x in lines))
    run = dataclasses.replace(ctx, run_id=run_id, report={})
    ingest_all(run, [_silver(f"silver.{source}").bronze()], INGEST_LOG)
    _refine(run, f"silver.{source}")
    return run


def test_features_of_a_past_date_are_kept_until_a_row_before_that_date_changes(runs):
    daily, lakehouse = runs["daily"], runs["lakehouse"]
    past = daily.config.sample.end_date - timedelta(days=10)
    features = customer_features.TABLE
    runner.refresh(daily, features, dq_results.TABLE, as_of=past)
    assert runner.outdated(daily, features, [past]) == {}
    later = daily.as_of + timedelta(days=1)
    visit = {"visit_id": "V-later", "customer_id": 1, "visited_at": f"{later}T09:00:00Z"}
    _deliver(daily, "run-later", "web_visits", [json.dumps(visit)])
    assert runner.outdated(daily, features, [past]) == {}  # a later day's rows change nothing before it
    stored = lakehouse.read(features.name).where(F.col("as_of_date") == past).localCheckpoint()
    runner.refresh(daily, features, dq_results.TABLE, as_of=past)
    assert_df_equality(
        lakehouse.read(features.name).where(F.col("as_of_date") == past), stored, ignore_row_order=True
    )
    late = {"visit_id": "V-late", "customer_id": 1, "visited_at": f"{past - timedelta(days=3)}T09:00:00Z"}
    version = lakehouse.version("silver.web_visits")
    _deliver(daily, "run-late", "web_visits", [json.dumps(late)])
    assert runner.outdated(daily, features, [past]) == {
        past: f"silver.web_visits changed rows on or before {past} (since version {version})"
    }
    everything = dataclasses.replace(daily, full_refresh=True)
    assert runner.outdated(everything, features, [past]) == {past: "--full-refresh"}


def test_a_vocabulary_change_refreshes_and_no_row_is_both_in_silver_and_in_quarantine(runs):
    daily = runs["daily"]
    config = dataclasses.replace(
        daily.config,
        channels=tuple(c for c in daily.config.channels if c != "catalog"),
        quality=dataclasses.replace(daily.config.quality, max_quarantine_share=0.9),
    )
    run = dataclasses.replace(daily, config=config, run_id="run-narrower", report={})
    _refine(run, "silver.orders")
    orders = run.report["silver"]["silver.orders"]
    assert orders["mode"] == "full" and orders["deleted"] > 0
    lakehouse = runs["lakehouse"]
    assert lakehouse.read("silver.orders").where(F.col("channel") == "catalog").count() == 0
    quarantined = lakehouse.read("silver.orders_quarantine").select(
        F.get_json_object("raw_record", "$.order_id").alias("order_id")
    )
    both = quarantined.join(lakehouse.read("silver.orders"), "order_id", "left_semi")
    assert both.count() == 0
    assert quarantined.count() == orders["rows_quarantined"] > orders["deleted"]


def test_a_write_that_loses_a_row_fails_the_balance_naming_the_table(runs, monkeypatch):
    daily = runs["daily"]
    merge = Lakehouse.merge

    def losing_one(self, contract, df, **options):  # type: ignore[no-untyped-def]
        if contract.name == "silver.complaints":
            df = df.orderBy(*contract.primary_key).offset(1)
        return merge(self, contract, df, **options)

    monkeypatch.setattr(Lakehouse, "merge", losing_one)
    rerun = dataclasses.replace(daily, run_id="run-lossy", full_refresh=True, report={})
    with pytest.raises(DataQualityError, match=r"^silver\.complaints does not balance: 1 of \d+ winners"):
        _refine(rerun, "silver.complaints")


@pytest.mark.parametrize(("spoil", "problem"), [
    (lambda df: df.orderBy("visit_id").offset(1), r"1 of 2 winners are not in silver as chosen"),
    (lambda df: df.unionByName(df), r"silver has 4 rows of this refine for 2 winners"),
])  # fmt: skip
def test_an_incremental_write_that_loses_or_doubles_a_row_fails_the_balance(
    runs, monkeypatch, spoil, problem
):
    daily = runs["daily"]
    _refine(
        dataclasses.replace(daily, run_id="run-settle", report={}), "silver.web_visits"
    )  # in balance again
    append = Lakehouse.append

    def spoiled(self, contract, df):  # type: ignore[no-untyped-def]
        return append(self, contract, spoil(df) if contract.name == "silver.web_visits" else df)

    monkeypatch.setattr(Lakehouse, "append", spoiled)
    visits = [
        {"visit_id": f"V-{problem[:4]}-{i}", "customer_id": 1, "visited_at": "2026-07-05T09:00:00Z"}
        for i in (1, 2)
    ]
    with pytest.raises(DataQualityError, match=rf"^silver\.web_visits does not balance: .*{problem}"):
        _deliver(daily, f"run-spoiled-{len(problem)}", "web_visits", [json.dumps(v) for v in visits])
