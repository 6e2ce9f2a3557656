"""What every job shares: its arguments (--as-of, --config, ...) and building the run context."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Sequence
from datetime import date, datetime, timezone

from pipelines.config import Config, load_config
from pipelines.runtime import RunContext, default_run_id
from pipelines.session import build_session


def iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date in YYYY-MM-DD form") from exc


def add_run_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument(
        "--as-of", type=iso_date, default=None, help="logical run date YYYY-MM-DD (default: today, UTC)"
    )
    add_config_arguments(parser)
    parser.add_argument("--run-id", default=None, help="run id (default: run-<as-of date>)")
    return parser


def add_config_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument(
        "--config", default=None, help="TOML config file (default: $LAKEHOUSE_CONFIG or ./lakehouse.toml)"
    )
    parser.add_argument("--root", default=None, help="lakehouse directory (overrides the config's root)")
    parser.add_argument(
        "--master", default=None, help="Spark master (default: the config's, or spark-submit's)"
    )
    return parser


def config_from_args(args: argparse.Namespace) -> Config:
    overrides = {"root": args.root, "spark": {"master": args.master} if args.master else None}
    return load_config(args.config, {k: v for k, v in overrides.items() if v is not None})


def start_context(args: argparse.Namespace, app: str, config: Config | None = None) -> RunContext:
    config = config or config_from_args(args)
    as_of = args.as_of or datetime.now(timezone.utc).date()
    # Under spark-submit the submitter chose the master already; otherwise use the configured one.
    submitted = "PYSPARK_GATEWAY_PORT" in os.environ
    spark = build_session(
        app,
        master=None if submitted and not args.master else config.spark.master,
        shuffle_partitions=config.spark.shuffle_partitions,
        driver_memory=None if submitted else config.spark.driver_memory,
        log_level=config.spark.log_level,
        catalog_dir=config.catalog_dir if config.spark.catalog == "hive" else None,
    )
    return RunContext(spark, config, as_of, args.run_id or default_run_id(as_of))


def job_main(name: str, run: Callable[[RunContext], object], argv: Sequence[str] | None = None) -> int:
    """The body of a spark-submit entry point: parse arguments, run one stage, write the run report."""
    parser = add_run_arguments(argparse.ArgumentParser(prog=name, description=run.__doc__))
    args = parser.parse_args(argv)
    ctx = start_context(args, f"lakehouse-{name}")
    run(ctx)
    ctx.log.info("run report: %s", ctx.write_report())
    return 0
