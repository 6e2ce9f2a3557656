"""Views for the questions marketing asks, over the gold and ops tables (created in the catalog by
``jobs/publish.py``; query them by name, e.g. ``SELECT * FROM gold.segment_summary``)."""

from __future__ import annotations

from dataclasses import dataclass

from gold.objectives import OBJECTIVES, contact_column


@dataclass(frozen=True)
class View:
    name: str
    description: str
    query: str
    reads: tuple[str, ...]  # the tables it needs; the view is created once they exist


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
    reads=("gold.customer_marketing", "gold.customer_features"),
)

_TARGETS = "\nUNION ALL\n".join(
    f"SELECT as_of_date, '{o}' AS objective, customer_id, segment_name, acceptance_probability, "
    f"expected_profit, decile FROM gold.customer_marketing WHERE {contact_column(o)}"
    for o in OBJECTIVES
)

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
    reads=("gold.customer_marketing",),
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
    reads=("gold.customer_marketing",),
)

DQ_TREND = View(
    name="ops.dq_trend",
    description=(
        "one row per table, rule and run: failures and their ratio next to the previous run's, to see a rule "
        "getting worse"
    ),
    query="""
SELECT table_name, rule, action, as_of_date, run_id, evaluated, failed, round(ratio, 6) AS ratio,
       round(lag(ratio) OVER (PARTITION BY table_name, rule ORDER BY as_of_date, run_id), 6) AS previous_ratio,
       round(ratio - lag(ratio) OVER (PARTITION BY table_name, rule ORDER BY as_of_date, run_id), 6) AS change,
       outcome
FROM ops.dq_results
""",
    reads=("ops.dq_results",),
)

VIEWS = (SEGMENT_SUMMARY, CAMPAIGN_TARGETS, OBJECTIVE_SUMMARY, DQ_TREND)
