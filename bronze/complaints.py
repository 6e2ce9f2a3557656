"""bronze.complaints: one row per line of a complaints export, as delivered."""

from pipelines.ingest import RawSource

SOURCE = RawSource(
    table="bronze.complaints",
    folder="complaints",
    format="csv",
    raw_ddl="complaint_id STRING, customer_id STRING, complained_at STRING",
    required=("complaint_id", "customer_id", "complained_at"),
    description="CSV: complaint_id, customer_id, complained_at",
)
