"""Every bronze table, in ingestion order (the public CRM case is imported on its own: `lakehouse import-crm`)."""

from bronze import campaign_contacts, complaints, customers, orders, web_visits

TABLES = (
    customers.TABLE,
    orders.TABLE,
    web_visits.TABLE,
    campaign_contacts.TABLE,
    complaints.TABLE,
)
