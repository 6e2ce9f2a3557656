"""`lakehouse`: one command with a subcommand per stage. `lakehouse --help` lists them."""

from __future__ import annotations

import argparse
import ast
import importlib
import importlib.util
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from gold.objectives import OBJECTIVES
from pipelines.cli import (
    RUN,
    Command,
    build_parser,
    config_from_args,
    dispatch,
    iso_date,
    positive_int,
    whole_number,
)
from pipelines.config import PROFILES, Config
from pipelines.errors import PipelineError
from pipelines.log import get_logger, step

if TYPE_CHECKING:
    from pipelines.runtime import RunContext

# A command imports what it runs when it runs: `lakehouse --help`, `ingest`, `silver` or `features` do not
# load MLflow, scikit-learn, SciPy, Matplotlib and DuckDB (about 5 s of CPU per process).
STAGES = {  # a stage's job module, whose `run` the stage calls
    "ingest": "jobs.ingest", "silver": "jobs.refine", "features": "jobs.features", "train": "jobs.train",
    "score": "jobs.score", "run": "jobs.run_all", "publish": "jobs.publish",
}  # fmt: skip


def _help(module: str) -> str:
    """The first line of a job's `run` docstring, read from its source: importing every job to build the
    parser would load what only some of them use."""
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None, module
    tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
    run = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "run")
    first = (ast.get_docstring(run) or "").splitlines()[0].rstrip(".")
    return first[:1].lower() + first[1:]


def _stage(name: str, module: str) -> Command:
    def handler(args: argparse.Namespace) -> int:
        from jobs.common import run_stage

        return run_stage(args, name, importlib.import_module(module).run)

    return _help(module), handler, RUN


def _generate(args: argparse.Namespace) -> int:
    from sample import landing as sample

    sample.write(
        config_from_args(args), args.customers, args.seed, args.end_date, args.defect_rate, args.overwrite
    )
    return 0


OVERLAPPED_SAMPLE = 10_000  # customers: a bigger sample is written before the session starts


def sample_size(args: argparse.Namespace, config: Config) -> int:
    """The customers `lakehouse demo` generates: ``--customers``, else the config's ``sample.customers``."""
    return int(args.customers or config.sample.customers)


def _demo(args: argparse.Namespace) -> int:
    from jobs import run_all
    from jobs.common import start_context
    from sample import landing as sample

    config = config_from_args(args)
    customers = sample_size(args, config)

    def start() -> RunContext:
        return start_context(args, "lakehouse-demo", as_of=config.sample.end_date, config=config)

    if sample.landing_has_files(config):
        get_logger().info("landing zone %s already holds files: running on them", config.landing_dir)
        return _finish(start(), run_all.run)
    if customers > OVERLAPPED_SAMPLE:  # the session is sized to the data: write it first
        sample.write(config, customers)
        return _finish(start(), run_all.run)
    # a small sample: Spark's start (JVM, Delta's jars) and its generation (pure Python) overlap, and the
    # session is the one small data gets
    with ThreadPoolExecutor(max_workers=1) as pool:
        starting = pool.submit(start)
        sample.write(config, customers)
        ctx = starting.result()
    return _finish(ctx, run_all.run)


def _finish(ctx: RunContext, *stages: Callable[[RunContext], object]) -> int:
    from jobs.common import finish

    for stage in stages:
        stage(ctx)
    return finish(ctx)


def _import_crm(args: argparse.Namespace) -> int:
    from jobs import crm, publish
    from jobs.common import start_context

    ctx = start_context(
        args, "lakehouse-import-crm", run_id=args.run_id or f"import-crm-{Path(args.path).stem}"
    )
    ctx = crm.prepare(ctx, Path(args.path), snapshot=args.snapshot)
    if args.no_models:
        return _finish(ctx, publish.run)
    from jobs import score, train

    return _finish(ctx, train.run, score.run, publish.run)


def _evaluate_crm(args: argparse.Namespace) -> int:
    from jobs import crm
    from jobs.common import start_context

    ctx = start_context(
        args, "lakehouse-evaluate-crm", run_id=args.run_id or f"evaluate-crm-{Path(args.path).stem}"
    )
    crm.evaluate(crm.prepare(ctx, Path(args.path)), args.folds, args.inner_folds)
    return 0


def _targets(args: argparse.Namespace) -> int:
    if not args.objective and not args.budget:
        raise ValueError("give --objective, --budget N, or both")
    from commands import targets
    from jobs.common import start_context

    ctx = start_context(args, "lakehouse-targets", writer=False)
    ctx = ctx.on(args.as_of or targets.latest_as_of(ctx))
    targets.run(ctx, objective=args.objective, budget=args.budget, output=args.output, limit=args.limit)
    return 0


def _backtest(args: argparse.Namespace) -> int:
    from jobs import backtest
    from jobs.common import start_context

    ctx = start_context(args, "lakehouse-backtest", as_of=args.as_of, run_id=args.run_id)
    backtest.run(ctx, args.campaigns, args.last_campaign_only, args.min_acceptances)
    return 0


def _learning_curve(args: argparse.Namespace) -> int:
    from jobs import learning_curve
    from jobs.common import start_context

    ctx = start_context(args, "lakehouse-learning-curve", as_of=args.as_of, run_id=args.run_id)
    learning_curve.run(ctx)
    return 0


def _bench(args: argparse.Namespace) -> int:
    from commands import bench

    config = config_from_args(argparse.Namespace(**{**vars(args), "root": args.root or "lakehouse-bench"}))
    bench.run(config, args.customers or 5000, args.days_new, args.seed, args.floor)
    return 0


def _cluster_up(args: argparse.Namespace) -> int:
    from commands import cluster

    print(cluster.up(cluster.of(config_from_args(args), args.workers)))
    return 0


def _cluster_down(args: argparse.Namespace) -> int:
    from commands import cluster

    stopped = cluster.down(cluster.of(config_from_args(args)))
    get_logger().info("cluster: %s", f"{stopped} process(es) stopped" if stopped else "nothing was running")
    return 0


def _rollback(args: argparse.Namespace) -> int:
    from jobs import models
    from jobs.common import start_context

    name = {"name": args.model} if args.model else {}  # none given: the function's default model
    return _finish(start_context(args, "lakehouse-models"), lambda ctx: models.rollback(ctx, **name))


def _quarantine(args: argparse.Namespace) -> int:
    from jobs.common import run_stage
    from ops import dq_results, refine_log
    from pipelines.refine import replay_quarantine
    from silver.tables import TABLES as SILVER

    def replay(ctx: RunContext) -> dict[str, tuple[int, int]]:
        with step("quarantine replay: re-validate quarantined rows"):
            return replay_quarantine(ctx, SILVER, dq_results.TABLE, refine_log.TABLE, args.table or ())

    return run_stage(args, "quarantine", replay)


def _built(args: argparse.Namespace) -> Config:
    """The config of a lakehouse that has tables; one line naming the folder otherwise."""
    from pipelines.tables import TableError

    config = config_from_args(args)
    if not config.tables_dir.is_dir():
        raise TableError(f"no lakehouse tables under {config.tables_dir}; run `lakehouse demo` first")
    return config


def _sql(args: argparse.Namespace) -> int:
    from commands import shell
    from jobs import publish
    from jobs.common import start_context

    config = _built(args)
    ctx = start_context(args, "lakehouse-sql", config=config, writer=False)
    publish.run(ctx)
    if args.query:
        return 0 if shell.run_statement(ctx.spark, args.query, args.limit) else 1
    shell.interactive(ctx.spark, args.limit)
    return 0


def _sql_server(args: argparse.Namespace) -> int:
    from gold.tables import EVERY_VIEW
    from jobs.common import start_context
    from pipelines import sql_server

    config = _built(args)
    served = sql_server.session_conf()
    ctx = start_context(args, "lakehouse-sql-server", config=config, writer=False, extra_conf=served)
    sql_server.serve(
        ctx, EVERY_VIEW, args.host, args.port, args.refresh_seconds, result_cache_mb=args.result_cache_mb
    )
    return 0


def _sql_loadtest(args: argparse.Namespace) -> int:
    import json

    from commands import sql_load

    totals = sql_load.run(config_from_args(args), args.clients, args.seconds, args.result_cache_mb)
    print(json.dumps(totals))
    return 0 if totals["failed"] == 0 else 1


def _serve(args: argparse.Namespace) -> int:
    from apps import api  # FastAPI and uvicorn load only for this command

    api.serve(config_from_args(args), args.host, args.port, args.refresh_seconds)
    return 0


def _app(args: argparse.Namespace) -> int:
    import os

    from apps import api

    config = config_from_args(args)
    api.Lakehouse(config)  # no champion or no scores yet: one line now rather than in the browser
    script = Path(__file__).resolve().parent.parent / "apps" / "app.py"
    command = [
        sys.executable, "-m", "streamlit", "run", str(script), "--server.address", args.host,
        "--server.port", str(args.port), "--server.headless", "true", "--browser.gatherUsageStats", "false",
        "--", "--root", str(config.root), *(["--config", args.config] if args.config else []),
    ]  # fmt: skip
    print(f"the marketers' app on http://{args.host}:{args.port} (Ctrl-C stops it)", flush=True)
    # the command becomes the server (same process): stopping it stops the server, never orphans one
    os.execv(sys.executable, command)


def _loadtest(args: argparse.Namespace) -> int:
    import json

    from apps import loadtest

    totals = loadtest.run(config_from_args(args), args.users, args.seconds, args.spawn_rate)
    print(json.dumps(totals))
    return 0 if totals["failures"] == 0 else 1


def _tables(args: argparse.Namespace) -> int:
    from gold.tables import EVERY_TABLE, EVERY_VIEW
    from pipelines import graph

    if args.format == "mermaid":
        print(graph.mermaid(EVERY_TABLE, EVERY_VIEW))
    else:
        print(graph.describe(EVERY_TABLE, EVERY_VIEW, config_from_args(args).vocabulary))
    return 0


CACHE_MB = (
    "--result-cache-mb",
    {
        "type": whole_number,
        "default": 64,
        "help": (
            "memory for the answers of repeated queries, kept until a table they read commits (default 64; 0: none)"
        ),
    },
)
CUSTOMERS = ("--customers", {"type": int, "help": "number of customers (default 5000)"})
CRM_FILE = [("path", {"help": "the case file: comma-separated (ISO dates) or tab-separated (DD-MM-YYYY)"})]
CRM_FILE += [("--run-id", {"help": "run id (default: <command>-<file name>)"})]
# fmt: off
COMMANDS: dict[str, Command] = {
    "generate": ("write sample raw files into the landing zone", _generate, [
        CUSTOMERS, ("--seed", {"type": int, "help": "the same seed writes the same files (default 7)"}),
        ("--end-date", {"type": iso_date, "help": "last day of generated history"}),
        ("--overwrite", {"action": "store_true", "help": "write even if the landing zone holds files"}),
        ("--defect-rate", {"type": float, "default": 0.0, "help": "share of records to spoil on purpose"}),
        ("--profile", {"choices": PROFILES, "help": "delivery (the default) or grocery (use lakehouse.grocery.toml)"}),
    ]),
    "demo": ("sample data + every stage, then a summary", _demo, [CUSTOMERS]),
    "import-crm": ("import the public CRM case file, then train and score", _import_crm, [*CRM_FILE,
        ("--snapshot", {"type": iso_date, "help": "the case's snapshot date (default: last enrolment + 1 day)"}),
        ("--no-models", {"action": "store_true", "help": "stop after the gold features and labels"}),
    ]),
    "evaluate-crm": ("nested cross-validation of the acceptance pipeline and baselines on the CRM case", _evaluate_crm, [
        *CRM_FILE, ("--folds", {"type": int, "default": 5, "help": "outer folds (default 5)"}),
        ("--inner-folds", {"type": int, "default": 3, "help": "folds choosing hyperparameters and threshold"}),
    ]),
    "targets": ("who to contact: an objective's list, or the best N (budget)", _targets, [
        ("--objective", {"choices": OBJECTIVES, "help": "contact whom this objective flags"}),
        ("--budget", {"type": positive_int, "help": "contact at most N customers, the most likely to accept"}),
        ("--as-of", {"type": iso_date, "help": "scoring date (default: the latest)"}),
        ("--output", {"help": "write the list as CSV here instead of printing it"}),
        ("--limit", {"type": int, "default": 20, "help": "rows to print (default 20)"}),
    ]),
    "backtest": ("would the model have helped on the last campaigns? (per campaign, against baselines)", _backtest, [
        *RUN, ("--campaigns", {"type": positive_int, "default": 3, "help": "judge the last N completed campaigns (default 3)"}),
        ("--last-campaign-only", {"action": "store_true", "help": "train on the latest earlier campaign only, not all"}),
        ("--min-acceptances", {"type": int, "default": 10, "help": "judge only campaigns with this many acceptances (default 10)"}),
    ]),
    "learning-curve": ("how many rows the acceptance model needs: the champion's fit on growing samples", _learning_curve, RUN),
    "bench": ("time every stage at a size, against DuckDB computing the same features", _bench, [
        CUSTOMERS, ("--days-new", {"type": positive_int, "default": 1, "help": "days landed for the daily run (default 1)"}),
        ("--seed", {"type": int, "default": 7, "help": "sample seed (default 7)"}),
        ("--floor", {"action": "store_true", "help": "also time Spark's floor: the files to Delta per layer, no rule"}),
    ]),
    "cluster up": ("start a Spark standalone master and workers on 127.0.0.1; prints the master URL", _cluster_up, [
        ("--workers", {"type": positive_int, "default": 2, "help": "workers of one core each (default 2)"}),
    ]),
    "cluster down": ("stop the master and workers `cluster up` started", _cluster_down, []),
    "models rollback": ("make the previous champion champion again", _rollback, [
        ("--model", {"help": "registered model (default: the acceptance model)"}),
    ]),
    "quarantine replay": ("re-validate quarantined rows after a fix; rows that now pass move", _quarantine, [
        *RUN, ("--table", {"action": "append", "help": "silver table to replay (repeatable; default: all)"}),
    ]),
    "sql": ("query tables and views by name: one statement, or a SQL shell", _sql, [
        ("query", {"nargs": "?", "help": 'e.g. "SELECT * FROM gold.segment_summary"; none: a shell'}),
        ("--limit", {"type": int, "default": 50, "help": "rows to print (default 50)"}),
    ]),
    "sql-server": ("the JDBC/ODBC endpoint for BI tools (Spark's Thrift server), read-only, beside scheduled runs", _sql_server, [
        ("--host", {"default": "127.0.0.1", "help": "address to listen on (default 127.0.0.1)"}),
        ("--port", {"type": positive_int, "default": 10000, "help": "port (default 10000)"}),
        ("--refresh-seconds", {"type": float, "default": 5.0, "help": "look for tables that landed this often (default 5)"}),
        CACHE_MB,
    ]),
    "sql-loadtest": ("concurrent JDBC clients on gold views through a `sql-server` it starts: one JSON line", _sql_loadtest, [
        ("--clients", {"type": positive_int, "default": 8, "help": "concurrent clients (default 8)"}),
        ("--seconds", {"type": positive_int, "default": 60, "help": "how long (default 60)"}),
        CACHE_MB,
    ]),
    "serve": ("the scoring API: /predict, /customers/{id}, /health (no JVM; picks up new champions)", _serve, [
        ("--host", {"default": "127.0.0.1", "help": "address to listen on (default 127.0.0.1)"}),
        ("--port", {"type": positive_int, "default": 8000, "help": "port (default 8000)"}),
        ("--refresh-seconds", {"type": float, "default": 2.0, "help": "look for a new champion or run this often (default 2)"}),
    ]),
    "app": ("the marketers' app (Streamlit): segments, targets, what-if, model", _app, [
        ("--host", {"default": "127.0.0.1", "help": "address to listen on (default 127.0.0.1)"}),
        ("--port", {"type": positive_int, "default": 8501, "help": "port (default 8501)"}),
    ]),
    "loadtest": ("Locust against `lakehouse serve` on 127.0.0.1: users, failures, latency, throughput", _loadtest, [
        ("--users", {"type": positive_int, "default": 500, "help": "simulated users (default 500)"}),
        ("--seconds", {"type": positive_int, "default": 60, "help": "how long (default 60)"}),
        ("--spawn-rate", {"type": positive_int, "default": 100, "help": "users started per second (default 100)"}),
    ]),
    "tables": ("the declared tables and views, from their declarations", _tables, [
        ("--format", {"choices": ("text", "mermaid"), "default": "text", "help": "text or a Mermaid diagram"}),
    ]),
}
# fmt: on


def main(argv: Sequence[str] | None = None) -> int:
    stages = {name: _stage(name, module) for name, module in STAGES.items()}
    return dispatch(build_parser("lakehouse", __doc__ or "", {**stages, **COMMANDS}), argv, (PipelineError,))


if __name__ == "__main__":
    sys.exit(main())
