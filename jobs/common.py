"""What the jobs share: starting a run from arguments, one stage as a spark-submit entry point, and
recording a model decision."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timezone
from typing import Any

from ops import dq_results, model_promotions
from pipelines import runner
from pipelines.cli import CONFIG, RUN, add_arguments, config_from_args, guarded
from pipelines.config import Config
from pipelines.errors import PipelineError
from pipelines.ingest import REFUSED_EXIT
from pipelines.runtime import RunContext
from pipelines.session import start_run


def start_context(
    args: argparse.Namespace,
    app: str,
    *,
    as_of: date | None = None,
    run_id: str | None = None,
    config: Config | None = None,
    writer: bool = True,
    extra_conf: Mapping[str, str] | None = None,
) -> RunContext:
    return start_run(
        config or config_from_args(args),
        app,
        as_of,
        run_id,
        master_given=bool(args.master),
        full_refresh=bool(getattr(args, "full_refresh", False)),
        writer=writer,
        extra_conf=extra_conf,
    )


def run_stage(args: argparse.Namespace, name: str, stage: Callable[[RunContext], object]) -> int:
    """Start the run of ``args`` (--as-of, --run-id), run one stage, write the run report."""
    ctx = start_context(args, f"lakehouse-{name}", as_of=args.as_of, run_id=args.run_id)
    stage(ctx)
    return finish(ctx)


def finish(ctx: RunContext) -> int:
    """Write the run report; the exit status: ``REFUSED_EXIT`` when a landed delivery is refused (named
    on stderr once more), else 0."""
    ctx.log.info("run report: %s", ctx.write_report())
    refused = ctx.report.get("refused", {}).get("deliveries") or []
    for line in refused:
        ctx.log.error("refused delivery: %s", line)
    if refused:
        ctx.log.error(
            "%d refused deliveries (above) are still in the landing zone: the run wrote what it could and "
            "exits with status %d until they are dealt with (see docs/data-quality.md)", len(refused), REFUSED_EXIT,
        )  # fmt: skip
    return REFUSED_EXIT if refused else 0


def job_main(name: str, stage: Callable[[RunContext], object], argv: Sequence[str] | None = None) -> int:
    """The body of a spark-submit entry point: parse arguments, run one stage, write the run report."""
    parser = add_arguments(argparse.ArgumentParser(prog=name, description=stage.__doc__), [*RUN, *CONFIG])
    return guarded(lambda args: run_stage(args, name, stage), parser.parse_args(argv), (PipelineError,))


def record_decision(ctx: RunContext, decision: dict[str, Any]) -> None:
    """A promotion, challenger or rollback decision as a row of ops.model_promotions."""
    decided_at = datetime.now(timezone.utc)
    row = model_promotions.decision_row(decision, decided_at=decided_at, run_id=ctx.run_id, as_of=ctx.as_of)
    runner.write_rows(ctx, model_promotions.TABLE, [row], dq_results.TABLE)
