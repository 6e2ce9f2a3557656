"""bronze.web_visits: one row per JSON line of web tracking, as delivered."""

from pipelines.declare import RawSource
from pipelines.ingest import bronze_table

SOURCE = RawSource(
    folder="web_visits",
    format="json",
    raw_ddl="visit_id STRING, customer_id STRING, visited_at STRING",
    required=("visit_id", "customer_id", "visited_at"),
    description="JSON lines: visit_id, customer_id, visited_at",
)

TABLE = bronze_table("bronze.web_visits", SOURCE)
