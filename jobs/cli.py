"""`lakehouse`: one command with a subcommand per stage.

lakehouse generate [--customers N] [--seed S] [--defect-rate R]   write sample raw files into the landing zone
lakehouse ingest | silver | features | train | score [--as-of DATE]   run one stage
lakehouse run [--as-of DATE]                     run every stage in one process
lakehouse demo                                   generate sample data if the landing zone is empty, run all
lakehouse import-crm PATH [--no-models]          import the public CRM case file, then train and score
lakehouse evaluate-crm PATH [--folds 5]          cross-validate the acceptance model and baselines on it
lakehouse targets [--objective O] [--budget N]    who to contact; --output list.csv
lakehouse models rollback [--model M]            make the previous champion champion again
lakehouse quarantine replay [--table T]         re-validate quarantined rows after a fix
lakehouse sql ["SELECT ..."]                     query tables and views by name; no query: a SQL shell
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from jobs import (
    crm,
    evaluate,
    features,
    ingest,
    models,
    publish,
    refine,
    run_all,
    score,
    shell,
    targets,
    train,
)
from jobs.common import add_config_arguments, add_run_arguments, config_from_args, iso_date, start_context
from pipelines import tracking
from pipelines.config import ConfigError
from pipelines.ingest import IngestError
from pipelines.log import get_logger, step
from pipelines.quality import DataQualityError
from pipelines.sample_data import generate, inject_defects
from pipelines.tables import TableError

# Failures whose message names the table, file, rule or stage at fault: printed without a traceback.
PIPELINE_ERRORS = (
    TableError,
    DataQualityError,
    IngestError,
    train.TrainingError,
    crm.CrmImportError,
    models.RollbackError,
    tracking.ModelNotFoundError,
)

STAGES = {
    "ingest": ingest.run,
    "silver": refine.run,
    "features": features.run,
    "train": train.run,
    "score": score.run,
    "run": run_all.run,
    "publish": publish.run,
}


def _landing_has_files(config) -> bool:  # type: ignore[no-untyped-def]
    return config.landing_dir.is_dir() and any(p.is_file() for p in config.landing_dir.rglob("*"))


def _generate(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    if _landing_has_files(config) and not args.overwrite:
        raise SystemExit(
            f"error: the landing zone {config.landing_dir} already holds files; "
            "pass --overwrite to write sample files over them"
        )
    customers = args.customers or config.sample.customers
    with step(f"generate: {customers} customers (seed {args.seed}) into {config.landing_dir}"):
        summary = generate(
            config.landing_dir,
            customers,
            args.seed,
            args.end_date or config.sample.end_date,
            config.categories,
            config.channels,
        )
    if args.defect_rate:
        hit = inject_defects(config.landing_dir, args.defect_rate, args.seed)
        get_logger().info(
            "  defects injected: %s", ", ".join(f"{k} {len(v)}" for k, v in sorted(hit.items()))
        )
    for source, rows in summary.rows.items():
        get_logger().info("  %-18s %4d file(s) %9d rows", source, summary.files[source], rows)
    return 0


def _stage(args: argparse.Namespace) -> int:
    ctx = start_context(args, f"lakehouse-{args.command}")
    STAGES[args.command](ctx)
    ctx.log.info("run report: %s", ctx.write_report())
    return 0


def _demo(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    args.as_of, args.run_id = config.sample.end_date, None
    # Spark's start (JVM, Delta's jars) and the sample generation (pure Python) overlap.
    with ThreadPoolExecutor(max_workers=1) as pool:
        starting = pool.submit(start_context, args, "lakehouse-demo", config)
        if _landing_has_files(config):
            get_logger().info("landing zone %s already holds files: running on them", config.landing_dir)
        else:
            args.overwrite, args.seed, args.end_date, args.defect_rate = False, config.sample.seed, None, 0.0
            _generate(args)
        ctx = starting.result()
    run_all.run(ctx)
    ctx.log.info("run report: %s", ctx.write_report())
    return 0


def _quarantine(args: argparse.Namespace) -> int:
    ctx = start_context(args, "lakehouse-quarantine")
    with step("quarantine replay: re-validate quarantined rows"):
        refine.replay_quarantine(ctx, args.table or ())
    ctx.log.info("run report: %s", ctx.write_report())
    return 0


def _sql(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    if not config.tables_dir.is_dir():
        raise SystemExit(f"error: no lakehouse tables under {config.tables_dir}; run `lakehouse demo` first")
    args.as_of, args.run_id = None, None
    ctx = start_context(args, "lakehouse-sql", config)
    publish.run(ctx)
    if args.query:
        return 0 if shell.run_statement(ctx.spark, args.query, args.limit) else 1
    shell.interactive(ctx.spark, args.limit)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lakehouse", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    gen = add_config_arguments(
        commands.add_parser("generate", help="write sample raw files into the landing zone")
    )
    gen.add_argument("--customers", type=int, default=None, help="number of customers (default 5000)")
    gen.add_argument("--seed", type=int, default=7, help="random seed: the same seed writes the same files")
    gen.add_argument("--end-date", type=iso_date, default=None, help="last day of generated history")
    gen.add_argument("--overwrite", action="store_true", help="write even if the landing zone holds files")
    gen.add_argument(
        "--defect-rate",
        type=float,
        default=0.0,
        help="share of records to spoil on purpose (malformed, unparseable, unknown, late, ...)",
    )
    gen.set_defaults(handler=_generate)

    helps = {
        "ingest": "ingest new landed files into bronze",
        "silver": "refine bronze into silver (checks, quarantine, dedup, MERGE)",
        "features": "compute gold.customer_features as of the run date",
        "train": "train and register the segmentation and acceptance models",
        "score": "write gold.customer_segments and gold.customer_marketing with the champion models",
        "run": "run every stage in one process",
        "publish": "register every table and the documented views in the catalog",
    }
    for name, text in helps.items():
        add_run_arguments(commands.add_parser(name, help=text)).set_defaults(handler=_stage)

    demo = add_config_arguments(commands.add_parser("demo", help="sample data + every stage, then a summary"))
    demo.add_argument("--customers", type=int, default=None, help="customers to generate (default 5000)")
    demo.set_defaults(handler=_demo)

    crm.add_arguments(
        commands.add_parser(
            "import-crm",
            help="import the public CRM case file (comma- or tab-separated) and run the models on it",
        )
    )

    evaluate.add_arguments(
        commands.add_parser(
            "evaluate-crm",
            help="nested 5-fold cross-validation of the acceptance pipeline and baselines on the CRM case",
        )
    )

    models.add_arguments(commands.add_parser("models", help="work with the registered models (rollback)"))
    targets.add_arguments(
        commands.add_parser(
            "targets", help="who to contact: a business objective's list, or the best N (budget)"
        )
    )

    quarantine = commands.add_parser("quarantine", help="work with the silver quarantine tables")
    actions = quarantine.add_subparsers(dest="action", required=True, metavar="ACTION")
    replay = add_run_arguments(
        actions.add_parser(
            "replay", help="re-validate quarantined rows after a rule or data fix; rows that now pass move"
        )
    )
    replay.add_argument("--table", action="append", help="silver table to replay (repeatable; default: all)")
    replay.set_defaults(handler=_quarantine)

    sql = add_config_arguments(
        commands.add_parser("sql", help="query the tables and views by name: one statement, or a SQL shell")
    )
    sql.add_argument(
        "query", nargs="?", help='e.g. "SELECT * FROM gold.segment_summary"; omit it for an interactive shell'
    )
    sql.add_argument("--limit", type=int, default=50, help="rows to print (default 50)")
    sql.set_defaults(handler=_sql)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except (ConfigError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except PIPELINE_ERRORS as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
