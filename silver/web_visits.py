"""silver.web_visits: one row per visit_id, the first delivery of a repeated event."""

from bronze import web_visits as bronze_web_visits
from silver import customers
from silver.events import event_contract, event_table

CONTRACT = event_contract("silver.web_visits", "visit_id", "visited_at")
TABLE = event_table(CONTRACT, "visited_at", bronze_web_visits.TABLE, customers.TABLE)
