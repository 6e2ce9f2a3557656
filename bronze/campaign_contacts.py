"""bronze.campaign_contacts: one row per line of a marketing-platform contact export, as delivered."""

from pipelines.ingest import RawSource

SOURCE = RawSource(
    table="bronze.campaign_contacts",
    folder="campaign_contacts",
    format="csv",
    raw_ddl="campaign_id STRING, customer_id STRING, contacted_at STRING, accepted STRING",
    required=("campaign_id", "customer_id", "contacted_at", "accepted"),
    description="CSV: campaign_id, customer_id, contacted_at, accepted (0/1)",
)
