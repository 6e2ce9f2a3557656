"""Landing zone -> bronze: every landed file is ingested once, as delivered, with lineage columns.

- A delivery is identified by its name inside its source folder **and** its content (size and SHA-256).
  A run ingests only files that neither the ingest log nor the bronze table has seen; a file that reached
  bronze before a crash is never re-read (the bronze commit itself records ``_source_file``), and its
  missing log row is repaired. Paths reach Spark literally (glob characters escaped) and lineage names are
  decoded back to the names on disk, so any file name works.
- A file modified within the last ``ingest.settle_seconds`` may still be being written: it waits for the
  next run. An empty file is logged as ``empty`` and looked at again on every run. A symbolic link is
  refused (named in an error line). A landed name delivered again with other content is ``changed``:
  refused by default (logged once, named in an error line), or appended as a new delivery with
  ``ingest.on_changed = "ingest"``. A rejected file delivered again corrected is ingested.
- Values stay strings as delivered. Malformed records (broken JSON, a CSV line with the wrong number of
  fields) are kept with their raw text in ``_corrupt_record``: silver quarantines them, nothing is dropped.
- CSV files are matched by header *name*, not position; a source without a fixed delimiter has it detected
  per file from the header line (comma, tab or semicolon). Extra columns are kept as JSON in
  ``_extra_columns``; a file missing a required column is rejected (logged, named in the error) while the
  other files land.
"""

from __future__ import annotations

import codecs
import csv
import filecmp
import hashlib
import re
import shutil
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path

from pyspark.sql import Column, DataFrame, Row
from pyspark.sql import functions as F

from pipelines import failpoints
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
    settling: int = 0  # files left for the next run: modified within ingest.settle_seconds
    eligible_at: float | None = None  # when the last of them is old enough (epoch seconds)
    pending: list[str] = field(default_factory=list)  # refused by an earlier run and still landed
    log_rows: list[tuple] = field(default_factory=list)  # type: ignore[type-arg]


LINE_CHUNK = 1 << 20  # bytes read at a time to hash a file and measure its lines
GLOB = re.compile(r"([\\\[\]{}*?])")


def source_file() -> Column:
    """The name of the file a row came from, as on disk: Spark names a file by its URI, where some
    characters come back percent-encoded ("a b" -> "a%20b") and "+" stays as it is."""
    return F.url_decode(F.regexp_replace(F.col("_metadata.file_name"), r"\+", "%2B"))


def literal(path: Path) -> str:
    """A path as Spark reads it literally: Hadoop expands glob characters ([, {, *, ?) unless escaped."""
    return GLOB.sub(r"\\\1", str(path))


@dataclass(frozen=True)
class Delivery:
    """A landed file as this run finds it."""

    path: Path
    size: int
    modified: float  # seconds since the epoch

    @property
    def modified_at(self) -> datetime:
        return datetime.fromtimestamp(self.modified, timezone.utc)

    @cached_property
    def _read(self) -> tuple[str, int]:
        """SHA-256 of the bytes and the longest line's length, read once per run however many checks ask;
        lengths are exact up to ``LINE_CHUNK`` bytes (a longer line reads as at least that long)."""
        digest, longest, run = hashlib.sha256(), 0, 0
        with self.path.open("rb") as handle:
            while chunk := handle.read(LINE_CHUNK):
                digest.update(chunk)
                first = chunk.find(b"\n")
                if first < 0:
                    run += len(chunk)
                    continue
                # lines between the chunk's first and last newline are shorter than the chunk
                longest, run = max(longest, run + first), len(chunk) - chunk.rfind(b"\n") - 1
        return digest.hexdigest(), max(longest, run)

    @property
    def sha256(self) -> str:
        return self._read[0]

    @property
    def longest_line(self) -> int:
        return self._read[1]


@dataclass
class Triage:
    """What a run does with each landed file of a source."""

    new: list[Delivery] = field(default_factory=list)
    empty: list[Delivery] = field(default_factory=list)  # logged once, looked at again next run
    changed: list[Delivery] = field(default_factory=list)  # refused re-deliveries
    refused: list[str] = field(default_factory=list)  # messages: symbolic links
    settling: list[Path] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)  # messages: refused by an earlier run, still landed


def _listed(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if not p.name.startswith((".", "_")))


DELIMITERS = (",", "\t", ";")


Layout = tuple[str, tuple[str, ...], str]  # delimiter, header names, encoding


def _encoding(path: Path) -> str:
    """UTF-8 when the file's first MiB decodes as UTF-8; otherwise ISO-8859-1 (Latin-1), what older
    spreadsheet and CRM exports write (one of the charsets Spark's CSV reader accepts)."""
    with path.open("rb") as handle:
        chunk = handle.read(1 << 20)
    try:
        codecs.getincrementaldecoder("utf-8")().decode(chunk, final=False)
    except UnicodeDecodeError:
        return "ISO-8859-1"
    return "UTF-8"


def _csv_header(path: Path, delimiter: str | None, encoding: str) -> Layout | None:
    """The file's delimiter, header names (a byte-order mark left out) and encoding; ``delimiter=None``
    picks the candidate that splits the header line into the most fields."""
    python_encoding = "utf-8-sig" if encoding == "UTF-8" else encoding
    with path.open(newline="", encoding=python_encoding, errors="replace") as handle:
        line = handle.readline()
    if not line.strip():
        return None
    chosen = delimiter or max(DELIMITERS, key=line.count)
    first = next(csv.reader([line], delimiter=chosen), None)
    return (chosen, tuple(h.strip() for h in first), encoding) if first else None


LogHistory = dict[str, dict[str, list[dict]]]  # type: ignore[type-arg]


def log_history(ctx: RunContext, log: Table) -> LogHistory:
    """Every source's log rows per landed name, oldest first: one read of the log for all sources."""
    history: LogHistory = defaultdict(lambda: defaultdict(list))
    if ctx.lakehouse.exists(log.name):
        ctx.lakehouse.ensure(log.contract_for(ctx.config.vocabulary))  # a log from before bronze_version
        columns = (
            "source",
            "file",
            "status",
            "size_bytes",
            "content_sha256",
            "modified_at",
            "bronze_version",
        )
        rows = ctx.lakehouse.rows(log.name, (*columns, "ingested_at"))
        for r in sorted(rows, key=lambda r: r["ingested_at"]):
            history[r["source"]][r["file"]].append(r)
    return history


def _logged(ctx: RunContext, table: Table, log: Table, history: LogHistory) -> dict[str, list[dict]]:  # type: ignore[type-arg]
    """Per landed name, its log rows oldest first; a file in bronze without a log row gets one repaired.
    Bronze lineage is only read when bronze holds a commit newer than every logged version (a run stopped
    between its bronze commit and its log commit, or a log from before versions were logged)."""
    lakehouse = ctx.lakehouse
    rows = history[table.name]
    if not lakehouse.exists(table.name):
        return rows
    version = lakehouse.version(table.name)
    logged = [r["bronze_version"] for rs in rows.values() for r in rs if r.get("bronze_version") is not None]
    if (logged and version <= max(logged)) or lakehouse.empty_since_created(table.name, version):
        return rows
    batches: dict[str, list[Row]] = defaultdict(list)  # per file, the ingestions bronze holds, counted
    counted = (
        lakehouse.read(table.name)
        .groupBy("_source_file", "_ingested_at")
        .agg(
            F.count(F.lit(1)).alias("rows"),
            F.count(CORRUPT).alias("malformed_rows"),
            F.first("_run_id").alias("run_id"),
        )
    )
    for r in counted.collect():
        batches[r["_source_file"]].append(r)
    missing = []
    for name, ingestions in batches.items():
        logged_at = {r.get("ingested_at") for r in rows.get(name, []) if r["status"] == "ingested"}
        if len(ingestions) > len(logged_at):  # committed to bronze, but the run stopped before logging
            missing += [b for b in ingestions if b["_ingested_at"] not in logged_at]
    if missing:
        _repair_log(ctx, table, log, missing, version)
        for b in sorted(missing, key=lambda b: b["_ingested_at"]):
            rows[b["_source_file"]].append({
                "file": b["_source_file"], "status": "ingested", "size_bytes": None, "content_sha256": None,
                "modified_at": None, "bronze_version": version, "ingested_at": b["_ingested_at"],
            })  # fmt: skip
    return rows


def _same(delivery: Delivery, row: dict) -> bool:  # type: ignore[type-arg]
    """Whether a landed file is the delivery a log row recorded: same size, and the same modification time
    or else the same bytes (a row repaired from bronze knows neither: the name decides)."""
    if row["size_bytes"] is None:
        return True
    if row["size_bytes"] != delivery.size:
        return False
    if row["modified_at"] is not None and abs(row["modified_at"].timestamp() - delivery.modified) < 1e-3:
        return True
    return row["content_sha256"] in (None, delivery.sha256)


def triage(ctx: RunContext, table: Table, log: Table, history: LogHistory | None = None) -> Triage:
    """Sort a source's landed files: new, empty, changed, refused or still settling; the rest were seen."""
    settings, found = ctx.config.ingest, Triage()
    logged = _logged(ctx, table, log, log_history(ctx, log) if history is None else history)
    now = time.time()
    for path in _listed(ctx.config.landing(_source(table).folder)):
        if path.is_symlink():
            found.refused.append(f"{path} is a symbolic link: land a copy of the file instead")
            continue
        if not path.is_file():
            continue
        stat = path.stat()
        delivery = Delivery(path, stat.st_size, stat.st_mtime)
        if now - stat.st_mtime < settings.settle_seconds:
            found.settling.append(path)
            continue
        rows = logged.get(path.name, [])
        delivered = [r for r in rows if r["status"] in ("ingested", "rejected")]
        if not delivered:
            if delivery.size == 0:
                found.empty.append(delivery)
            else:
                found.new.append(delivery)
        elif not _same(delivery, delivered[-1]):
            if delivered[-1]["status"] == "rejected" or settings.on_changed == "ingest":
                found.new.append(delivery)  # a rejected file corrected, or re-deliveries welcome
            else:
                found.changed.append(delivery)
        elif delivered[-1]["status"] == "rejected":
            found.pending.append(f"{path} was refused on {_day(delivered[-1])} and is still landed unchanged")
    # log an empty or changed file once per content, not on every run
    seen = {(name, r["status"], r["content_sha256"]) for name, rs in logged.items() for r in rs}
    found.empty = [d for d in found.empty if (d.path.name, "empty", d.sha256) not in seen]
    earlier = [d for d in found.changed if (d.path.name, "changed", d.sha256) in seen]
    found.pending += [
        f"{d.path} was refused before: it was ingested before with other content, and is still landed"
        for d in earlier
    ]
    found.changed = [d for d in found.changed if d not in earlier]
    return found


def _day(row: dict) -> str:  # type: ignore[type-arg]
    when = row.get("ingested_at")
    return when.date().isoformat() if when is not None else "an earlier run"


def _repair_log(ctx: RunContext, table: Table, log: Table, missing: Sequence[Row], version: int) -> None:
    """Log rows for ingestions bronze holds but the log does not (a run stopped between the two commits):
    their rows as counted from bronze lineage, their identity read from the landed file when it is there."""
    folder = ctx.config.landing(_source(table).folder)
    rows = []
    for r in missing:
        path = folder / r["_source_file"]
        landed = Delivery(path, path.stat().st_size, path.stat().st_mtime) if path.is_file() else None
        rows.append((
            table.name, r["_source_file"], landed and landed.size, r["rows"], r["malformed_rows"], "ingested",
            "log row repaired from bronze lineage", r["run_id"], r["_ingested_at"],
            landed and landed.sha256, landed and landed.modified_at, version,
        ))  # fmt: skip
    contract = log.contract_for(ctx.config.vocabulary)
    ctx.lakehouse.append(contract, ctx.spark.createDataFrame(rows, contract.schema))
    files = {r["_source_file"] for r in missing}
    ctx.log.info("  repaired ingest log for %d file(s) of %s already in bronze", len(files), table.name)


def _read_csv_group(ctx: RunContext, source: RawSource, layout: Layout, paths: Sequence[Path]) -> DataFrame:
    delimiter, header, encoding = layout
    # Map columns by the files' own header names; every value is read as a string.
    file_schema = ", ".join(f"`{h}` STRING" for h in header) + f", {CORRUPT} STRING"
    raw = (
        ctx.spark.read.format("csv")
        .options(
            header="true", mode="PERMISSIVE", columnNameOfCorruptRecord=CORRUPT, escape='"', sep=delimiter
        )
        .option("encoding", encoding)
        .options(enforceSchema="true", ignoreLeadingWhiteSpace="true", ignoreTrailingWhiteSpace="true")
        .schema(file_schema)
        .load([literal(p) for p in paths])
    )
    declared = source.raw_columns
    extras = [h for h in header if h not in declared]
    columns = [F.col(f"`{c}`") if c in header else F.lit(None).cast("string").alias(c) for c in declared]
    extra = F.to_json(F.struct(*[F.col(f"`{h}`") for h in extras])) if extras else F.lit(None).cast("string")
    return raw.select(
        *columns,
        F.col(CORRUPT),
        extra.alias("_extra_columns"),
        source_file().alias("_source_file"),
    )


def _read_json(ctx: RunContext, source: RawSource, paths: Sequence[Path]) -> DataFrame:
    # Read lines as text and parse them here: a malformed line keeps its exact text, and keys outside the
    # raw contract are kept as JSON in _extra_columns instead of being dropped.
    text = ctx.spark.read.text([literal(p) for p in paths])
    lines = text.select(F.regexp_replace("value", "^\ufeff", "").alias("value"), "_metadata").where(
        F.trim("value") != ""
    )  # a byte-order mark is not part of the first record
    options = {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": CORRUPT}
    record = F.from_json("value", f"{source.raw_ddl}, {CORRUPT} STRING", options)
    declared = list(source.raw_columns)
    # a line is parsed into its record once; its keys are only scanned (values skipped, nothing built), and
    # the rare line with keys outside the contract is read again for their values
    undeclared = F.filter(F.json_object_keys("value"), lambda k: ~k.isin(*declared))
    extra = F.map_filter(F.from_json("value", "map<string,string>"), lambda k, _: ~k.isin(*declared))
    return lines.select(
        record.alias("r"),
        F.when(F.size(undeclared) > 0, F.to_json(extra)).alias("_extra_columns"),
        source_file().alias("_source_file"),
    ).select(*[f"r.{c}" for c in declared], f"r.{CORRUPT}", "_extra_columns", "_source_file")


def _is_text(path: Path) -> bool:
    """No NUL byte in the file's first 64 KiB: text (UTF-8, Latin-1, ...) rather than binary."""
    with path.open("rb") as handle:
        return b"\0" not in handle.read(65536)


def _plan(
    source: RawSource, files: Sequence[Path]
) -> tuple[dict[Layout, list[Path]], dict[str, str], list[Path]]:
    """Group CSV files by delimiter and header; reject files that lack a required column; set aside empty
    files."""
    groups: dict[Layout, list[Path]] = defaultdict(list)
    rejected: dict[str, str] = {}
    empty: list[Path] = []
    for path in files:
        if path.stat().st_size == 0:
            empty.append(path)
            continue
        if not _is_text(path):
            rejected[path.name] = (
                f"file {path} is not a text file (it holds NUL bytes): a {source.format} export was expected"
            )
            continue
        encoding = _encoding(path)
        if source.format == "json" and encoding != "UTF-8":
            rejected[path.name] = f"file {path} is not UTF-8, as JSON must be: export it again as UTF-8"
            continue
        if source.format == "json":
            groups[("", (), encoding)].append(path)
            continue
        layout = _csv_header(path, source.delimiter, encoding)
        if not layout:
            empty.append(path)
            continue
        header = layout[1]
        twice = sorted({h for h in header if header.count(h) > 1})
        if twice:
            rejected[path.name] = (
                f"file {path} names column(s) {twice} more than once: which one is meant is unknown"
            )
            continue
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
    ctx: RunContext, table: Table, frames: Sequence[DataFrame], files: Sequence[str], ingested_at: datetime
) -> tuple[dict[str, tuple[int, int, int]], int | None]:
    """Append the new files' rows in one commit; returns (rows, malformed, extra) per file and the version.
    The files are read once, by the append; the rows are then counted per file from what the commit wrote
    (three small columns of its new files: Delta's statistics skip the older ones), not held in memory."""
    if not frames:
        return {}, None
    batch = frames[0]
    for frame in frames[1:]:
        batch = batch.unionByName(frame)
    batch = batch.withColumns({"_ingested_at": F.lit(ingested_at), "_run_id": F.lit(ctx.run_id)})
    version = ctx.lakehouse.append(table.contract_for(ctx.config.vocabulary), batch).version
    written = ctx.lakehouse.read(table.name, version).where(F.col("_ingested_at") == F.lit(ingested_at))
    per_file = written.groupBy("_source_file").agg(
        F.count(F.lit(1)).alias("rows"),
        F.count(CORRUPT).alias("malformed"),
        F.count("_extra_columns").alias("extra"),
    )
    counts = {r[0]: (int(r[1]), int(r[2]), int(r[3])) for r in per_file.collect()}
    unknown = set(counts) - set(files)
    if unknown:
        raise IngestError(f"{table.name}: bronze lineage names {sorted(unknown)} match no landed file read")
    return counts, version


def _report(ctx: RunContext, result: IngestResult, found: Triage, blank: Sequence[Path]) -> None:
    for message in result.rejected:
        ctx.log.error("  REJECTED %s: %s", result.table, message)
    for message in result.pending:
        ctx.log.error("  STILL REFUSED %s: %s", result.table, message)
    if result.extra_column_rows:
        ctx.log.info(
            "  %s: %d row(s) carried columns outside the raw contract (kept in _extra_columns)",
            result.table,
            result.extra_column_rows,
        )
    if found.empty or blank:
        ctx.log.info(
            "  %s: %d empty file(s) logged, looked at again next run",
            result.table,
            len(found.empty) + len(blank),
        )
    if found.settling:
        names = ", ".join(p.name for p in found.settling[:3]) + (" ..." if len(found.settling) > 3 else "")
        ctx.log.info(
            "  %s: %d file(s) modified in the last %d s, left for the next run: %s",
            result.table, len(found.settling), ctx.config.ingest.settle_seconds, names,
        )  # fmt: skip


def _log_row(
    ctx: RunContext,
    table: Table,
    delivery: Delivery,
    ingested_at: datetime,
    status: str,
    rows: int = 0,
    malformed: int = 0,
    error: str | None = None,
) -> tuple:  # type: ignore[type-arg]
    return (
        table.name, delivery.path.name, delivery.size, rows, malformed, status, error, ctx.run_id, ingested_at,
        delivery.sha256, delivery.modified_at, None,  # bronze_version: stamped once the source is done
    )  # fmt: skip


def ingest_source(
    ctx: RunContext, table: Table, log: Table, history: LogHistory | None = None
) -> IngestResult:
    """Append every landed file of one bronze table's source not ingested yet (see the module's
    docstring). The caller writes ``result.log_rows`` with ``write_log``; a crash before that is repaired
    from bronze lineage."""
    source = _source(table)
    result = IngestResult(table.name)
    found = triage(ctx, table, log, history)
    result.pending = found.pending
    if found.settling:
        result.settling = len(found.settling)
        newest = max(p.stat().st_mtime for p in found.settling)
        result.eligible_at = newest + ctx.config.ingest.settle_seconds
    ingested_at = datetime.now(timezone.utc)  # to the microsecond: it tells two ingestions of a file apart
    for delivery in found.changed:
        error = (
            f"{delivery.path} was ingested before with other content ({delivery.size:,} bytes now): a delivery "
            "is known by its name and content; land the new export under a new name, or set "
            'ingest.on_changed = "ingest"'
        )
        result.rejected.append(error)
        result.log_rows.append(_log_row(ctx, table, delivery, ingested_at, "changed", error=error))
    result.rejected += found.refused
    for delivery in found.empty:
        result.log_rows.append(_log_row(ctx, table, delivery, ingested_at, "empty"))
    if found.new:
        by_path = {d.path: d for d in found.new}
        limit = ctx.config.ingest.max_line_bytes
        too_long = {
            d.path.name: f"file {d.path} holds a line of more than {limit:,} bytes (ingest.max_line_bytes): "
            "not one record per line; export it again with one record per line"
            for d in found.new
            if d.longest_line > limit
        }
        groups, rejected, blank = _plan(source, [p for p in by_path if p.name not in too_long])
        rejected |= too_long
        frames = [
            _read_json(ctx, source, paths)
            if source.format == "json"
            else _read_csv_group(ctx, source, layout, paths)
            for layout, paths in groups.items()
        ]
        read = sorted(p.name for paths in groups.values() for p in paths)
        counts, result.version = _append_batch(ctx, table, frames, read, ingested_at)
        for path, delivery in by_path.items():
            if path in blank:
                result.log_rows.append(_log_row(ctx, table, delivery, ingested_at, "empty"))
                continue
            rows, malformed, extra = counts.get(path.name, (0, 0, 0))
            status = "rejected" if path.name in rejected else "ingested"
            row = _log_row(
                ctx, table, delivery, ingested_at, status, rows, malformed, rejected.get(path.name)
            )
            result.log_rows.append(row)
            result.rows += rows
            result.malformed_rows += malformed
            result.extra_column_rows += extra
        result.files = len(by_path) - len(rejected) - len(blank)
        result.rejected += list(rejected.values())
    else:
        blank = []
    if result.log_rows:
        version = result.version if result.version is not None else ctx.lakehouse.version(table.name)
        result.log_rows = [(*row[:-1], version) for row in result.log_rows]
    _report(ctx, result, found, blank)
    return result


def create_tables(ctx: RunContext, tables: Sequence[Table], log: Table) -> None:
    """Make sure of every table ingestion writes, one at a time, before the sources run side by side: two
    threads never create one table (Delta refuses the second writer of an empty directory)."""
    for table in (*tables, log):
        ctx.lakehouse.ensure(table.contract_for(ctx.config.vocabulary))


def ingest_all(ctx: RunContext, tables: Sequence[Table], log: Table) -> list[IngestResult]:
    """Ingest every landed file not yet in bronze (exactly once per file), sources side by side; the log
    is written in one commit at the end, also when a source failed."""
    results: list[IngestResult] = []
    create_tables(ctx, tables, log)
    history = log_history(ctx, log)

    def ingest(table: Table) -> None:
        result = ingest_source(ctx, table, log, history)
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
        failpoints.reach("ingest appended")
    finally:
        write_log(ctx, log, results)
    return results


REFUSED_EXIT = 3  # the exit status of a run that refused a delivery (the tables it wrote stay written)


def refusals(results: Sequence[IngestResult]) -> list[str]:
    """Every delivery refused by this run or an earlier one and still landed, one line each: what a run's
    summary names, and why it ends with ``REFUSED_EXIT``, until someone deals with the file."""
    return [f"{r.table}: {m}" for r in results for m in (*r.rejected, *r.pending)]


def require_rows(ctx: RunContext, results: Sequence[IngestResult]) -> None:
    """Stop a run that has nothing to work on because every landed file is still settling: bronze holds
    no row, and the next stages need some. The line says how many files, when they become eligible, and
    how to change ``ingest.settle_seconds``."""
    settling = [r for r in results if r.settling]
    if not settling or any(ctx.lakehouse.row_count(r.table) for r in results):
        return
    files = sum(r.settling for r in settling)
    eligible = max(r.eligible_at or 0.0 for r in settling)
    when = datetime.fromtimestamp(eligible, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    seconds = ctx.config.ingest.settle_seconds
    raise IngestError(
        f"nothing to ingest: all {files:,} landed file(s) were modified in the last {seconds} s "
        f"(ingest.settle_seconds) and may still be being written; they become eligible at {when}. Run "
        "again then, or lower ingest.settle_seconds for files that land whole (0: no wait)"
    )


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
        shutil.copy2(path, target)  # keeps its modification time: when it was delivered
    return target
