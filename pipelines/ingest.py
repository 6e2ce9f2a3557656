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
import filecmp
import shutil
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from pipelines.config import Config
from pipelines.contract import Contract
from pipelines.declare import RawSource, Table
from pipelines.errors import PipelineError
from pipelines.parallel import map_concurrently
from pipelines.runtime import RunContext

CORRUPT = "_corrupt_record"
LINEAGE_DDL = (
    "_corrupt_record STRING, _extra_columns STRING, "
    "_source_file STRING NOT NULL, _ingested_at TIMESTAMP NOT NULL, _run_id STRING NOT NULL"
)


class IngestError(PipelineError):
    """A landed file cannot be ingested (the message names the file and the reason)."""


def bronze_table(name: str, source: RawSource) -> Table:
    """The declaration of a bronze table: the raw columns as strings plus lineage, appended by ingestion."""
    contract = Contract(
        name=name,
        ddl=f"{source.raw_ddl}, {LINEAGE_DDL}",
        grain=f"one row per record delivered in landing/{source.folder}, as delivered",
    )
    return Table(contract, stage="ingest", write="append", source=source, description=source.description)


def _source(table: Table) -> RawSource:
    if table.source is None:
        raise ValueError(f"{table.name} declares no raw source: only bronze tables are ingested")
    return table.source


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


def _seen_files(ctx: RunContext, table: Table, log: Table) -> set[str]:
    lakehouse = ctx.lakehouse
    seen: set[str] = set()
    if lakehouse.exists(log.name):
        logged = lakehouse.read(log.name).where(F.col("source") == table.name).select("file")
        seen |= {r["file"] for r in logged.collect()}
    if lakehouse.exists(table.name):
        in_bronze = {
            r["_source_file"] for r in lakehouse.read(table.name).select("_source_file").distinct().collect()
        }
        missing = in_bronze - seen
        if missing:  # committed to bronze, but the run stopped before logging: repair the log
            _repair_log(ctx, table, log, missing)
        seen |= in_bronze
    return seen


def _repair_log(ctx: RunContext, table: Table, log: Table, files: set[str]) -> None:
    bronze = ctx.lakehouse.read(table.name).where(F.col("_source_file").isin(*files))
    repaired = bronze.groupBy(F.col("_source_file").alias("file")).agg(
        F.count(F.lit(1)).alias("rows"),
        F.count(CORRUPT).alias("malformed_rows"),
        F.first("_run_id").alias("run_id"),
        F.first("_ingested_at").alias("ingested_at"),
    )
    rows = repaired.select(
        F.lit(table.name).alias("source"),
        "file",
        F.lit(None).cast("bigint").alias("size_bytes"),
        "rows",
        "malformed_rows",
        F.lit("ingested").alias("status"),
        F.lit("log row repaired from bronze lineage").alias("error"),
        "run_id",
        "ingested_at",
    )
    ctx.lakehouse.append(log.contract_for(ctx.config.vocabulary), rows)
    ctx.log.info("  repaired ingest log for %d file(s) of %s already in bronze", len(files), table.name)


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


def write_log(ctx: RunContext, log: Table, results: Sequence[IngestResult]) -> None:
    """Append the files ingested (or rejected) by this run to the ingest log, in one commit."""
    rows = [row for result in results for row in result.log_rows]
    if rows:
        contract = log.contract_for(ctx.config.vocabulary)
        ctx.lakehouse.append(contract, ctx.spark.createDataFrame(rows, contract.schema))


def _append_batch(
    ctx: RunContext, table: Table, frames: Sequence[DataFrame], ingested_at: datetime
) -> tuple[dict[str, tuple[int, int, int]], int | None]:
    """Append the new files' rows in one commit; returns (rows, malformed, extra) per file and the version."""
    if not frames:
        return {}, None
    batch = frames[0]
    for frame in frames[1:]:
        batch = batch.unionByName(frame)
    batch = batch.withColumns({"_ingested_at": F.lit(ingested_at), "_run_id": F.lit(ctx.run_id)}).persist()
    try:
        per_file = batch.groupBy("_source_file").agg(
            F.count(F.lit(1)).alias("rows"),
            F.count(CORRUPT).alias("malformed"),
            F.count("_extra_columns").alias("extra"),
        )
        counts = {
            r["_source_file"]: (int(r["rows"]), int(r["malformed"]), int(r["extra"]))
            for r in per_file.collect()
        }
        version = ctx.lakehouse.append(table.contract_for(ctx.config.vocabulary), batch).version
    finally:
        batch.unpersist()
    return counts, version


def _report(ctx: RunContext, result: IngestResult, empty: Sequence[Path]) -> None:
    for message in result.rejected:
        ctx.log.error("  REJECTED %s: %s", result.table, message)
    if result.extra_column_rows:
        ctx.log.info(
            "  %s: %d row(s) carried columns outside the raw contract (kept in _extra_columns)",
            result.table,
            result.extra_column_rows,
        )
    if empty:
        ctx.log.info("  %s: %d empty file(s) logged with 0 rows", result.table, len(empty))


def ingest_source(ctx: RunContext, table: Table, log: Table) -> IngestResult:
    """Append every not-yet-ingested landed file of one bronze table's source. The caller writes
    ``result.log_rows`` with ``write_log``; a crash before that is repaired from bronze lineage."""
    source = _source(table)
    result = IngestResult(table.name)
    ctx.lakehouse.ensure(table.contract_for(ctx.config.vocabulary))
    seen = _seen_files(ctx, table, log)
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
    counts, result.version = _append_batch(ctx, table, frames, ingested_at)
    for path in new_files:
        rows, malformed, extra = counts.get(path.name, (0, 0, 0))
        status = "rejected" if path.name in rejected else "ingested"
        result.log_rows.append(
            (
                table.name,
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
    _report(ctx, result, empty)
    return result


def ingest_all(ctx: RunContext, tables: Sequence[Table], log: Table) -> list[IngestResult]:
    """Ingest every landed file not yet in bronze (exactly once per file), sources side by side; the log
    is written in one commit at the end, also when a source failed."""
    results: list[IngestResult] = []

    def ingest(table: Table) -> None:
        result = ingest_source(ctx, table, log)
        results.append(result)
        ctx.record("ingest", table.name, {k: v for k, v in asdict(result).items() if k != "log_rows"})
        ctx.log.info(
            "  %-26s %4d new file(s) %9d rows %6d malformed %3d rejected",
            table.name,
            result.files,
            result.rows,
            result.malformed_rows,
            len(result.rejected),
        )

    try:
        map_concurrently(ingest, tables, ctx.config.spark.parallel_tables)
    finally:
        write_log(ctx, log, results)
    return results


def land(config: Config, table: Table, path: Path) -> Path:
    """Copy a delivered file into the table's landing folder under its own name; the same file twice is
    one delivery, and a different file under a landed name is refused (a delivery is known by its name)."""
    if not path.is_file():
        raise IngestError(f"file {path} does not exist or is not a file")
    target = config.landing(_source(table).folder) / path.name
    if target.exists() and not filecmp.cmp(path, target, shallow=False):
        raise IngestError(
            f"{target} already holds a different file named {path.name}: a delivery is identified by its "
            "name, so give a new export a new name"
        )
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    return target
