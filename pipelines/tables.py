"""Delta table IO by table name: create from a contract, append, MERGE, overwrite a partition, time travel.

Tables live at the paths the config builds (``<root>/tables/<layer>/<table>``); ``register_catalog``
also makes them queryable by name (``SELECT * FROM gold.customer_marketing``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import reduce
from operator import and_
from datetime import date
from typing import Any

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from pipelines.config import LAYERS, Config
from pipelines.contract import Contract


class TableError(RuntimeError):
    """A table is missing or does not match its contract."""


@dataclass(frozen=True)
class WriteResult:
    table: str
    version: int
    operation: str
    metrics: Mapping[str, int]

    def metric(self, key: str) -> int:
        return int(self.metrics.get(key, 0))


def _sql_literal(value: Any) -> str:
    if isinstance(value, (date, str)):
        return "'" + str(value).replace("'", "''") + "'"
    return str(value)


class Lakehouse:
    """Reads and writes the lakehouse's Delta tables for one Spark session and config."""

    def __init__(self, spark: SparkSession, config: Config) -> None:
        self.spark = spark
        self.config = config

    def path(self, name: str) -> str:
        return str(self.config.table_path(name))

    def exists(self, name: str) -> bool:
        return DeltaTable.isDeltaTable(self.spark, self.path(name))

    def ensure(self, contract: Contract) -> DeltaTable:
        """Create the table from its contract if it does not exist (columns, NOT NULL, partitions, comments)."""
        builder = DeltaTable.createIfNotExists(self.spark).location(self.path(contract.name))
        for f in contract.schema.fields:
            builder = builder.addColumn(
                f.name, f.dataType, nullable=f.nullable, comment=contract.comments.get(f.name)
            )
        if contract.partition_by:
            builder = builder.partitionedBy(*contract.partition_by)
        for key, value in contract.properties.items():
            builder = builder.property(key, value)
        table = builder.comment(contract.grain).execute()
        existing = set(table.toDF().columns)
        missing = [c for c in contract.columns if c not in existing]
        if missing:
            raise TableError(
                f"{contract.name} at {self.path(contract.name)} lacks contract columns {missing}; "
                "the contract changed since the table was created (see README: changing vocabularies)"
            )
        return table

    def read(self, name: str, version: int | None = None) -> DataFrame:
        if not self.exists(name):
            raise TableError(
                f"table {name} does not exist at {self.path(name)}; run the stage that writes it"
            )
        reader = self.spark.read.format("delta")
        if version is not None:
            reader = reader.option("versionAsOf", version)
        return reader.load(self.path(name))

    def _result(self, name: str) -> WriteResult:
        last = DeltaTable.forPath(self.spark, self.path(name)).history(1).collect()[0]
        metrics = {k: int(v) for k, v in (last["operationMetrics"] or {}).items() if str(v).isdigit()}
        return WriteResult(name, int(last["version"]), str(last["operation"]), metrics)

    def version(self, name: str) -> int:
        return self._result(name).version

    def append(self, contract: Contract, df: DataFrame) -> WriteResult:
        self.ensure(contract)
        contract.conform(df).write.format("delta").mode("append").save(self.path(contract.name))
        return self._result(contract.name)

    def merge(self, contract: Contract, df: DataFrame) -> WriteResult:
        """Upsert on the primary key. With ``sequence_by`` a row replaces the stored one only when it is
        strictly newer, so late, out-of-order or repeated deliveries never overwrite newer data; without it,
        a row replaces the stored one when any column differs. Identical rows are never rewritten, so a
        rerun commits no change."""
        if not contract.primary_key:
            raise TableError(f"{contract.name}: MERGE needs a primary key in the contract")
        table = self.ensure(contract)
        before = int(table.history(1).select("version").collect()[0][0])
        source, target = contract.conform(df).alias("s"), table.toDF().alias("t")
        same_key = [F.col(f"s.`{k}`") == F.col(f"t.`{k}`") for k in contract.primary_key]
        if contract.sequence_by:
            seq = contract.sequence_by
            unchanged = F.col(f"s.`{seq}`") <= F.col(f"t.`{seq}`")
        else:
            values = [c for c in contract.columns if c not in contract.primary_key]
            unchanged = F.lit(True)
            for c in values:
                unchanged = unchanged & F.col(f"s.`{c}`").eqNullSafe(F.col(f"t.`{c}`"))
        # Delta rewrites every file holding a matched row, even when the update condition rejects it:
        # drop unchanged rows first, so only new or changed rows reach the MERGE (a rerun commits nothing).
        changes = source.join(target, reduce(and_, same_key, unchanged), how="left_anti")
        on = " AND ".join(f"t.`{k}` = s.`{k}`" for k in contract.primary_key)
        changed = f"s.`{contract.sequence_by}` > t.`{contract.sequence_by}`" if contract.sequence_by else "true"
        (
            table.alias("t")
            .merge(changes.alias("s"), on)
            .whenMatchedUpdateAll(condition=changed)
            .whenNotMatchedInsertAll()
            .execute()
        )
        result = self._result(contract.name)
        if result.version == before:  # Delta commits nothing for an empty source: the metrics are not ours
            return WriteResult(contract.name, before, "MERGE", {})
        return result

    def overwrite(
        self, contract: Contract, df: DataFrame, partition: Mapping[str, Any] | None = None
    ) -> WriteResult:
        """Replace the whole table, or only the given partition (``{"as_of_date": date}``): reruns replace
        what they wrote before instead of adding to it."""
        self.ensure(contract)
        writer = contract.conform(df).write.format("delta").mode("overwrite")
        if partition:
            unknown = set(partition) - set(contract.partition_by)
            if unknown:
                raise TableError(f"{contract.name} is not partitioned by {sorted(unknown)}")
            where = " AND ".join(f"`{k}` = {_sql_literal(v)}" for k, v in partition.items())
            writer = writer.option("replaceWhere", where)
        writer.save(self.path(contract.name))
        return self._result(contract.name)

    def replace_where(self, contract: Contract, df: DataFrame, match: Mapping[str, Any]) -> WriteResult:
        """Replace the rows matching ``match`` (column -> value, or list of values) with ``df``: one
        atomic commit, so rewriting a run's rows never duplicates them."""
        self.ensure(contract)
        where = " AND ".join(
            f"`{k}` IN ({', '.join(_sql_literal(x) for x in v)})"
            if isinstance(v, (list, tuple))
            else f"`{k}` = {_sql_literal(v)}"
            for k, v in match.items()
        )
        contract.conform(df).write.format("delta").mode("overwrite").option("replaceWhere", where).save(
            self.path(contract.name)
        )
        return self._result(contract.name)

    def register_catalog(self) -> list[str]:
        """Make every existing table queryable by ``<layer>.<table>`` in this session."""
        names = []
        for layer in LAYERS:
            layer_dir = self.config.tables_dir / layer
            if not layer_dir.is_dir():
                continue
            self.spark.sql(f"CREATE DATABASE IF NOT EXISTS {layer}")
            for table_dir in sorted(p for p in layer_dir.iterdir() if (p / "_delta_log").is_dir()):
                name = f"{layer}.{table_dir.name}"
                location = str(table_dir.resolve()).replace("'", "''")
                self.spark.sql(f"CREATE TABLE IF NOT EXISTS {name} USING DELTA LOCATION '{location}'")
                names.append(name)
        return names
