"""bronze.crm_case: one row per line of the public CRM case file, as delivered (comma- or tab-separated)."""

from pipelines.declare import RawSource
from pipelines.ingest import bronze_table

# The columns in the order the case publishes them (AcceptedCmp3..5 come before AcceptedCmp1..2).
CASE_COLUMNS = (
    "ID", "Year_Birth", "Education", "Marital_Status", "Income", "Kidhome", "Teenhome", "Dt_Customer",
    "Recency", "MntWines", "MntFruits", "MntMeatProducts", "MntFishProducts", "MntSweetProducts",
    "MntGoldProds", "NumDealsPurchases", "NumWebPurchases", "NumCatalogPurchases", "NumStorePurchases",
    "NumWebVisitsMonth", "AcceptedCmp3", "AcceptedCmp4", "AcceptedCmp5", "AcceptedCmp1", "AcceptedCmp2",
    "Complain", "Z_CostContact", "Z_Revenue", "Response",
)  # fmt: skip
CONSTANTS = ("Z_CostContact", "Z_Revenue")  # the same value on every row; the config holds the economics

SOURCE = RawSource(
    folder="crm_case",
    format="csv",
    raw_ddl=", ".join(f"{c} STRING" for c in CASE_COLUMNS),
    required=tuple(c for c in CASE_COLUMNS if c not in CONSTANTS),
    description="the public delivery-platform CRM case: one row per customer, aggregates over two years",
    delimiter=None,  # published both comma-separated (ISO dates) and tab-separated (DD-MM-YYYY dates)
)

TABLE = bronze_table("bronze.crm_case", SOURCE)
