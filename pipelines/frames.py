"""Reusable column functions and DataFrame transforms for table modules."""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

LINEAGE = ("_source_file", "_ingested_at", "_run_id")
BRONZE_RECORD = "_bronze"  # the row's raw values as delivered, carried through silver parsing for checks


def blank_to_null(raw: str) -> Column:
    """A raw string column with surrounding spaces removed and empty strings as null."""
    return F.nullif(F.trim(F.col(raw)), F.lit(""))


def typed(name: str, type_name: str) -> Column:
    """``try_cast`` of a raw string column, kept under its name: null instead of an error when the value
    does not parse (ANSI mode); ``parsed_or_blank`` tells the two nulls apart."""
    return blank_to_null(name).try_cast(type_name).alias(name)


def parsed_or_blank(typed: str, raw: str) -> Column:
    """True when the raw value was blank or parsed: a delivered value that did not parse fails."""
    return blank_to_null(f"{BRONZE_RECORD}.{raw}").isNull() | F.col(typed).isNotNull()


def well_formed() -> Column:
    return F.col(f"{BRONZE_RECORD}._corrupt_record").isNull()


def keep_latest(keys: Sequence[str], newest_first: Sequence[Column]) -> callable:  # type: ignore[valid-type]
    """DataFrame transform: one row per key, the first by ``newest_first``; the others are superseded."""

    def _keep(df: DataFrame) -> DataFrame:
        rank = F.row_number().over(Window.partitionBy(*keys).orderBy(*newest_first))
        return df.withColumn("_rank", rank).where(F.col("_rank") == 1).drop("_rank")

    return _keep
