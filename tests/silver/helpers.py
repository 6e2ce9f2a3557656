"""Run a silver table module's parse, checks and transform on inline bronze rows."""

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from pipelines import quality
from pipelines.config import Vocabulary
from pipelines.declare import Table
from pipelines.refine import KNOWN_CUSTOMER, with_bronze_record


def bronze_frame(spark, raw_ddl: str, rows: list[tuple]) -> DataFrame:
    """Bronze rows as delivered: the raw columns plus lineage (file, ingestion time, run)."""
    ddl = (
        f"{raw_ddl}, _corrupt_record STRING, _extra_columns STRING, _source_file STRING, "
        "_ingested_at TIMESTAMP, _run_id STRING"
    )
    return spark.createDataFrame(rows, ddl)


def refine(
    table: Table,
    bronze: DataFrame,
    vocabulary: Vocabulary | None = None,
    key: str | None = None,
    unknown_customers: tuple[int, ...] = (),
    **params: object,
) -> tuple[DataFrame, DataFrame]:
    """(silver rows, quarantined rows: the raw ``key`` column and their failed rules)."""
    parsed = table.parse(with_bronze_record(bronze))
    if table.customers() is not None:
        unknown = (
            F.coalesce(F.col("customer_id").isin(*unknown_customers), F.lit(False))
            if unknown_customers
            else F.lit(False)
        )
        parsed = parsed.withColumn(KNOWN_CUSTOMER, ~unknown)
    flagged = quality.flag(parsed, table.checks(vocabulary or Vocabulary()))
    valid = flagged.where(~quality.is_quarantined()).drop(quality.FAILED_RULES, quality.QUARANTINE_RULES)
    quarantined = flagged.where(quality.is_quarantined()).select(
        F.col("_bronze").getField(key or bronze.columns[0]).alias("key"), quality.FAILED_RULES
    )
    return table.transform(valid, **params), quarantined


def failed_rules(quarantined: DataFrame) -> dict:
    return {r["key"]: sorted(r[quality.FAILED_RULES]) for r in quarantined.collect()}
