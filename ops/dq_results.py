"""ops.dq_results: one row per rule per table per run, passed rules included; and the ops.dq_trend view."""

from __future__ import annotations

from pipelines.contract import Contract
from pipelines.declare import Table, View

CONTRACT = Contract(
    name="ops.dq_results",
    ddl=(
        "run_id STRING NOT NULL, as_of_date DATE NOT NULL, table_name STRING NOT NULL, rule STRING NOT NULL, "
        "action STRING NOT NULL, evaluated BIGINT NOT NULL, failed BIGINT NOT NULL, ratio DOUBLE NOT NULL, "
        "max_ratio DOUBLE, outcome STRING NOT NULL, evaluated_at TIMESTAMP NOT NULL"
    ),
    grain="one row per rule per table per run and date, passed rules included",
    primary_key=("run_id", "as_of_date", "table_name", "rule"),
    comments={"outcome": "passed | warned | quarantined | failed"},
)

# A run replaces the rows it wrote for the tables it checked on that date: a rerun never doubles them.
TABLE = Table(CONTRACT, stage="any", write="replace", replace_on=("run_id", "as_of_date", "table_name"))

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
    inputs=(TABLE,),
)
