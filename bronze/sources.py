"""Every raw source, in ingestion order."""

from bronze import campaign_contacts, complaints, customers, orders, web_visits

SOURCES = (
    customers.SOURCE,
    orders.SOURCE,
    web_visits.SOURCE,
    campaign_contacts.SOURCE,
    complaints.SOURCE,
)
