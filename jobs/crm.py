"""Import the public CRM case file: landing -> bronze.crm_case -> silver.crm_customers -> gold, then the
models, exactly like the event pipeline (the same gold.customer_features schema, the pilot response as label).
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import sys
from datetime import date, timedelta
from pathlib import Path

from pyspark.sql import functions as F

from bronze import crm_case
from gold import campaign_responses, customer_features
from jobs import features, ingest, publish, refine, score, train
from jobs.common import add_config_arguments, iso_date, start_context
from pipelines.log import step
from pipelines.runtime import RunContext
from silver import crm_customers


class CrmImportError(RuntimeError):
    """The CRM file cannot be imported (the message names the file and the reason)."""


def land(ctx: RunContext, path: Path) -> Path:
    """Copy the file into the landing zone under its own name; the same file twice is one delivery."""
    if not path.is_file():
        raise CrmImportError(f"CRM case file {path} does not exist or is not a file")
    folder = ctx.config.landing(crm_case.SOURCE.folder)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / path.name
    if target.exists() and not filecmp.cmp(path, target, shallow=False):
        raise CrmImportError(
            f"{target} already holds a different file named {path.name}: a delivery is identified by its "
            "name, so give a new export a new name"
        )
    if not target.exists():
        shutil.copyfile(path, target)
    return target


def snapshot_date(ctx: RunContext) -> date:
    """The case gives no snapshot date: the day after the last enrolment (2014-06-30 for the public file)."""
    latest = ctx.lakehouse.read(crm_customers.CONTRACT.name).agg(F.max("signup_date")).collect()[0][0]
    if latest is None:
        raise CrmImportError(f"{crm_customers.CONTRACT.name} is empty: every row of the file was quarantined")
    return latest + timedelta(days=1)


def run(ctx: RunContext, path: Path, *, as_of: date | None = None, models: bool = True) -> None:
    """Land, ingest, refine and build gold from the CRM case file; then train and score unless told not to."""
    landed = land(ctx, path)
    ctx.log.info("CRM case file %s landed as %s", path, landed)
    results = ingest.run(ctx, (crm_case.SOURCE,))
    rejected = [message for result in results for message in result.rejected]
    if rejected:
        raise CrmImportError("; ".join(rejected))
    refine.run(ctx, (crm_customers.TABLE,))
    ctx.as_of = as_of or snapshot_date(ctx)
    vocabulary = ctx.config.vocabulary
    with step(f"gold: customer features from the CRM case as of {ctx.as_of}"):
        crm = ctx.lakehouse.read(crm_customers.CONTRACT.name)
        contract = customer_features.contract(vocabulary)
        written = ctx.lakehouse.overwrite(
            contract,
            customer_features.from_crm(crm, as_of=ctx.as_of, vocabulary=vocabulary),
            partition={"as_of_date": ctx.as_of},
        )
        ctx.log.info("  %s as of %s: %d customers", contract.name, ctx.as_of, written.metric("numOutputRows"))
        features.write_responses(ctx, campaign_responses.from_crm(crm, as_of=ctx.as_of))
    if models:
        train.run(ctx)
        score.run(ctx)
    publish.run(ctx)


def main(args: argparse.Namespace) -> int:
    args.run_id = args.run_id or f"import-crm-{Path(args.path).stem}"
    args.as_of = None  # replaced by the snapshot date once silver knows it
    ctx = start_context(args, "lakehouse-import-crm")
    run(ctx, Path(args.path), as_of=args.snapshot, models=not args.no_models)
    ctx.log.info("run report: %s", ctx.write_report())
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    add_config_arguments(parser)
    parser.add_argument("--run-id", default=None, help="run id (default: import-crm-<file name>)")
    parser.add_argument(
        "path", help="the case file: comma-separated (ISO dates) or tab-separated (DD-MM-YYYY)"
    )
    parser.add_argument(
        "--snapshot",
        type=iso_date,
        default=None,
        help="the case's snapshot date (default: last enrolment + 1 day)",
    )
    parser.add_argument("--no-models", action="store_true", help="stop after the gold features and labels")
    parser.set_defaults(handler=main)
    return parser


if __name__ == "__main__":
    sys.exit(
        main(add_arguments(argparse.ArgumentParser(prog="import_crm", description=__doc__)).parse_args())
    )
