"""`lakehouse targets`: who to contact, under a business objective or a budget of N contacts."""

from __future__ import annotations

import argparse
from pathlib import Path

from pyspark.sql import functions as F

from gold import customer_marketing
from gold.objectives import OBJECTIVES, contact_column
from jobs.common import add_config_arguments, iso_date, start_context
from pipelines.runtime import RunContext


def select_targets(ctx: RunContext, *, objective: str | None, budget: int | None):  # type: ignore[no-untyped-def]
    """The customers to contact as of ``ctx.as_of``: those an objective flags, or the ``budget`` most likely
    to accept (both: the most likely ``budget`` among the objective's); best first."""
    marketing = ctx.lakehouse.read(customer_marketing.CONTRACT.name).where(
        F.col("as_of_date") == F.lit(ctx.as_of)
    )
    if objective:
        marketing = marketing.where(F.col(contact_column(objective)))
    ranked = marketing.orderBy(F.col("acceptance_probability").desc(), F.col("customer_id"))
    return ranked.limit(budget) if budget else ranked


def latest_as_of(ctx: RunContext):  # type: ignore[no-untyped-def]
    latest = ctx.lakehouse.read(customer_marketing.CONTRACT.name).agg(F.max("as_of_date")).first()[0]
    if latest is None:
        raise ValueError(f"{customer_marketing.CONTRACT.name} is empty: run `lakehouse score` first")
    return latest


def main(args: argparse.Namespace) -> int:
    if not args.objective and not args.budget:
        raise ValueError("give --objective, --budget N, or both")
    if args.budget is not None and args.budget <= 0:
        raise ValueError(f"--budget must be a positive number of contacts, not {args.budget}")
    requested, args.as_of, args.run_id = args.as_of, None, None
    ctx = start_context(args, "lakehouse-targets")
    ctx.as_of = requested or latest_as_of(ctx)
    targets = select_targets(ctx, objective=args.objective, budget=args.budget).persist()
    summary = targets.agg(
        F.count(F.lit(1)).alias("contacts"),
        F.sum("acceptance_probability").alias("acceptances"),
        F.sum("expected_profit").alias("profit"),
    ).first()
    label = " within ".join(
        p for p in (f"the best {args.budget}" if args.budget else "", args.objective or "") if p
    )
    print(
        f"{label} as of {ctx.as_of}: {summary['contacts']:,} contacts, "
        f"{summary['acceptances'] or 0:,.1f} expected acceptances, expected profit {summary['profit'] or 0:,.0f}"
    )
    columns = ["customer_id", "segment_name", "acceptance_probability", "expected_profit", "decile"]
    if args.output:
        frame = targets.select(*columns).toPandas()
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(args.output, index=False)
        print(f"written to {args.output}")
    else:
        targets.select(*columns).show(args.limit, truncate=False)
    targets.unpersist()
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    add_config_arguments(parser)
    parser.add_argument("--objective", choices=OBJECTIVES, help="contact whom this objective flags")
    parser.add_argument("--budget", type=int, help="contact at most N customers, the most likely to accept")
    parser.add_argument("--as-of", type=iso_date, default=None, help="scoring date (default: the latest)")
    parser.add_argument("--output", help="write the list as CSV here instead of printing it")
    parser.add_argument("--limit", type=int, default=20, help="rows to print (default 20)")
    parser.set_defaults(handler=main)
    return parser
