"""Spark's floor for `lakehouse bench --floor`: the least any bronze -> silver -> gold Delta pipeline does.

Every landed row is read once, parsed once and written once per layer, with no rule, no key check, no
window and no accounting; gold is one aggregate of orders and visits per customer (fewer columns than
gold.customer_features). The daily run appends the new files to bronze, MERGEs their rows into silver by
key and their per-customer sums into gold. Nothing a pipeline of these layers needs is left out, and much
the real one does is, so no version of the pipeline on the same session can be faster than this.

It writes plain Delta tables under ``<root>/floor`` through Spark and delta-spark directly, on purpose:
the framework's contracts, checks and logs are what it leaves out. The bench runs each floor run in a new
process (``python -m commands.floor``), so its JVM is as cold as the pipeline's first stages.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from delta.tables import DeltaTable
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from bronze.tables import TABLES as BRONZE
from pipelines.config import load_config
from pipelines.declare import RawSource
from pipelines.log import step
from pipelines.session import start_run
from pipelines.work import Meter, Work

SOURCES: tuple[RawSource, ...] = tuple(t.source for t in BRONZE if t.source is not None)
# what gold reads of silver: orders and visits per customer
ORDERS, VISITS, CUSTOMERS = "orders", "web_visits", "customers"


class Floor:
    """The floor's tables under ``folder``, written by ``spark``."""

    def __init__(self, spark: SparkSession, folder: Path) -> None:
        self.spark, self.folder = spark, folder

    def path(self, layer: str, source: str) -> str:
        return str(self.folder / layer / source)

    def read(self, layer: str, source: str) -> DataFrame:
        return self.spark.read.format("delta").load(self.path(layer, source))

    def raw(self, source: RawSource, files: Sequence[str]) -> DataFrame:
        """JSON lines as they are (one string each: parsing is silver's); CSV in its raw string columns."""
        if source.format == "json":
            return self.spark.read.text(list(files))
        return self.spark.read.schema(source.raw_ddl).option("header", True).csv(list(files))

    def bronze(self, landed: dict[str, list[str]]) -> None:
        for source in SOURCES:
            if landed.get(source.folder):
                self.raw(source, landed[source.folder]).write.format("delta").save(
                    self.path("bronze", source.folder)
                )

    def silver(self, landed: dict[str, list[str]]) -> None:
        for source in SOURCES:
            if landed.get(source.folder):
                rows = parsed(self.read("bronze", source.folder), source)
                rows.write.format("delta").save(self.path("silver", source.folder))

    def gold(self) -> None:
        ids = self.read("silver", CUSTOMERS).select(F.col("customer_id").cast("bigint")).distinct()
        per_customer = customer_sums(self.read("silver", ORDERS), self.read("silver", VISITS))
        features = ids.join(per_customer, "customer_id", how="left").fillna(0, subset=list(SUMMED))
        features.write.format("delta").save(self.path("gold", "features"))

    def daily_bronze(self, new: dict[str, list[str]]) -> None:
        for source in SOURCES:
            if new.get(source.folder):
                rows = self.raw(source, new[source.folder])
                rows.write.format("delta").mode("append").save(self.path("bronze", source.folder))

    def daily_silver(self, new: dict[str, list[str]]) -> None:
        for source in SOURCES:
            if new.get(source.folder):
                key = source.raw_columns[0]
                day = parsed(self.raw(source, new[source.folder]), source)
                target = DeltaTable.forPath(self.spark, self.path("silver", source.folder))
                merge = target.alias("s").merge(day.alias("d"), f"s.{key} = d.{key}")
                merge.whenNotMatchedInsertAll().execute()

    def daily_gold(self, new: dict[str, list[str]]) -> None:
        """The day's per-customer sums added to gold (a day lands orders and web visits both)."""
        by_folder = {s.folder: s for s in SOURCES}
        orders, visits = (parsed(self.raw(by_folder[f], new[f]), by_folder[f]) for f in (ORDERS, VISITS))
        added = {
            c: F.coalesce(F.col(f"g.{c}"), F.lit(0)) + F.coalesce(F.col(f"d.{c}"), F.lit(0)) for c in SUMMED
        }
        latest = F.greatest(F.col("g.last_ordered_at"), F.col("d.last_ordered_at"))
        target = DeltaTable.forPath(self.spark, self.path("gold", "features"))
        merge = target.alias("g").merge(
            customer_sums(orders, visits).alias("d"), "g.customer_id = d.customer_id"
        )
        merge.whenMatchedUpdate(set={**added, "last_ordered_at": latest}).execute()


SUMMED = ("orders", "spent", "visits")


def parsed(lines: DataFrame, source: RawSource) -> DataFrame:
    """A JSON source's lines parsed into its raw columns; a CSV source as it is."""
    if source.format != "json":
        return lines
    return lines.select(F.from_json("value", source.raw_ddl).alias("r")).select("r.*")


def _spent(items: Column) -> Column:
    return F.aggregate(items, F.lit(0.0), lambda total, item: total + item["amount"].cast("double"))


def customer_sums(orders: DataFrame, visits: DataFrame) -> DataFrame:
    """Per customer: orders, money spent, the last order's time and web visits."""
    per_order = orders.groupBy(F.col("customer_id").cast("bigint").alias("customer_id")).agg(
        F.count(F.lit(1)).alias("orders"),
        F.sum(_spent(F.col("items"))).alias("spent"),
        F.max(F.col("ordered_at").cast("timestamp")).alias("last_ordered_at"),
    )
    per_visit = visits.groupBy(F.col("customer_id").cast("bigint").alias("customer_id")).agg(
        F.count(F.lit(1)).alias("visits")
    )
    return per_order.join(per_visit, "customer_id", how="full")


def landed(landing: Path) -> dict[str, list[str]]:
    """Every file in each source's landing folder, by folder."""
    return {
        s.folder: sorted(str(p) for p in (landing / s.folder).iterdir() if p.is_file())
        for s in SOURCES
        if (landing / s.folder).is_dir()
    }


def new_files(before: dict[str, list[str]], after: dict[str, list[str]]) -> dict[str, list[str]]:
    """The files in ``after`` that ``before`` did not hold, by folder."""
    return {f: [p for p in paths if p not in set(before.get(f, []))] for f, paths in after.items()}


Stage = tuple[str, Callable[[], None]]
FOLDER = "floor"  # under the bench's root


def measured(floor: Floor, stages: Sequence[Stage]) -> dict[str, Work]:
    """Run ``stages``, each logged; the work each did (Spark jobs, the floor's commits, seconds)."""
    meter = Meter(floor.spark, floor.folder)
    for name, stage in stages:
        with step(name), meter.stage(name):
            stage()
    return meter.stages


def first_run(floor: Floor, files: dict[str, list[str]]) -> list[Stage]:
    return [
        ("floor: bronze", lambda: floor.bronze(files)),
        ("floor: silver", lambda: floor.silver(files)),
        ("floor: gold", floor.gold),
    ]


def daily_run(floor: Floor, new: dict[str, list[str]]) -> list[Stage]:
    return [
        ("floor: bronze", lambda: floor.daily_bronze(new)),
        ("floor: silver", lambda: floor.daily_silver(new)),
        ("floor: gold", lambda: floor.daily_gold(new)),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """One floor run (``first`` or ``daily``) of the files a JSON file lists by folder, in this process's own
    session; prints each stage's work as the last line, in JSON."""
    parser = argparse.ArgumentParser(prog="python -m commands.floor")
    parser.add_argument("root", help="the bench's lakehouse root (its configuration)")
    parser.add_argument("out", type=Path, help="the floor's tables")
    parser.add_argument("files", type=Path, help="JSON: {folder: [file, ...]}")
    parser.add_argument("mode", choices=("first", "daily"))
    args = parser.parse_args(argv)
    config = load_config(overrides={"root": args.root})
    ctx = start_run(config, "lakehouse-bench-floor", config.sample.end_date, writer=False)
    lowest, files = Floor(ctx.spark, args.out), json.loads(args.files.read_text())
    work = measured(lowest, (first_run if args.mode == "first" else daily_run)(lowest, files))
    ctx.spark.stop()
    print(json.dumps({name: dataclasses.asdict(w) for name, w in work.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
