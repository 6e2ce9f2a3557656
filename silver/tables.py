"""Every silver table, in processing order."""

from silver import campaign_contacts, complaints, customer_history, customers, orders, web_visits

TABLES = (
    customers.TABLE,
    customer_history.TABLE,
    orders.TABLE,
    web_visits.TABLE,
    campaign_contacts.TABLE,
    complaints.TABLE,
)
