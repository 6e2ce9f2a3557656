"""Table contracts: the columns, types, keys and partitioning of a table, declared once.

A contract conforms a DataFrame to the table (its final ``select``) and creates the Delta table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import StructField, StructType

# Descriptions of columns that mean the same in every table; a contract's own comments take precedence.
COMMON_COMMENTS = {
    "customer_id": "the customer's id in the CRM",
    "campaign_id": "the marketing campaign's id",
    "as_of_date": "the run date the row describes (events strictly before it)",
    "run_id": "the run that wrote the row",
    "model_version": "registered model version that produced the row",
    "_source_file": "the landed file the row came from",
    "_ingested_at": "when the file was ingested into bronze",
    "_run_id": "the run that ingested the row",
}


@dataclass(frozen=True)
class Contract:
    name: str  # "<layer>.<table>"
    ddl: str  # "customer_id BIGINT NOT NULL, ..."
    grain: str  # "one row per order_id, latest version"
    primary_key: tuple[str, ...] = ()
    partition_by: tuple[str, ...] = ()
    sequence_by: str | None = None  # newest version wins on MERGE
    comments: Mapping[str, str] = field(default_factory=dict)

    @property
    def layer(self) -> str:
        return self.name.split(".", 1)[0]

    @cached_property
    def schema(self) -> StructType:
        schema = StructType.fromDDL(self.ddl)
        if not isinstance(schema, StructType):
            raise ValueError(f"{self.name}: the contract's DDL must declare columns, not {schema}")
        return schema

    @cached_property
    def columns(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.schema.fields)

    def comment(self, column: str) -> str | None:
        return self.comments.get(column) or COMMON_COMMENTS.get(column)

    def column(self, name: str) -> StructField:
        return self.schema[name]

    def select(self) -> list[Column]:
        """The output contract as a select list: every column, cast to its declared type."""
        return [F.col(f.name).cast(f.dataType).alias(f.name) for f in self.schema.fields]

    def conform(self, df: DataFrame) -> DataFrame:
        missing = [c for c in self.columns if c not in df.columns]
        if missing:
            raise ValueError(f"{self.name}: transform output lacks contract columns {missing}")
        return df.select(*self.select())

    @property
    def properties(self) -> dict[str, str]:
        props = {"lakehouse.layer": self.layer, "lakehouse.grain": self.grain}
        if self.primary_key:
            props["lakehouse.primary_key"] = ",".join(self.primary_key)
        if self.layer in ("bronze", "silver"):  # what changed since a version: read from the change feed
            props["delta.enableChangeDataFeed"] = "true"
        return props
