"""bronze.complaints: one row per line of a complaints export, as delivered."""

from pipelines.declare import RawSource
from pipelines.ingest import bronze_table

SOURCE = RawSource(
    folder="complaints",
    format="csv",
    raw_ddl="complaint_id STRING, customer_id STRING, complained_at STRING",
    required=("complaint_id", "customer_id", "complained_at"),
    description="CSV: complaint_id, customer_id, complained_at",
)

TABLE = bronze_table("bronze.complaints", SOURCE)
