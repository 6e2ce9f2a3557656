"""Delta table IO by table name: create from a contract, append, MERGE, overwrite a partition, time travel.

Tables live at the paths the config builds (``<root>/tables/<layer>/<table>``) and are registered in the
session's catalog under their names when created, so ``SELECT * FROM gold.customer_marketing`` works in
SQL; ``register_catalog`` (re)registers every table found on disk, e.g. for a catalog that another
lakehouse or a copied folder left pointing elsewhere (``lakehouse publish`` and every full run do it).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from functools import reduce
from operator import and_
from typing import Any

import deltalake
from delta.tables import DeltaTable
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from pipelines import failpoints
from pipelines.config import LAYERS, Config
from pipelines.contract import Contract
from pipelines.errors import PipelineError
from pipelines.pandas_io import log_version, scan

# When a run happened, not what it computed: left out of content hashes.
TABLE_NAME = re.compile(r"[a-z_][a-z0-9_]*")
_LOG = logging.getLogger(__name__)
VOLATILE_COLUMNS = ("_ingested_at", "ingested_at", "evaluated_at", "decided_at", "refined_at")


class TableError(PipelineError):
    """A table is missing or does not match its contract."""


@dataclass(frozen=True)
class WriteResult:
    table: str
    version: int
    operation: str
    metrics: Mapping[str, int]

    def metric(self, key: str) -> int:
        return int(self.metrics.get(key, 0))


def sql_literal(value: Any) -> str:
    """A value as a Spark SQL literal: strings with backslashes and quotes escaped, so a value never ends
    its literal; numbers as they print."""
    if isinstance(value, (date, str)):
        return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"no SQL literal for {type(value).__name__} {value!r}")
    return str(value)


def digest(df: DataFrame, columns: Sequence[str]) -> tuple[int, int]:
    """(rows, a sum of per-row hashes of the columns' values): equal for equal multisets of rows, whatever
    their order or file layout; one pass."""
    row = df.agg(
        F.count(F.lit(1)).alias("n"),
        F.sum(F.xxhash64(*[F.col(f"`{c}`") for c in columns]).cast("decimal(38,0)")).alias("h"),
    ).collect()[0]
    return int(row["n"]), int(row["h"] or 0)


_CATALOG_LOCK = threading.Lock()  # stages write tables from several threads; the catalog is not atomic


GONE = "_gone"  # a MERGE source row that deletes the stored row of its key


class Lakehouse:
    """Reads and writes the lakehouse's Delta tables for one Spark session and config."""

    def __init__(self, spark: SparkSession, config: Config) -> None:
        self.spark = spark
        self.config = config

    def path(self, name: str) -> str:
        return str(self.config.table_path(name))

    def exists(self, name: str) -> bool:
        """Whether the table is there; a folder holding data files but no Delta log (``_delta_log`` deleted
        or never restored) is refused: read as absent, the next write would start the table afresh."""
        folder = self.config.table_path(name)
        if log_version(folder) is not None:  # a commit in its log (a listing, no Spark job)
            return True
        if folder.is_dir() and any(
            p.name != "_delta_log" and not p.name.startswith(".") for p in folder.iterdir()
        ):
            raise TableError(
                f"{name} at {folder} holds data files but no Delta log (_delta_log missing or empty): restore "
                "the folder from a backup, or move it away to rebuild the table"
            )
        return False

    def ensure(self, contract: Contract) -> DeltaTable:
        """Create the table from its contract if it does not exist (columns, NOT NULL, partitions, comments)."""
        if self.exists(contract.name):  # the common case, read from the log: no Spark job
            present = {f.name for f in self._log(contract.name).schema().fields}
            if all(f.name in present for f in contract.schema.fields):
                return DeltaTable.forPath(self.spark, self.path(contract.name))
        builder = DeltaTable.createIfNotExists(self.spark).location(self.path(contract.name))
        for f in contract.schema.fields:
            builder = builder.addColumn(
                f.name, f.dataType, nullable=f.nullable, comment=contract.comment(f.name)
            )
        if contract.partition_by:
            builder = builder.partitionedBy(*contract.partition_by)
        for key, value in contract.properties.items():
            builder = builder.property(key, value)
        created = not self.exists(contract.name)
        table = builder.comment(contract.grain).execute()
        if created:  # an existing table was registered when created (or by `lakehouse publish`)
            failpoints.reach(f"created {contract.name}")
            self.register(contract.name)
        existing = set(table.toDF().columns)
        missing = [f for f in contract.schema.fields if f.name not in existing]
        if missing and all(f.nullable for f in missing):
            # columns a newer contract adds, nullable: added in place (older rows read them as null)
            added = ", ".join(
                f"`{f.name}` {f.dataType.simpleString()} COMMENT {sql_literal(contract.comment(f.name) or '')}"
                for f in missing
            )
            self.spark.sql(f"ALTER TABLE delta.`{self.path(contract.name)}` ADD COLUMNS ({added})")
            return DeltaTable.forPath(self.spark, self.path(contract.name))
        if missing:
            raise TableError(
                f"{contract.name} at {self.path(contract.name)} lacks contract columns "
                f"{[f.name for f in missing]}; "
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
        """The table's last commit: version, operation and metrics, read from its log (no Spark job)."""
        last = self._log(name).history(1)[0]
        metrics = {k: int(v) for k, v in (last.get("operationMetrics") or {}).items() if str(v).isdigit()}
        return WriteResult(name, int(last["version"]), str(last["operation"]), metrics)

    def version(self, name: str) -> int:
        """The table's current version: its log's newest commit file (a directory listing, no Spark job)."""
        version = log_version(self.config.table_path(name))
        if version is None:  # no log: Spark says what is wrong
            return int(DeltaTable.forPath(self.spark, self.path(name)).history(1).collect()[0]["version"])
        return version

    def row_count(self, name: str) -> int:
        """The table's rows as its log's per-file statistics count them (no data read, no Spark job)."""
        counts = self._log(name).get_add_actions().column("num_records").to_pylist()
        if any(c is None for c in counts):
            raise TableError(f"{name}: a data file carries no row count in the Delta log")
        return int(sum(counts))

    def _log(self, name: str) -> deltalake.DeltaTable:
        """The table's Delta log read in Python (schema, properties, history) without a Spark job."""
        return deltalake.DeltaTable(self.path(name))

    def rows(
        self, name: str, columns: Sequence[str], where: Sequence[tuple[str, str, Any]] | None = None
    ) -> list[dict[str, Any]]:
        """A small table's rows (``where``: ``[(column, op, value)]``) as Python values read from its files,
        no Spark job: for the logs a stage consults before deciding what to do. Timestamps come as naive
        local times, as Spark's ``collect`` gives them, so the two compare. A column a newer contract added
        (nullable) and the table has not gained yet reads as None, as it will once added."""

        def local(value: Any) -> Any:
            if isinstance(value, datetime) and value.tzinfo is not None:
                return value.astimezone().replace(tzinfo=None)
            return value

        log = self._log(name)
        present = {f.name for f in log.schema().fields}
        table = scan(log, [c for c in columns if c in present], list(where) if where else None)
        return [{c: local(row.get(c)) for c in columns} for row in table.to_pylist()]

    def empty_since_created(self, name: str, version: int) -> bool:
        """Whether the table, at ``version``, holds only the empty commit ``ensure`` created it with."""
        return version == 0 and not self._log(name).file_uris()

    def append(self, contract: Contract, df: DataFrame) -> WriteResult:
        self.ensure(contract)
        return self._appended(contract, df)

    def _appended(
        self, contract: Contract, df: DataFrame, metadata: Mapping[str, Any] | None = None
    ) -> WriteResult:
        """Append to a table ``ensure`` made sure of."""
        writer = contract.conform(df).write.format("delta").mode("append")
        if metadata is not None:
            writer = writer.option("userMetadata", json.dumps(metadata, default=str, sort_keys=True))
        writer.save(self.path(contract.name))
        return self._result(contract.name)

    def merge(
        self,
        contract: Contract,
        df: DataFrame,
        *,
        complete: bool = False,
        metadata: Mapping[str, Any] | None = None,
    ) -> WriteResult:
        """Upsert on the primary key. With ``sequence_by`` a row replaces the stored one only when it is
        strictly newer, so late, out-of-order or repeated deliveries never overwrite newer data; without it,
        a row replaces the stored one when any column differs. Identical rows are never rewritten, so a
        rerun commits no change. ``complete``: ``df`` is the table's whole content, so a differing row
        always replaces the stored one and a stored key missing from ``df`` is deleted, in the same MERGE
        and commit. ``metadata`` goes into its commits (a MERGE that changes nothing
        commits nothing)."""
        if not contract.primary_key:
            raise TableError(f"{contract.name}: MERGE needs a primary key in the contract")
        table = self.ensure(contract)
        before = self.version(contract.name)
        if self.empty_since_created(contract.name, before):
            # every row is an insert: an append writes them without the MERGE's join and rewrite passes
            appended = self._appended(contract, df, metadata)
            return WriteResult(
                contract.name, appended.version, "MERGE",
                {"numTargetRowsInserted": appended.metric("numOutputRows")},
            )  # fmt: skip
        source, target = contract.conform(df).alias("s"), table.toDF().alias("t")
        same_key = [F.col(f"s.`{k}`") == F.col(f"t.`{k}`") for k in contract.primary_key]
        sequenced = contract.sequence_by if not complete else None
        if sequenced:
            unchanged = F.col(f"s.`{sequenced}`") <= F.col(f"t.`{sequenced}`")
        else:
            values = [c for c in contract.columns if c not in contract.primary_key]
            unchanged = F.lit(True)
            for c in values:
                unchanged = unchanged & F.col(f"s.`{c}`").eqNullSafe(F.col(f"t.`{c}`"))
        # Delta rewrites every file holding a matched row, even when the update condition rejects it:
        # drop unchanged rows first, so only new or changed rows reach the MERGE (a rerun commits nothing).
        changes = source.join(target, reduce(and_, same_key, unchanged), how="left_anti")
        on = " AND ".join(f"t.`{k}` = s.`{k}`" for k in contract.primary_key)
        changed = f"s.`{sequenced}` > t.`{sequenced}`" if sequenced else "true"
        columns: dict[str, str | Column] = {f"`{c}`": f"s.`{c}`" for c in contract.columns}
        changes = changes.withColumn(GONE, F.lit(False))
        if complete and before > 0:  # version 0 is the empty table ensure() created: nothing to delete
            # the stored keys missing from ``df`` join the changes as deletions: one MERGE, one commit
            keys = list(contract.primary_key)
            gone = target.select(*[F.col(f"t.`{k}`").alias(k) for k in keys]).join(
                source.select(*keys), keys, "left_anti"
            )
            fields = {f.name: f.dataType for f in contract.schema.fields}
            deletions = [
                F.col(c) if c in keys else F.lit(None).cast(fields[c]).alias(c) for c in contract.columns
            ]
            changes = changes.unionByName(gone.select(*deletions, F.lit(True).alias(GONE)))
        with self._commit_metadata(metadata):
            (
                table.alias("t")
                .merge(changes.alias("s"), on)
                .whenMatchedDelete(condition=f"s.{GONE}")
                .whenMatchedUpdate(condition=f"NOT s.{GONE} AND {changed}", set=columns)
                .whenNotMatchedInsert(condition=f"NOT s.{GONE}", values=columns)
                .execute()
            )
        merged = self._result(contract.name)
        # Delta commits nothing for an empty source: a commit's metrics are only ours if we made it
        metrics = dict(merged.metrics) if merged.version != before else {}
        return WriteResult(contract.name, merged.version, "MERGE", metrics)

    @contextmanager
    def _commit_metadata(self, metadata: Mapping[str, Any] | None) -> Iterator[None]:
        """Delta's MERGE takes no writer option: its commit's user metadata comes from the session."""
        key = "spark.databricks.delta.commitInfo.userMetadata"
        if metadata is None:
            yield
            return
        self.spark.conf.set(key, json.dumps(metadata, default=str, sort_keys=True))
        try:
            yield
        finally:
            self.spark.conf.unset(key)

    def changes(
        self, name: str, after: int, until: int, kinds: Sequence[str] | None = ("insert",)
    ) -> DataFrame:
        """The rows of the given change kinds (insert, update_preimage, update_postimage, delete; None:
        all) that a table's commits after version ``after`` up to ``until`` made, read from its change data
        feed: only the files those commits wrote are read."""
        if until <= after:
            return self.read(name, until).limit(0)
        feed = (
            self.spark.read.format("delta")
            .option("readChangeFeed", "true")
            .option("startingVersion", after + 1)
            .option("endingVersion", until)
            .load(self.path(name))
        )
        if kinds is not None:
            feed = feed.where(F.col("_change_type").isin(*kinds))
        return feed.drop("_change_type", "_commit_version", "_commit_timestamp")

    def commits(self, name: str) -> list[tuple[int, dict[str, Any]]]:
        """(version, metadata) of every commit of the table but its creation, newest first; a commit that
        carries no metadata of ours has ``{}``."""
        found = []
        for commit in self._log(name).history():
            try:
                metadata = json.loads(commit.get("userMetadata") or "{}")
            except (ValueError, TypeError):
                metadata = {}  # someone else's note
            if int(commit["version"]) > 0 or metadata:
                found.append((int(commit["version"]), metadata if isinstance(metadata, dict) else {}))
        return sorted(found, key=lambda item: -item[0])

    def records_changes(self, name: str) -> bool:
        """Whether the table records its change data feed."""
        properties = self._log(name).metadata().configuration
        return str(properties.get("delta.enableChangeDataFeed", "")).lower() == "true"

    def enable_change_feed(self, name: str) -> int:
        """Record the table's change data feed from now on; returns the version that enabled it."""
        self.spark.sql(
            f"ALTER TABLE delta.`{self.path(name)}` SET TBLPROPERTIES (delta.enableChangeDataFeed = true)"
        )
        return self.version(name)

    def overwrite(
        self,
        contract: Contract,
        df: DataFrame,
        partition: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> WriteResult:
        """Replace the whole table, or only the given partition (``{"as_of_date": date}``): reruns replace
        what they wrote before instead of adding to it. ``metadata`` goes into the commit (``commits``)."""
        self.ensure(contract)
        if not partition and self.empty_since_created(contract.name, self.version(contract.name)):
            # nothing to replace: an append commits the same rows without reading the table's file list
            return self._appended(contract, df, metadata)
        writer = contract.conform(df).write.format("delta").mode("overwrite")
        if metadata is not None:
            writer = writer.option("userMetadata", json.dumps(metadata, default=str, sort_keys=True))
        if partition:
            unknown = set(partition) - set(contract.partition_by)
            if unknown:
                raise TableError(f"{contract.name} is not partitioned by {sorted(unknown)}")
            where = " AND ".join(f"`{k}` = {sql_literal(v)}" for k, v in partition.items())
            writer = writer.option("replaceWhere", where)
        writer.save(self.path(contract.name))
        return self._result(contract.name)

    def replace_where(
        self,
        contract: Contract,
        df: DataFrame,
        match: Mapping[str, Any],
        metadata: Mapping[str, Any] | None = None,
    ) -> WriteResult:
        """Replace the rows matching ``match`` (column -> value, or list of values) with ``df``: one
        atomic commit, so rewriting a run's rows never duplicates them. ``metadata`` goes into the commit."""
        self.ensure(contract)
        if self.empty_since_created(contract.name, self.version(contract.name)):
            return self._appended(contract, df, metadata)  # nothing to replace: no file list to read
        where = " AND ".join(
            f"`{k}` IN ({', '.join(sql_literal(x) for x in v)})"
            if isinstance(v, (list, tuple))
            else f"`{k}` = {sql_literal(v)}"
            for k, v in match.items()
        )
        writer = contract.conform(df).write.format("delta").mode("overwrite").option("replaceWhere", where)
        if metadata is not None:
            writer = writer.option("userMetadata", json.dumps(metadata, default=str, sort_keys=True))
        writer.save(self.path(contract.name))
        return self._result(contract.name)

    def register(self, name: str) -> None:
        """Register the table under its name in the session's catalog, pointing at its location (an entry
        pointing elsewhere is replaced; dropping an external table's entry never touches its files). The
        metastore is asked directly: Spark's ``tableExists`` and ``DESCRIBE`` load the Delta table's state,
        about 0.3 s per table."""
        location = str(self.config.table_path(name).resolve())
        layer, table = name.split(".", 1)
        metastore = self.spark._jsparkSession.sharedState().externalCatalog()  # type: ignore[attr-defined]
        with _CATALOG_LOCK:
            if not metastore.databaseExists(layer):
                self.spark.sql(f"CREATE DATABASE IF NOT EXISTS {layer}")
            registered = metastore.tableExists(layer, table)
            if registered and metastore.getTable(layer, table).location().getPath() == location:
                return
            if registered:
                self.spark.sql(f"DROP TABLE {name}")
            quoted = location.replace("'", "''")
            self.spark.sql(f"CREATE TABLE {name} USING DELTA LOCATION '{quoted}'")

    def register_catalog(self) -> list[str]:
        """Register every table of the lakehouse found on disk; returns their names."""
        names = self.tables()
        for name in names:
            self.register(name)
        return names

    def content_hash(self, name: str, ignore: Sequence[str] = VOLATILE_COLUMNS) -> tuple[int, str]:
        """(rows, a hash of the table's content independent of row order and file layout), leaving out
        ``ignore``: columns that say when a run happened rather than what it computed."""
        df = self.read(name)
        columns = sorted(c for c in df.columns if c not in ignore)
        rows, summed = digest(df, columns)
        payload = json.dumps({"columns": columns, "n": rows, "h": str(summed)})
        return rows, hashlib.sha256(payload.encode()).hexdigest()[:16]

    def tables(self) -> list[str]:
        """Every table of the lakehouse found on disk, by name; a Delta folder whose name is no table name
        (a copy such as ``customer_marketing.bak``) is left out with a warning."""
        found = [
            (layer, table_dir.name)
            for layer in LAYERS
            if (self.config.tables_dir / layer).is_dir()
            for table_dir in sorted((self.config.tables_dir / layer).iterdir())
            if (table_dir / "_delta_log").is_dir()
        ]
        for layer, folder in found:
            if not TABLE_NAME.fullmatch(folder):
                _LOG.warning(
                    "left out %s: %r is not a table name", self.config.tables_dir / layer / folder, folder
                )
        return [f"{layer}.{folder}" for layer, folder in found if TABLE_NAME.fullmatch(folder)]

    def create_view(self, name: str, query: str, comment: str) -> None:
        """Create or replace a SQL view over registered tables, with its description."""
        layer = name.split(".", 1)[0]
        self.spark.sql(f"CREATE DATABASE IF NOT EXISTS {layer}")
        quoted = comment.replace("'", "\\'")
        self.spark.sql(f"CREATE OR REPLACE VIEW {name} COMMENT '{quoted}' AS {query}")
