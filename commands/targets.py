"""`lakehouse targets`: who to contact, under a business objective or a budget of N contacts."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pyspark.sql import functions as F

from gold import customer_marketing
from pipelines import runner
from pipelines.runtime import RunContext

COLUMNS = ["customer_id", "segment_name", "acceptance_probability", "expected_profit", "decile"]


def latest_as_of(ctx: RunContext) -> date:
    latest = runner.read(ctx, customer_marketing.TABLE).agg(F.max("as_of_date")).collect()[0][0]
    if latest is None:
        raise ValueError(f"{customer_marketing.TABLE.name} is empty: run `lakehouse score` first")
    return latest


def run(
    ctx: RunContext, *, objective: str | None, budget: int | None, output: str | None, limit: int
) -> None:
    """Print the list's totals, then the list (or write it as CSV to ``output``)."""
    marketing = runner.read(ctx, customer_marketing.TABLE)
    chosen = customer_marketing.targets(
        marketing, as_of=ctx.as_of, objective=objective, budget=budget
    ).persist()
    total = customer_marketing.totals(chosen).collect()[0]
    label = " within ".join(p for p in (f"the best {budget}" if budget else "", objective or "") if p)
    print(
        f"{label} as of {ctx.as_of}: {total['contacts']:,} contacts, "
        f"{total['acceptances']:,.1f} expected acceptances, expected profit {total['profit']:,.0f}"
    )
    if output:
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        chosen.select(*COLUMNS).toPandas().to_csv(output, index=False)
        print(f"written to {output}")
    else:
        chosen.select(*COLUMNS).show(limit, truncate=False)
    chosen.unpersist()
