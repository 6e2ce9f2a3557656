"""Views for the questions marketing asks, over the gold tables (created in the catalog by ``lakehouse
publish``; query them by name, e.g. ``SELECT * FROM gold.segment_summary``)."""

from __future__ import annotations

from gold import customer_features, customer_marketing
from gold.objectives import OBJECTIVES, contact_column
from pipelines.declare import View

SEGMENT_SUMMARY = View(
    name="gold.segment_summary",
    description=(
        "one row per as_of_date and segment: size, spend, past and expected acceptance rates, revenue share "
        "and the expected profit of contacting the segment's customers the balanced objective selects"
    ),
    query="""
SELECT m.as_of_date, m.segment_id, m.segment_name,
       count(*) AS customers,
       round(count(*) / sum(count(*)) OVER (PARTITION BY m.as_of_date), 4) AS customer_share,
       round(avg(f.spend_total), 2) AS mean_spend,
       round(sum(f.spend_total), 2) AS total_spend,
       round(sum(f.spend_total) / sum(sum(f.spend_total)) OVER (PARTITION BY m.as_of_date), 4) AS revenue_share,
       round(try_divide(sum(f.campaigns_accepted), sum(f.campaigns_contacted)), 4) AS past_acceptance_rate,
       round(avg(m.acceptance_probability), 4) AS expected_acceptance_rate,
       count_if(m.contact_balanced) AS balanced_contacts,
       round(sum(CASE WHEN m.contact_balanced THEN m.expected_profit ELSE 0 END), 2) AS balanced_expected_profit
FROM gold.customer_marketing m
JOIN gold.customer_features f ON f.customer_id = m.customer_id AND f.as_of_date = m.as_of_date
GROUP BY m.as_of_date, m.segment_id, m.segment_name
""",
    inputs=(customer_marketing.TABLE, customer_features.TABLE),
)

# each customer once per objective that flags them, from one scan of the table (a scan per objective
# cost ~0.1 s of planning each, most of a query's time through the SQL endpoint)
_FLAGGED = ", ".join(f"IF({contact_column(o)}, '{o}', NULL)" for o in OBJECTIVES)
_TARGETS = f"""SELECT as_of_date, objective, customer_id, segment_name, acceptance_probability, expected_profit, decile
FROM gold.customer_marketing
LATERAL VIEW explode(filter(array({_FLAGGED}), flagged -> flagged IS NOT NULL)) objectives AS objective"""

CAMPAIGN_TARGETS = View(
    name="gold.campaign_targets",
    description=(
        "one row per as_of_date, business objective and customer to contact under it, ranked by "
        "acceptance probability (objective_rank 1 = contact first); for a budget of N, take objective_rank <= N "
        "of any objective, e.g. aggressive_acquisition"
    ),
    query=f"""
SELECT t.*, row_number() OVER (
         PARTITION BY as_of_date, objective ORDER BY acceptance_probability DESC, customer_id
       ) AS objective_rank
FROM ({_TARGETS}) t
""",
    inputs=(customer_marketing.TABLE,),
)

OBJECTIVE_SUMMARY = View(
    name="gold.objective_summary",
    description=(
        "one row per as_of_date and business objective: contacts, expected acceptances and expected profit"
    ),
    query="""
SELECT as_of_date, objective, count(*) AS contacts,
       round(sum(acceptance_probability), 1) AS expected_acceptances,
       round(sum(expected_profit), 2) AS expected_profit,
       round(min(acceptance_probability), 4) AS lowest_probability_contacted
FROM gold.campaign_targets
GROUP BY as_of_date, objective
""",
    inputs=(customer_marketing.TABLE,),
)

VIEWS = (SEGMENT_SUMMARY, CAMPAIGN_TARGETS, OBJECTIVE_SUMMARY)
