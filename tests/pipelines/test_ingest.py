import dataclasses
import json
import os
import re
import time
from datetime import date, datetime, timezone

import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F

from bronze import customers, orders
from ops.ingest_log import TABLE as INGEST_LOG
from pipelines.ingest import IngestError, create_tables, ingest_all, ingest_source, refusals, require_rows
from pipelines.runtime import RunContext
from tests.conftest import deliver

HEADER = (
    "customer_id,birth_year,education,marital_status,income,kids_at_home,teens_at_home,signup_date,updated_at"
)


def land(config, folder, name, text):
    return deliver(config.landing(folder) / name, text)


def crash_before_the_log(ctx, source):
    """Ingest a source as a run that died between its bronze commit and the log's would have."""
    create_tables(ctx, (source,), INGEST_LOG)
    ingest_source(ctx, source, INGEST_LOG)


def ingest(ctx, source):
    (result,) = ingest_all(ctx, (source,), INGEST_LOG)
    return result


def test_each_file_is_ingested_once_and_new_files_on_the_next_run(ctx):
    land(
        ctx.config,
        "customers",
        "a.csv",
        f"{HEADER}\n1,1980,PhD,Single,50000,0,1,2025-01-01,2025-01-01T00:00:00Z\n",
    )
    first = ingest(ctx, customers.TABLE)
    again = ingest(ctx, customers.TABLE)
    land(
        ctx.config,
        "customers",
        "b.csv",
        f"{HEADER}\n2,1990,Basic,Married,,1,0,2025-02-01,2025-02-01T00:00:00Z\n",
    )
    later = ingest(ctx, customers.TABLE)
    assert (first.files, first.rows, again.files, again.rows, later.files, later.rows) == (1, 1, 0, 0, 1, 1)
    bronze = ctx.lakehouse.read("bronze.customers")
    got = bronze.select("customer_id", "income", "_source_file", "_run_id")
    expected = ctx.spark.createDataFrame(
        [("1", "50000", "a.csv", "run-test"), ("2", None, "b.csv", "run-test")],
        "customer_id STRING, income STRING, _source_file STRING, _run_id STRING",
    )
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True, ignore_metadata=True)
    log = ctx.lakehouse.read(INGEST_LOG.name).select("file", "rows", "status").orderBy("file")
    assert [tuple(r) for r in log.collect()] == [("a.csv", 1, "ingested"), ("b.csv", 1, "ingested")]


def test_malformed_json_lines_are_kept_with_their_raw_text(ctx):
    good = {
        "order_id": "O1",
        "customer_id": 1,
        "ordered_at": "2026-01-01T10:00:00Z",
        "channel": "web",
        "is_deal": False,
        "items": [{"category": "wines", "amount": 12.5}],
    }
    extra = {**good, "order_id": "O3", "coupon": "SPRING", "meta": {"a": 1}}  # keys outside the contract
    lines = [json.dumps(good), '{"order_id": "O2", "customer_id": ', json.dumps(extra)]
    land(ctx.config, "orders", "o.jsonl", "\n".join(lines) + "\n")
    result = ingest(ctx, orders.TABLE)
    assert (result.rows, result.malformed_rows, result.extra_column_rows) == (3, 1, 1)
    bronze = ctx.lakehouse.read("bronze.orders")
    kept = bronze.where(F.col("order_id") == "O1").select(
        "customer_id", F.col("items")[0]["amount"].alias("amount")
    )
    assert [tuple(r) for r in kept.collect()] == [("1", "12.5")]  # values stay as delivered (strings)
    broken = bronze.where(F.col("_corrupt_record").isNotNull()).select("_corrupt_record").collect()
    assert [r[0] for r in broken] == ['{"order_id": "O2", "customer_id": ']
    extras = {
        r["order_id"]: r["_extra_columns"] for r in bronze.select("order_id", "_extra_columns").collect()
    }
    assert extras["O1"] is None and extras[None] is None  # the malformed line keeps no order_id
    assert json.loads(extras["O3"]) == {"coupon": "SPRING", "meta": '{"a":1}'}


def test_csv_columns_are_matched_by_header_name_and_extras_kept(ctx):
    reordered = "updated_at,customer_id,signup_date,favourite_dish,birth_year,education,marital_status,income,kids_at_home,teens_at_home"
    land(
        ctx.config,
        "customers",
        "r.csv",
        f"{reordered}\n2025-03-01T00:00:00Z,9,2025-01-05,ramen,1970,Master,Together,1,0,0\n",
    )
    ingest(ctx, customers.TABLE)
    row = ctx.lakehouse.read("bronze.customers").collect()[0]
    assert (row["customer_id"], row["signup_date"], row["birth_year"]) == ("9", "2025-01-05", "1970")
    assert json.loads(row["_extra_columns"]) == {"favourite_dish": "ramen"}


def test_a_file_missing_a_required_column_is_rejected_and_others_land(ctx):
    land(ctx.config, "customers", "bad.csv", "customer_id,birth_year\n1,1980\n")
    land(
        ctx.config,
        "customers",
        "good.csv",
        f"{HEADER}\n2,1990,Basic,Married,,1,0,2025-02-01,2025-02-01T00:00:00Z\n",
    )
    land(ctx.config, "customers", "empty.csv", "")
    result = ingest(ctx, customers.TABLE)
    assert result.rows == 1
    assert (
        len(result.rejected) == 1 and "bad.csv" in result.rejected[0] and "updated_at" in result.rejected[0]
    )
    log = {r["file"]: (r["status"], r["rows"]) for r in ctx.lakehouse.read(INGEST_LOG.name).collect()}
    assert log == {"bad.csv": ("rejected", 0), "good.csv": ("ingested", 1), "empty.csv": ("empty", 0)}
    rerun = ingest(ctx, customers.TABLE)
    assert (rerun.files, rerun.log_rows) == (0, [])  # nothing retried, and the empty file logged once
    day = datetime.now(timezone.utc).date()
    assert refusals([rerun]) == [
        f"bronze.customers: {ctx.config.landing('customers') / 'bad.csv'} was refused on {day} and is still "
        "landed unchanged"
    ]  # named by every run until it is dealt with
    # the rejected file delivered again corrected, and the empty one filled: both land now
    land(
        ctx.config,
        "customers",
        "bad.csv",
        f"{HEADER}\n3,1970,PhD,Single,1,0,0,2025-01-01,2025-01-01T00:00:00Z\n",
    )
    land(
        ctx.config,
        "customers",
        "empty.csv",
        f"{HEADER}\n4,1971,PhD,Single,1,0,0,2025-01-01,2025-01-01T00:00:00Z\n",
    )
    later = ingest(ctx, customers.TABLE)
    assert (later.files, later.rows, later.rejected) == (2, 2, [])
    ids = sorted(r["customer_id"] for r in ctx.lakehouse.read("bronze.customers").collect())
    assert ids == ["2", "3", "4"]


def test_a_file_in_bronze_but_missing_from_the_log_is_not_ingested_again(ctx):
    land(
        ctx.config,
        "customers",
        "a.csv",
        f"{HEADER}\n1,1980,PhD,Single,50000,0,1,2025-01-01,2025-01-01T00:00:00Z\n",
    )
    crash_before_the_log(ctx, customers.TABLE)
    rerun = ingest(ctx, customers.TABLE)
    assert rerun.files == 0
    assert ctx.lakehouse.read("bronze.customers").count() == 1
    log = ctx.lakehouse.read(INGEST_LOG.name).collect()
    assert [(r["file"], r["rows"], r["status"]) for r in log] == [("a.csv", 1, "ingested")]


ODD_NAMES = (
    "new orders.jsonl",
    "orders_2026-0[5].jsonl",
    "50%off.jsonl",
    "a+b.jsonl",
    "café.jsonl",
    "x{1}?.jsonl",
)


def order_line(order_id: str) -> str:
    order = {"order_id": order_id, "customer_id": 1, "ordered_at": "2026-01-01T10:00:00Z", "channel": "web"}
    return json.dumps({**order, "is_deal": False, "items": [{"category": "wines", "amount": 5}]}) + "\n"


def test_any_file_name_is_read_literally_once_and_logged_as_named(ctx):
    land(ctx.config, "orders", "orders_2026-05.jsonl", order_line("plain-1") + order_line("plain-2"))
    for n, name in enumerate(ODD_NAMES):
        land(ctx.config, "orders", name, order_line(f"odd-{n}"))
    first = ingest(ctx, orders.TABLE)
    assert (first.files, first.rows) == (len(ODD_NAMES) + 1, len(ODD_NAMES) + 2)
    bronze = ctx.lakehouse.read("bronze.orders").select("order_id", "_source_file")
    expected = [(f"odd-{n}", name) for n, name in enumerate(ODD_NAMES)]
    expected += [("plain-1", "orders_2026-05.jsonl"), ("plain-2", "orders_2026-05.jsonl")]
    assert sorted(tuple(r) for r in bronze.collect()) == sorted(expected)
    log = ctx.lakehouse.read(INGEST_LOG.name).select("file", "rows", "status")
    assert sorted(tuple(r) for r in log.collect()) == sorted(
        [(name, 1, "ingested") for name in ODD_NAMES] + [("orders_2026-05.jsonl", 2, "ingested")]
    )
    assert ingest(ctx, orders.TABLE).files == 0


def test_a_crash_before_the_log_never_ingests_an_oddly_named_file_twice(ctx):
    land(ctx.config, "orders", "new orders.jsonl", order_line("o-1"))
    crash_before_the_log(ctx, orders.TABLE)  # bronze committed, then the run died before the log
    assert ingest(ctx, orders.TABLE).files == 0
    assert [tuple(r) for r in ctx.lakehouse.read(INGEST_LOG.name).select("file", "rows").collect()] == [
        ("new orders.jsonl", 1)
    ]
    assert ctx.lakehouse.read("bronze.orders").count() == 1


def test_a_crash_before_the_log_is_found_after_logged_runs(ctx):
    land(ctx.config, "orders", "a.jsonl", order_line("o-1"))
    ingest(ctx, orders.TABLE)
    logged = ctx.lakehouse.read(INGEST_LOG.name).select("file", "bronze_version").collect()
    assert [tuple(r) for r in logged] == [("a.jsonl", ctx.lakehouse.version("bronze.orders"))]
    land(ctx.config, "orders", "b.jsonl", order_line("o-2"))
    crash_before_the_log(ctx, orders.TABLE)  # bronze committed b, then the run died before the log
    assert ingest(ctx, orders.TABLE).files == 0  # bronze is a version ahead of the log: lineage is read
    log = ctx.lakehouse.read(INGEST_LOG.name).select("file", "rows", "status", "bronze_version")
    bronze = ctx.lakehouse.version("bronze.orders")
    assert sorted(tuple(r) for r in log.collect()) == [
        ("a.jsonl", 1, "ingested", bronze - 1),
        ("b.jsonl", 1, "ingested", bronze),
    ]
    assert sorted(r[0] for r in ctx.lakehouse.read("bronze.orders").select("order_id").collect()) == [
        "o-1",
        "o-2",
    ]


def test_a_file_still_being_written_waits_for_the_next_run(ctx):
    path = ctx.config.landing("orders") / "orders_today.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text(order_line("o-1"))  # modified just now: within ingest.settle_seconds (60 by default)
    waiting = ingest(ctx, orders.TABLE)
    assert (waiting.files, waiting.log_rows) == (0, [])
    assert not ctx.lakehouse.read("bronze.orders").count()
    # nothing in bronze for the next stages: the run stops there, saying why and when, in one line
    with pytest.raises(IngestError) as stopped:
        require_rows(ctx, [waiting])
    message = str(stopped.value)
    assert "\n" not in message and "all 1 landed file(s)" in message and "ingest.settle_seconds" in message
    eligible = re.search(r"eligible at (\S+ \S+) UTC", message)
    assert eligible is not None
    at = datetime.strptime(eligible[1], "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc).timestamp()
    assert abs(at - (path.stat().st_mtime + ctx.config.ingest.settle_seconds)) < 1
    deliver(path, order_line("o-1") + order_line("o-2"))  # finished, and settled
    done = ingest(ctx, orders.TABLE)
    assert (done.rows, ctx.lakehouse.read("bronze.orders").count()) == (2, 2)
    later = ctx.config.landing("orders") / "orders_later.jsonl"
    later.write_text(order_line("o-3"))  # settling, but bronze has rows to work on: the run goes on
    assert time.time() - later.stat().st_mtime < ctx.config.ingest.settle_seconds
    require_rows(ctx, [done, ingest(ctx, orders.TABLE)])


def test_a_landed_name_delivered_again_with_other_content_is_refused_once_by_default(ctx):
    land(ctx.config, "orders", "orders_2026-05.jsonl", order_line("o-1"))
    ingest(ctx, orders.TABLE)
    path = land(ctx.config, "orders", "orders_2026-05.jsonl", order_line("o-1") + order_line("o-2"))
    refused = ingest(ctx, orders.TABLE)
    assert refused.files == 0 and len(refused.rejected) == 1
    assert refused.rejected[0].startswith(f"{path} was ingested before with other content")
    again = ingest(ctx, orders.TABLE)
    assert again.log_rows == []  # logged once, not on every run
    assert refusals([again]) == [
        f"bronze.orders: {path} was refused before: it was ingested before with other content, and is still "
        "landed"
    ]  # but named by every run until it is dealt with
    log = ctx.lakehouse.read(INGEST_LOG.name).orderBy("ingested_at", "status").select("status", "size_bytes")
    assert sorted(tuple(r) for r in log.collect()) == [
        ("changed", path.stat().st_size),
        ("ingested", len(order_line("o-1"))),
    ]
    assert [r["order_id"] for r in ctx.lakehouse.read("bronze.orders").collect()] == ["o-1"]
    # the same bytes touched again are the same delivery: nothing refused
    land(ctx.config, "orders", "orders_2026-05.jsonl", order_line("o-1"))
    dealt_with = ingest(ctx, orders.TABLE)
    assert (dealt_with.rejected, refusals([dealt_with])) == ([], [])


def _welcoming_changes(spark, config):
    """A run whose ingestion appends a landed name delivered again with other content."""
    config = dataclasses.replace(config, ingest=dataclasses.replace(config.ingest, on_changed="ingest"))
    return RunContext(spark, config, date(2026, 6, 30), "run-test")


def test_a_changed_delivery_is_appended_when_the_policy_says_ingest(spark, config):
    ctx = _welcoming_changes(spark, config)
    config = ctx.config
    land(config, "orders", "orders_2026-05.jsonl", order_line("o-1"))
    ingest(ctx, orders.TABLE)
    land(config, "orders", "orders_2026-05.jsonl", order_line("o-1") + order_line("o-2"))
    again = ingest(ctx, orders.TABLE)
    assert (again.files, again.rows, again.rejected) == (1, 2, [])
    assert sorted(r["order_id"] for r in ctx.lakehouse.read("bronze.orders").collect()) == [
        "o-1",
        "o-1",
        "o-2",
    ]


def test_a_crash_before_the_log_never_appends_a_changed_delivery_twice(spark, config):
    ctx = _welcoming_changes(spark, config)
    config = ctx.config
    land(config, "orders", "orders_2026-05.jsonl", order_line("o-1"))
    ingest(ctx, orders.TABLE)
    land(config, "orders", "orders_2026-05.jsonl", order_line("o-1") + order_line("o-2"))
    crash_before_the_log(ctx, orders.TABLE)  # bronze committed the new content, the log did not
    assert ingest(ctx, orders.TABLE).files == 0
    bronze = ctx.lakehouse.read("bronze.orders")
    assert sorted(r["order_id"] for r in bronze.collect()) == ["o-1", "o-1", "o-2"]
    log = ctx.lakehouse.read(INGEST_LOG.name).orderBy("ingested_at").select("rows", "status", "error")
    assert [tuple(r) for r in log.collect()] == [
        (1, "ingested", None),
        (2, "ingested", "log row repaired from bronze lineage"),
    ]


def test_a_symbolic_link_is_refused_naming_it(ctx, tmp_path):
    target = deliver(tmp_path / "elsewhere.jsonl", order_line("o-1"))
    link = ctx.config.landing("orders") / "linked.jsonl"
    link.parent.mkdir(parents=True)
    link.symlink_to(target)
    result = ingest(ctx, orders.TABLE)
    assert result.rejected == [f"{link} is a symbolic link: land a copy of the file instead"]
    assert (result.files, ctx.lakehouse.read("bronze.orders").count()) == (0, 0)


def test_a_source_with_no_files_is_an_empty_table(ctx):
    from bronze import web_visits
    from pipelines.refine import run_silver
    from silver import web_visits as silver_visits

    result = ingest(ctx, web_visits.TABLE)  # no landing/web_visits folder at all
    assert (result.files, result.rows) == (0, 0)
    assert ctx.lakehouse.read("bronze.web_visits").count() == 0
    refined, _ = run_silver(ctx, silver_visits.TABLE, [])
    assert (refined.rows_read, refined.rows_written) == (0, 0)
    assert ctx.lakehouse.read("silver.web_visits").columns == list(silver_visits.CONTRACT.columns)


def deliver_bytes(config, folder, name, data: bytes):
    path = deliver(config.landing(folder) / name, "")
    path.write_bytes(data)
    settled = path.stat().st_mtime - 3600
    os.utime(path, (settled, settled))
    return path


def test_awkward_files_land_as_meant_or_are_refused_naming_the_file(ctx):
    row = "1,1980,PhD,Single,500,0,0,2025-01-01,2025-01-01T00:00:00Z\n"
    deliver_bytes(ctx.config, "customers", "bom.csv", ("\ufeff" + HEADER + "\n" + row).encode())
    latin = row.replace("1,1980", "2,1980").replace("Single", "Célibataire")
    deliver_bytes(ctx.config, "customers", "latin1.csv", (HEADER + "\n" + latin).encode("latin-1"))
    deliver_bytes(
        ctx.config, "customers", "twice.csv", (HEADER + ",income\n" + row.rstrip() + ",9\n").encode()
    )
    deliver_bytes(ctx.config, "orders", "bom.jsonl", ("\ufeff" + order_line("bom")).encode())
    deliver_bytes(
        ctx.config, "orders", "latin1.jsonl", order_line("x").replace('"x"', '"é"').encode("latin-1")
    )
    deliver_bytes(ctx.config, "orders", "binary.jsonl", bytes(range(256)) * 40)
    huge = json.loads(order_line("huge"))
    huge["items"] = [{"category": "wines", "amount": 1}] * 100_000  # one line of ~3.5 MB
    deliver_bytes(ctx.config, "orders", "huge.jsonl", (json.dumps(huge) + "\n").encode())
    people, bought = ingest(ctx, customers.TABLE), ingest(ctx, orders.TABLE)
    landed = ctx.lakehouse.read("bronze.customers").select("customer_id", "marital_status", "_source_file")
    assert sorted(tuple(r) for r in landed.collect()) == [
        ("1", "Single", "bom.csv"),
        ("2", "Célibataire", "latin1.csv"),
    ]
    lines = ctx.lakehouse.read("bronze.orders").select("order_id", "_corrupt_record", "_source_file")
    assert sorted(tuple(r) for r in lines.collect()) == [
        ("bom", None, "bom.jsonl"),
        ("huge", None, "huge.jsonl"),
    ]
    folder = ctx.config.landing_dir
    assert people.rejected == [
        f"file {folder / 'customers' / 'twice.csv'} names column(s) ['income'] more than once: which one is meant is unknown"
    ]
    assert sorted(bought.rejected) == [
        f"file {folder / 'orders' / 'binary.jsonl'} is not a text file (it holds NUL bytes): a json export was expected",
        f"file {folder / 'orders' / 'latin1.jsonl'} is not UTF-8, as JSON must be: export it again as UTF-8",
    ]
    log = {r["file"]: r["status"] for r in ctx.lakehouse.read(INGEST_LOG.name).collect()}
    assert log == {"bom.csv": "ingested", "latin1.csv": "ingested", "twice.csv": "rejected", "bom.jsonl": "ingested",
                   "latin1.jsonl": "rejected", "binary.jsonl": "rejected", "huge.jsonl": "ingested"}  # fmt: skip
