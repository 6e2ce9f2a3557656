"""bronze.orders: one row per JSON line from the order service, as delivered (items nested)."""

from pipelines.declare import RawSource
from pipelines.ingest import bronze_table

SOURCE = RawSource(
    folder="orders",
    format="json",
    raw_ddl=(
        "order_id STRING, customer_id STRING, ordered_at STRING, channel STRING, is_deal STRING, "
        "items ARRAY<STRUCT<category: STRING, amount: STRING>>"
    ),
    required=("order_id", "customer_id", "ordered_at"),
    description="JSON lines: order_id, customer_id, ordered_at (ISO-8601), channel, is_deal, items[{category, amount}]",
)

TABLE = bronze_table("bronze.orders", SOURCE)
