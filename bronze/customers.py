"""bronze.customers: one row per line of a CRM customer export, as delivered (a later export may repeat a customer)."""

from pipelines.declare import RawSource
from pipelines.ingest import bronze_table

SOURCE = RawSource(
    folder="customers",
    format="csv",
    raw_ddl=(
        "customer_id STRING, birth_year STRING, education STRING, marital_status STRING, income STRING, "
        "kids_at_home STRING, teens_at_home STRING, signup_date STRING, updated_at STRING"
    ),
    required=("customer_id", "updated_at"),
    description="CSV exports from the CRM; income may be blank",
)

TABLE = bronze_table("bronze.customers", SOURCE)
