import shutil
import time
from datetime import date, datetime

import pytest
from chispa import assert_df_equality
from delta.tables import DeltaTable
from pyspark.sql import functions as F

from pipelines.config import load_config
from pipelines.contract import Contract
from pipelines.tables import Lakehouse

PEOPLE = Contract(
    name="silver.people",
    ddl="id BIGINT NOT NULL, name STRING, updated_at INT NOT NULL",
    grain="one row per id, latest by updated_at",
    primary_key=("id",),
    sequence_by="updated_at",
)
SCORES = Contract(
    name="gold.scores",
    ddl="id BIGINT NOT NULL, day DATE NOT NULL, score DOUBLE",
    grain="one row per id and day",
    primary_key=("id", "day"),
    partition_by=("day",),
)


def rows(spark, data, contract):
    return spark.createDataFrame(data, contract.schema)


def test_merge_applies_newer_versions_only_and_reruns_change_nothing(spark, config):
    lakehouse = Lakehouse(spark, config)
    lakehouse.merge(PEOPLE, rows(spark, [(1, "ann", 1), (2, "bob", 1)], PEOPLE))
    # a newer version of 1, an out-of-order older version of 2, and a new person 3
    batch = rows(spark, [(1, "ann b.", 2), (2, "bobby (stale)", 0), (3, "cy", 1)], PEOPLE)
    result = lakehouse.merge(PEOPLE, batch)
    expected = rows(spark, [(1, "ann b.", 2), (2, "bob", 1), (3, "cy", 1)], PEOPLE)
    assert_df_equality(lakehouse.read("silver.people"), expected, ignore_row_order=True, ignore_metadata=True)
    assert (result.metric("numTargetRowsInserted"), result.metric("numTargetRowsUpdated")) == (1, 1)
    again = lakehouse.merge(PEOPLE, batch)
    assert again.metric("numTargetRowsInserted") == 0 and again.metric("numTargetRowsUpdated") == 0
    assert again.version == result.version  # nothing rewritten, no commit
    assert_df_equality(lakehouse.read("silver.people"), expected, ignore_row_order=True, ignore_metadata=True)


def test_merge_without_a_sequence_updates_changed_rows_only_and_reruns_commit_nothing(spark, config):
    lakehouse = Lakehouse(spark, config)
    lakehouse.merge(SCORES, rows(spark, [(1, date(2026, 1, 1), 0.1), (2, date(2026, 1, 1), None)], SCORES))
    batch = rows(spark, [(1, date(2026, 1, 1), 0.1), (2, date(2026, 1, 1), 0.5)], SCORES)
    result = lakehouse.merge(SCORES, batch)
    assert (result.metric("numTargetRowsUpdated"), result.metric("numTargetRowsInserted")) == (1, 0)
    assert result.metric("numSourceRows") == 1  # the unchanged row never reached the MERGE
    assert lakehouse.merge(SCORES, batch).version == result.version
    assert_df_equality(lakehouse.read("gold.scores"), batch, ignore_row_order=True, ignore_metadata=True)


def test_time_travel_reads_an_earlier_version(spark, config):
    lakehouse = Lakehouse(spark, config)
    first = lakehouse.merge(PEOPLE, rows(spark, [(1, "ann", 1)], PEOPLE))
    lakehouse.merge(PEOPLE, rows(spark, [(1, "ann b.", 2)], PEOPLE))
    assert_df_equality(
        lakehouse.read("silver.people", version=first.version),
        rows(spark, [(1, "ann", 1)], PEOPLE),
        ignore_metadata=True,
    )


def test_overwrite_partition_replaces_only_that_partition(spark, config):
    lakehouse = Lakehouse(spark, config)
    d1, d2 = date(2026, 1, 1), date(2026, 1, 2)
    lakehouse.overwrite(SCORES, rows(spark, [(1, d1, 0.1), (2, d1, 0.2)], SCORES), partition={"day": d1})
    lakehouse.overwrite(SCORES, rows(spark, [(1, d2, 0.5)], SCORES), partition={"day": d2})
    lakehouse.overwrite(SCORES, rows(spark, [(1, d1, 0.9)], SCORES), partition={"day": d1})
    expected = rows(spark, [(1, d1, 0.9), (1, d2, 0.5)], SCORES)
    assert_df_equality(lakehouse.read("gold.scores"), expected, ignore_row_order=True, ignore_metadata=True)


def test_contract_creates_table_with_not_null_constraint_and_metadata(spark, config):
    lakehouse = Lakehouse(spark, config)
    lakehouse.ensure(SCORES)
    with pytest.raises(Exception, match=r"(?i)null"):
        lakehouse.append(
            SCORES,
            spark.createDataFrame([(None, date(2026, 1, 1), 1.0)], "id BIGINT, day DATE, score DOUBLE"),
        )
    detail = spark.sql(f"DESCRIBE DETAIL delta.`{lakehouse.path('gold.scores')}`").collect()[0]
    assert detail["partitionColumns"] == ["day"]
    assert detail["properties"]["lakehouse.grain"] == "one row per id and day"
    assert detail["properties"]["lakehouse.layer"] == "gold"


def test_registered_tables_are_queryable_by_name(spark, config):
    lakehouse = Lakehouse(spark, config)
    lakehouse.merge(PEOPLE, rows(spark, [(7, "zed", 1)], PEOPLE))
    assert "silver.people" in lakehouse.register_catalog()
    assert spark.sql("SELECT name FROM silver.people WHERE id = 7").collect()[0]["name"] == "zed"
    spark.sql("DROP TABLE silver.people")


def test_a_copied_table_folder_is_left_out_of_the_catalog_not_a_failure(spark, config, caplog):
    lakehouse = Lakehouse(spark, config)
    lakehouse.merge(PEOPLE, rows(spark, [(7, "zed", 1)], PEOPLE))
    copy = config.tables_dir / "silver" / "people.bak"
    shutil.copytree(config.tables_dir / "silver" / "people", copy)
    assert lakehouse.register_catalog() == ["silver.people"]
    assert f"left out {copy}: 'people.bak' is not a table name" in caplog.text
    spark.sql("DROP TABLE silver.people")


def test_reading_a_missing_table_names_it(spark, config):
    with pytest.raises(RuntimeError, match=r"table silver\.nothing does not exist"):
        Lakehouse(spark, config).read("silver.nothing")


def test_merge_of_nothing_commits_nothing_and_reports_no_changes(spark, config):
    lakehouse = Lakehouse(spark, config)
    first = lakehouse.merge(PEOPLE, rows(spark, [(1, "ann", 1), (2, "bob", 1)], PEOPLE))
    empty = lakehouse.merge(PEOPLE, rows(spark, [], PEOPLE))
    assert empty.version == first.version
    assert (empty.metric("numTargetRowsInserted"), empty.metric("numSourceRows")) == (0, 0)


def test_a_first_write_into_a_new_table_appends_and_later_writes_merge_or_replace(spark, config):
    """The empty table ensure() created takes a MERGE's or an overwrite's rows as one append; from then on
    a MERGE updates and an overwrite replaces. Versions and counts are the log's, as Spark's history says."""
    lakehouse = Lakehouse(spark, config)

    def last(name):  # type: ignore[no-untyped-def]
        return DeltaTable.forPath(spark, lakehouse.path(name)).history(1).collect()[0]

    merged = lakehouse.merge(PEOPLE, rows(spark, [(1, "ann", 1), (2, "bob", 1)], PEOPLE))
    commit = last("silver.people")
    assert (commit["version"], commit["operationParameters"]["mode"]) == (1, "Append")
    assert (merged.version, merged.metric("numTargetRowsInserted")) == (1, 2)
    updated = lakehouse.merge(PEOPLE, rows(spark, [(1, "ann b.", 2)], PEOPLE))
    commit = last("silver.people")
    assert (commit["operation"], updated.version, updated.metric("numTargetRowsUpdated")) == ("MERGE", 2, 1)
    expected = rows(spark, [(1, "ann b.", 2), (2, "bob", 1)], PEOPLE)
    assert_df_equality(lakehouse.read("silver.people"), expected, ignore_row_order=True, ignore_metadata=True)

    day = date(2026, 1, 1)
    written = lakehouse.overwrite(SCORES, rows(spark, [(1, day, 0.1), (2, day, 0.2)], SCORES))
    commit = last("gold.scores")
    assert (commit["version"], commit["operationParameters"]["mode"]) == (1, "Append")
    assert (written.version, written.metric("numOutputRows")) == (1, 2)
    replaced = lakehouse.overwrite(SCORES, rows(spark, [(3, day, 0.3)], SCORES))
    assert (replaced.version, replaced.metric("numOutputRows")) == (2, 1)
    assert_df_equality(
        lakehouse.read("gold.scores"), rows(spark, [(3, day, 0.3)], SCORES), ignore_metadata=True
    )


def test_log_reads_without_spark_agree_with_spark(spark, config):
    """version, records_changes, commits and rows read the Delta log and files in Python; Spark's history,
    detail and collect are the oracle (timestamps included: both give naive local times)."""
    events = Contract(  # silver: records its change feed
        name="silver.events",
        ddl="id BIGINT NOT NULL, at TIMESTAMP NOT NULL, note STRING",
        grain="one row per id",
    )
    lakehouse = Lakehouse(spark, config)
    first = [(1, datetime(2026, 3, 29, 1, 30, 0, 123456), "a"), (2, datetime(2026, 7, 1, 12, 0), None)]
    lakehouse.overwrite(events, rows(spark, first, events), metadata={"as_of_date": "2026-06-30"})
    lakehouse.append(events, rows(spark, [(3, datetime(2025, 12, 31, 23, 59, 59), "c")], events))
    history = DeltaTable.forPath(spark, lakehouse.path("silver.events")).history()
    assert lakehouse.version("silver.events") == history.agg(F.max("version")).collect()[0][0] == 2
    detail = DeltaTable.forPath(spark, lakehouse.path("silver.events")).detail().collect()[0]
    assert lakehouse.records_changes("silver.events") is (
        detail["properties"]["delta.enableChangeDataFeed"] == "true"
    )
    lakehouse.overwrite(SCORES, rows(spark, [(1, date(2026, 1, 1), 0.5)], SCORES))  # gold: no change feed
    assert lakehouse.records_changes("gold.scores") is False
    assert lakehouse.commits("silver.events") == [(2, {}), (1, {"as_of_date": "2026-06-30"})]
    expected = [r.asDict() for r in lakehouse.read("silver.events").collect()]
    assert sorted(lakehouse.rows("silver.events", ("id", "at", "note")), key=lambda r: r["id"]) == sorted(
        expected, key=lambda r: r["id"]
    )
    assert lakehouse.rows("silver.events", ("id",), [("note", "=", "c")]) == [{"id": 3}]
    # a column a newer contract adds reads as None until the table gains it
    assert lakehouse.rows("silver.events", ("id", "added_later"), [("note", "=", "c")]) == [
        {"id": 3, "added_later": None}
    ]


def test_a_table_registered_elsewhere_is_pointed_at_its_new_location(spark, tmp_path):
    """Registering reads the metastore's entry: the same name from another root (a path with a space, a
    quote and a non-ASCII letter) replaces an entry pointing elsewhere; registering again keeps it."""
    first = Lakehouse(spark, load_config(overrides={"root": tmp_path / "first"}, environ={}))
    second = Lakehouse(spark, load_config(overrides={"root": tmp_path / "l'ake hoüse"}, environ={}))
    first.merge(PEOPLE, rows(spark, [(1, "ann", 1)], PEOPLE))
    second.merge(PEOPLE, rows(spark, [(2, "bob", 1)], PEOPLE))
    metastore = spark._jsparkSession.sharedState().externalCatalog()
    created = []
    for lakehouse, expected in ((first, "ann"), (second, "bob"), (second, "bob"), (first, "ann")):
        time.sleep(1.1)  # the metastore keeps an entry's creation time in whole seconds
        lakehouse.register_catalog()
        assert [r["name"] for r in spark.sql("SELECT name FROM silver.people").collect()] == [expected]
        created.append(metastore.getTable("silver", "people").createTime())
    assert created[1] == created[2] != created[3]  # an entry already right is left as it is
    spark.sql("DROP TABLE silver.people")
