"""Read lakehouse tables into pandas without Spark or Java (the ``deltalake`` package), for notebooks and
people who only have Python."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from urllib.request import url2pathname

import pandas as pd
import pyarrow as pa
from deltalake import DeltaTable
from pyarrow import fs
from pyarrow.dataset import ParquetFragmentScanOptions
from pyarrow.parquet import filters_to_expression

from pipelines.config import Config, load_config

ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
COMMIT_FILE = re.compile(r"(\d{20})\.json")  # a commit of a Delta log (not a checkpoint or compaction)


def read_table(
    name: str,
    config: Config | None = None,
    *,
    filters: list[tuple[str, str, Any]] | None = None,
    version: int | None = None,
) -> pd.DataFrame:
    """``read_table("gold.customer_marketing", filters=[("as_of_date", "=", "2026-06-30")])``; filter values
    may be dates or YYYY-MM-DD strings."""
    config = config or load_config()
    path = config.table_path(name)
    if not (path / "_delta_log").is_dir():
        raise FileNotFoundError(f"table {name} does not exist at {path}; run the stage that writes it")
    table = DeltaTable(str(path), version=version)
    return scan(table, filters=[(c, op, _value(v)) for c, op, v in filters] if filters else None).to_pandas()


def scan(
    table: DeltaTable,
    columns: list[str] | None = None,
    filters: list[tuple[str, str, Any]] | None = None,
) -> pa.Table:
    """The table's rows as Arrow, read on the calling thread with no background reads: Arrow's scanner and
    pre-buffering threads outliving a scan abort the process at exit now and then (``terminate called
    without an active exception``, exit 134; apache/arrow#34314), which a job's exit status cannot afford.
    A local table is read through Arrow's own file system rather than a Python wrapper of one."""
    expression = filters_to_expression(filters) if filters else None
    uri = urlparse(table.table_uri)
    local = (
        fs.SubTreeFileSystem(url2pathname(uri.path), fs.LocalFileSystem()) if uri.scheme == "file" else None
    )
    return table.to_pyarrow_dataset(filesystem=local).to_table(
        columns=columns,
        filter=expression,
        use_threads=False,
        fragment_scan_options=ParquetFragmentScanOptions(pre_buffer=False),
    )


def _value(value: Any) -> Any:
    """Dates as ``date`` (Arrow compares a date column with dates, not strings or timestamps)."""
    if isinstance(value, pd.Timestamp) or isinstance(value, datetime):
        return value.date()
    if isinstance(value, str) and ISO_DATE.fullmatch(value):
        return date.fromisoformat(value)
    return value


def latest_as_of(name: str, config: Config | None = None) -> str:
    """The newest ``as_of_date`` partition of a table partitioned by it, as YYYY-MM-DD."""
    config = config or load_config()
    dates = DeltaTable(str(config.table_path(name))).partitions()
    if not dates:
        raise ValueError(f"table {name} has no as_of_date partitions yet")
    return max(p["as_of_date"] for p in dates)


def table_version(name: str, config: Config | None = None) -> int:
    """The table's current version (a read of its log, no data): tells a reader that it changed."""
    config = config or load_config()
    path = config.table_path(name)
    version = log_version(path)
    if version is None:
        raise FileNotFoundError(f"table {name} does not exist at {path}; run the stage that writes it")
    return version


def log_version(path: Path) -> int | None:
    """The newest commit of the Delta table at ``path`` (a listing of its log); None without a commit."""
    log = path / "_delta_log"
    versions = [int(m[1]) for p in log.glob("*.json") if (m := COMMIT_FILE.fullmatch(p.name))]
    return max(versions, default=None)
