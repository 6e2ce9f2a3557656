"""silver.complaints: one row per complaint_id, the first delivery of a repeated event."""

from bronze import complaints as bronze_complaints
from silver import customers
from silver.events import event_contract, event_table

CONTRACT = event_contract("silver.complaints", "complaint_id", "complained_at")
TABLE = event_table(CONTRACT, "complained_at", bronze_complaints.TABLE, customers.TABLE)
