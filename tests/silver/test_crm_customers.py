"""silver.crm_customers from both published layouts of the CRM case, through real ingestion and Delta."""

from datetime import date

import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F

from bronze import crm_case as crm_case_bronze
from bronze.crm_case import SOURCE
from ops.ingest_log import TABLE as INGEST_LOG
from pipelines.config import load_config
from pipelines.ingest import ingest_source
from pipelines.refine import run_silver
from pipelines.runtime import RunContext
from silver import crm_customers
from tests import crm_case
from tests.crm_case import QUIRKS


def _refine(spark, root, tab: bool):  # type: ignore[no-untyped-def]
    config = load_config(overrides={"root": root}, environ={})
    ctx = RunContext(spark, config, date(2026, 6, 30), "run-test")
    crm_case.write(config.landing(SOURCE.folder) / "case.csv", crm_case.customers(), tab=tab)
    ingested = ingest_source(ctx, crm_case_bronze.TABLE, INGEST_LOG)
    rules: list = []
    result, _ = run_silver(ctx, crm_customers.TABLE, rules)
    return ctx, ingested, result, {r.rule: r for r in rules}


@pytest.fixture(scope="module")
def both(spark, tmp_path_factory):  # type: ignore[no-untyped-def]
    base = tmp_path_factory.mktemp("crm")
    return _refine(spark, base / "comma", tab=False), _refine(spark, base / "tab", tab=True)


def test_both_layouts_are_detected_and_conform_to_the_same_rows(both):
    (comma, ingested_comma, _, _), (tab, ingested_tab, _, _) = both
    assert ingested_comma.rows == ingested_tab.rows == 121 and not ingested_tab.rejected
    lineage = ["_source_file", "_ingested_at", "_run_id"]
    assert_df_equality(
        comma.lakehouse.read(crm_customers.CONTRACT.name).drop(*lineage),
        tab.lakehouse.read(crm_customers.CONTRACT.name).drop(*lineage),
        ignore_row_order=True,
        ignore_metadata=True,
    )


def test_nothing_is_dropped_and_unparseable_rows_are_quarantined_by_rule(both):
    (ctx, _, result, rules), _ = both
    assert result.rows_read == 121
    assert (result.rows_written, result.rows_quarantined, result.rows_superseded) == (119, 2, 0)
    quarantined = {
        r["id"]: sorted(r["failed_rules"])
        for r in ctx.lakehouse.read("silver.crm_customers_quarantine")
        .select(F.get_json_object("raw_record", "$.ID").alias("id"), "failed_rules")
        .collect()
    }
    assert "well_formed" in quarantined["999"]
    assert quarantined[str(QUIRKS["unparseable_amount"])] == ["counts_valid"]
    assert rules["counts_valid"].outcome == "quarantined"


def test_each_quirk_of_the_case_is_handled_by_its_named_rule(both):
    (ctx, _, _, rules), _ = both
    warned = {name: r.failed for name, r in rules.items() if r.outcome == "warned"}
    assert warned == {
        "income_present": 2,  # the blank income, and the malformed line that has none
        "income_plausible": 1,
        "birth_year_plausible": 1,
        "marital_status_known": 1,  # YOLO; "Alone" is a synonym of Single
        "profile_unique": 1,
    }
    rows = {r["customer_id"]: r for r in ctx.lakehouse.read(crm_customers.CONTRACT.name).collect()}
    assert rows[QUIRKS["blank_income"]]["income"] is None
    assert rows[QUIRKS["extreme_income"]]["income"] is None
    assert rows[QUIRKS["impossible_birth_year"]]["birth_year"] is None
    assert rows[QUIRKS["absurd_marital_status"]]["marital_status"] is None
    assert rows[QUIRKS["alone"]]["marital_status"] == "Single"
    assert rows[QUIRKS["duplicate_of_106"]]["duplicate_of"] == 106
    assert rows[106]["duplicate_of"] is None
    assert rows[110]["signup_date"] == date(2013, 3, 4)  # 04-03-2013 in the tab layout: day first


def test_parse_keeps_unparseable_dates_and_flags_for_the_quarantine(spark):
    from tests.silver.helpers import bronze_frame, failed_rules, refine

    values = {c: "0" for c in SOURCE.raw_columns} | {
        "Year_Birth": "1970",
        "Education": "PhD",
        "Marital_Status": "Married",
    }
    good = {**values, "ID": "1", "Dt_Customer": "2013-02-30", "Response": "1"}  # no such day
    bad_flag = {**values, "ID": "2", "Dt_Customer": "01-02-2013", "Response": "yes"}
    rows = [(*[r[c] for c in SOURCE.raw_columns], None, None, "f.csv", None, "r1") for r in (good, bad_flag)]
    silver, quarantined = refine(crm_customers.TABLE, bronze_frame(spark, SOURCE.raw_ddl, rows), key="ID")
    assert silver.count() == 0
    assert failed_rules(quarantined) == {
        "1": ["signup_date_valid"],
        "2": ["flags_are_0_or_1"],
    }
