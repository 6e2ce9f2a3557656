"""bronze.campaign_contacts: one row per line of a marketing-platform contact export, as delivered."""

from pipelines.declare import RawSource
from pipelines.ingest import bronze_table

SOURCE = RawSource(
    folder="campaign_contacts",
    format="csv",
    raw_ddl="campaign_id STRING, customer_id STRING, contacted_at STRING, accepted STRING",
    required=("campaign_id", "customer_id", "contacted_at", "accepted"),
    description="CSV: campaign_id, customer_id, contacted_at, accepted (0/1)",
)

TABLE = bronze_table("bronze.campaign_contacts", SOURCE)
