"""Every gold table, in the order the stages write them; and every declared table and view of the
lakehouse, which `lakehouse tables` prints."""

from bronze import crm_case
from bronze.tables import TABLES as BRONZE
from gold import (
    acceptance_drivers,
    campaign_responses,
    customer_features,
    customer_marketing,
    customer_segments,
    segment_profiles,
)
from gold.views import VIEWS as GOLD_VIEWS
from ops.dq_results import DQ_TREND
from ops.tables import TABLES as OPS
from silver import crm_customers
from silver.tables import TABLES as SILVER

TABLES = (
    customer_features.TABLE,
    campaign_responses.TABLE,
    acceptance_drivers.TABLE,
    customer_segments.TABLE,
    customer_marketing.TABLE,
    segment_profiles.TABLE,
)
EVERY_TABLE = (*BRONZE, crm_case.TABLE, *SILVER, crm_customers.TABLE, *TABLES, *OPS)
EVERY_VIEW = (*GOLD_VIEWS, DQ_TREND)
