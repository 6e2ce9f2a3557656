"""Landing zone -> bronze: every landed file is ingested once, as delivered, with lineage columns.

- A file is identified by its name inside its source folder. A run ingests only files that neither the
  ingest log nor the bronze table has seen; a file that reached bronze before a crash is never re-read
  (the bronze commit itself records ``_source_file``), and its missing log row is repaired.
- Values stay strings as delivered. Malformed records (broken JSON, a CSV line with the wrong number of
  fields) are kept with their raw text in ``_corrupt_record``: silver quarantines them, nothing is dropped.
- CSV files are matched by header *name*, not position; a source without a fixed delimiter has it detected
  per file from the header line (comma, tab or semicolon). Extra columns are kept as JSON in
  ``_extra_columns``; a file missing a required column is rejected (logged, named in the error) while the
  other files land.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from pipelines.contract import Contract
from pipelines.runtime import RunContext

CORRUPT = "_corrupt_record"
LINEAGE_DDL = (
    "_corrupt_record STRING, _extra_columns STRING, "
    "_source_file STRING NOT NULL, _ingested_at TIMESTAMP NOT NULL, _run_id STRING NOT NULL"
)

INGEST_LOG = Contract(
    name="ops.ingest_log",
    ddl=(
        "source STRING NOT NULL, file STRING NOT NULL, size_bytes BIGINT, rows BIGINT, malformed_rows BIGINT, "
        "status STRING NOT NULL, error STRING, run_id STRING NOT NULL, ingested_at TIMESTAMP NOT NULL"
    ),
    grain="one row per landed file",
    primary_key=("source", "file"),
    comments={
        "status": "ingested | rejected",
        "malformed_rows": "records kept in bronze with their raw text in _corrupt_record",
    },
)


class IngestError(RuntimeError):
    """A landed file cannot be ingested (the message names the file and the reason)."""


@dataclass(frozen=True)
class RawSource:
    """A raw source as delivered: its landing folder, file format and raw columns (strings)."""

    table: str
    folder: str
    format: Literal["csv", "json"]
    raw_ddl: str
    required: tuple[str, ...]
    description: str = ""
    delimiter: str | None = ","  # None: detected per file from its header line

    @property
    def contract(self) -> Contract:
        return Contract(
            name=self.table,
            ddl=f"{self.raw_ddl}, {LINEAGE_DDL}",
            grain=f"one row per record delivered in landing/{self.folder}, as delivered",
        )

    @property
    def raw_columns(self) -> tuple[str, ...]:
        return tuple(f.name for f in StructType.fromDDL(self.raw_ddl).fields)


@dataclass
class IngestResult:
    table: str
    files: int = 0
    rows: int = 0
    malformed_rows: int = 0
    extra_column_rows: int = 0  # rows carrying columns outside the raw contract (kept in _extra_columns)
    rejected: list[str] = field(default_factory=list)
    version: int | None = None
    log_rows: list[tuple] = field(default_factory=list)  # type: ignore[type-arg]


def _landed_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith((".", "_")))


DELIMITERS = (",", "\t", ";")


def _csv_header(path: Path, delimiter: str | None) -> tuple[str, tuple[str, ...]] | None:
    """The file's delimiter and header names; ``delimiter=None`` picks the candidate that splits the header
    line into the most fields."""
    with path.open(newline="", encoding="utf-8", errors="replace") as handle:
        line = handle.readline()
    if not line.strip():
        return None
    chosen = delimiter or max(DELIMITERS, key=line.count)
    first = next(csv.reader([line], delimiter=chosen), None)
    return (chosen, tuple(h.strip() for h in first)) if first else None


def _seen_files(ctx: RunContext, source: RawSource) -> set[str]:
    lakehouse = ctx.lakehouse
    seen: set[str] = set()
    if lakehouse.exists(INGEST_LOG.name):
        logged = lakehouse.read(INGEST_LOG.name).where(F.col("source") == source.table).select("file")
        seen |= {r["file"] for r in logged.collect()}
    if lakehouse.exists(source.table):
        in_bronze = {
            r["_source_file"]
            for r in lakehouse.read(source.table).select("_source_file").distinct().collect()
        }
        missing = in_bronze - seen
        if missing:  # committed to bronze, but the run stopped before logging: repair the log
            _repair_log(ctx, source, missing)
        seen |= in_bronze
    return seen


def _repair_log(ctx: RunContext, source: RawSource, files: set[str]) -> None:
    bronze = ctx.lakehouse.read(source.table).where(F.col("_source_file").isin(*files))
    repaired = bronze.groupBy(F.col("_source_file").alias("file")).agg(
        F.count(F.lit(1)).alias("rows"),
        F.count(CORRUPT).alias("malformed_rows"),
        F.first("_run_id").alias("run_id"),
        F.first("_ingested_at").alias("ingested_at"),
    )
    rows = repaired.select(
        F.lit(source.table).alias("source"),
        "file",
        F.lit(None).cast("bigint").alias("size_bytes"),
        "rows",
        "malformed_rows",
        F.lit("ingested").alias("status"),
        F.lit("log row repaired from bronze lineage").alias("error"),
        "run_id",
        "ingested_at",
    )
    ctx.lakehouse.append(INGEST_LOG, rows)
    ctx.log.info("  repaired ingest log for %d file(s) of %s already in bronze", len(files), source.table)


def _read_csv_group(
    ctx: RunContext, source: RawSource, layout: tuple[str, tuple[str, ...]], paths: Sequence[Path]
) -> DataFrame:
    delimiter, header = layout
    # Map columns by the files' own header names; every value is read as a string.
    file_schema = ", ".join(f"`{h}` STRING" for h in header) + f", {CORRUPT} STRING"
    raw = (
        ctx.spark.read.format("csv")
        .options(
            header="true", mode="PERMISSIVE", columnNameOfCorruptRecord=CORRUPT, escape='"', sep=delimiter
        )
        .options(enforceSchema="true", ignoreLeadingWhiteSpace="true", ignoreTrailingWhiteSpace="true")
        .schema(file_schema)
        .load([str(p) for p in paths])
    )
    declared = source.raw_columns
    extras = [h for h in header if h not in declared]
    columns = [F.col(f"`{c}`") if c in header else F.lit(None).cast("string").alias(c) for c in declared]
    extra = F.to_json(F.struct(*[F.col(f"`{h}`") for h in extras])) if extras else F.lit(None).cast("string")
    return raw.select(
        *columns,
        F.col(CORRUPT),
        extra.alias("_extra_columns"),
        F.col("_metadata.file_name").alias("_source_file"),
    )


def _read_json(ctx: RunContext, source: RawSource, paths: Sequence[Path]) -> DataFrame:
    # Read lines as text and parse them here: a malformed line keeps its exact text, and keys outside the
    # raw contract are kept as JSON in _extra_columns instead of being dropped.
    lines = ctx.spark.read.text([str(p) for p in paths]).where(F.trim("value") != "")
    options = {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": CORRUPT}
    record = F.from_json("value", f"{source.raw_ddl}, {CORRUPT} STRING", options)
    declared = list(source.raw_columns)
    extra = F.map_filter(F.from_json("value", "map<string,string>"), lambda k, _: ~k.isin(*declared))
    return lines.select(
        record.alias("r"),
        F.when(F.size(extra) > 0, F.to_json(extra)).alias("_extra_columns"),
        F.col("_metadata.file_name").alias("_source_file"),
    ).select(*[f"r.{c}" for c in declared], f"r.{CORRUPT}", "_extra_columns", "_source_file")


def _plan(
    source: RawSource, files: Sequence[Path]
) -> tuple[dict[tuple[str, tuple[str, ...]], list[Path]], dict[str, str], list[Path]]:
    """Group CSV files by delimiter and header; reject files that lack a required column; set aside empty
    files."""
    groups: dict[tuple[str, tuple[str, ...]], list[Path]] = defaultdict(list)
    rejected: dict[str, str] = {}
    empty: list[Path] = []
    for path in files:
        if path.stat().st_size == 0:
            empty.append(path)
            continue
        if source.format == "json":
            groups[("", ())].append(path)
            continue
        layout = _csv_header(path, source.delimiter)
        if not layout:
            empty.append(path)
            continue
        header = layout[1]
        missing = [c for c in source.required if c not in header]
        if missing:
            rejected[path.name] = f"file {path} lacks required column(s) {missing} (header: {list(header)})"
            continue
        groups[layout].append(path)
    return groups, rejected, empty


def write_log(ctx: RunContext, results: Sequence[IngestResult]) -> None:
    """Append the files ingested (or rejected) by this run to ops.ingest_log, in one commit."""
    rows = [row for result in results for row in result.log_rows]
    if rows:
        ctx.lakehouse.append(INGEST_LOG, ctx.spark.createDataFrame(rows, INGEST_LOG.schema))


def ingest_source(ctx: RunContext, source: RawSource) -> IngestResult:
    """Append every not-yet-ingested landed file of one source to its bronze table. The caller writes
    ``result.log_rows`` with ``write_log``; a crash before that is repaired from bronze lineage."""
    result = IngestResult(source.table)
    lakehouse = ctx.lakehouse
    lakehouse.ensure(source.contract)
    seen = _seen_files(ctx, source)
    new_files = [p for p in _landed_files(ctx.config.landing(source.folder)) if p.name not in seen]
    if not new_files:
        return result
    groups, rejected, empty = _plan(source, new_files)
    ingested_at = datetime.now(timezone.utc).replace(microsecond=0)
    frames = [
        _read_json(ctx, source, paths)
        if source.format == "json"
        else _read_csv_group(ctx, source, layout, paths)
        for layout, paths in groups.items()
    ]
    counts: dict[str, tuple[int, int, int]] = {}
    if frames:
        batch = frames[0]
        for frame in frames[1:]:
            batch = batch.unionByName(frame)
        batch = batch.withColumns(
            {"_ingested_at": F.lit(ingested_at), "_run_id": F.lit(ctx.run_id)}
        ).persist()
        try:
            counts = {
                r["_source_file"]: (int(r["rows"]), int(r["malformed"]), int(r["extra"]))
                for r in batch.groupBy("_source_file")
                .agg(
                    F.count(F.lit(1)).alias("rows"),
                    F.count(CORRUPT).alias("malformed"),
                    F.count("_extra_columns").alias("extra"),
                )
                .collect()
            }
            result.version = lakehouse.append(source.contract, batch).version
        finally:
            batch.unpersist()
    log_rows = []
    for path in new_files:
        rows, malformed, extra = counts.get(path.name, (0, 0, 0))
        status = "rejected" if path.name in rejected else "ingested"
        log_rows.append(
            (
                source.table,
                path.name,
                path.stat().st_size,
                rows,
                malformed,
                status,
                rejected.get(path.name),
                ctx.run_id,
                ingested_at,
            )
        )
        result.rows += rows
        result.malformed_rows += malformed
        result.extra_column_rows += extra
    result.files = len(new_files) - len(rejected)
    result.rejected = list(rejected.values())
    result.log_rows = log_rows
    for message in result.rejected:
        ctx.log.error("  REJECTED %s: %s", source.table, message)
    if result.extra_column_rows:
        ctx.log.info(
            "  %s: %d row(s) carried columns outside the raw contract (kept in _extra_columns)",
            source.table,
            result.extra_column_rows,
        )
    if empty:
        ctx.log.info("  %s: %d empty file(s) logged with 0 rows", source.table, len(empty))
    return result
