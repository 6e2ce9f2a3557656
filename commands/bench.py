"""`lakehouse bench`: what every stage costs at a size, against DuckDB computing the same features.

1. Generate N customers into a fresh lakehouse (``--root``, default ./lakehouse-bench).
2. Run every stage as of the sample's end date, timing each, and the peak memory of the driver and the JVM;
   then the acceptance model's learning curve (``jobs.learning_curve``): its champion against the same
   candidate fitted on every training row.
3. Compute gold.customer_features from the same landing files with DuckDB; any differing value fails.
4. Land D more days of orders and web visits, run the daily run as of the new date, and compare its
   raw -> features part (ingest, silver, features) with DuckDB recomputing everything from the files.
5. With ``--floor``, after each run: Spark's floor on the same files (``commands.floor``), the least any
   bronze -> silver -> gold Delta pipeline does, against DuckDB too: the first run's in a new process (its
   JVM as cold as the pipeline's first stages), the daily run's in this one (as warm as the daily run).

Prints a table, then one JSON line. Figures come from here, never from timed tests.
"""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from commands import duckdb_features
from commands import floor as spark_floor
from gold import customer_features
from jobs import features, ingest, learning_curve, publish, refine, score, train
from pipelines import runner
from pipelines.config import Config
from pipelines.errors import PipelineError
from pipelines.log import get_logger, step
from pipelines.runtime import RunContext, default_run_id
from pipelines.session import start_run
from pipelines.work import Meter, Work
from sample import landing as sample
from sample.daily import write_days
from silver import orders as silver_orders

MARKER = ".lakehouse-bench"
# raw landing files -> gold.customer_features as of the run date: what DuckDB computes
TO_FEATURES: tuple[tuple[str, Callable[[RunContext], object]], ...] = (
    ("ingest", ingest.run),
    ("silver", refine.run),
    ("features", features.run_date),
)
AFTER_FEATURES: tuple[tuple[str, Callable[[RunContext], object]], ...] = (
    ("training features", features.training_dates),
    ("train", train.run),
    ("score", score.run),
    ("publish", publish.run),
)


class BenchError(PipelineError):
    """The benchmark cannot run, or the pipeline's features differ from DuckDB's."""


@dataclass
class Timings:
    """Each stage's seconds, and its work (Spark jobs, Delta commits, files written, JVM starts)."""

    tables_dir: Path
    stages: dict[str, float] = field(default_factory=dict)
    meter: Meter | None = None

    def timed(self, name: str, work: Callable[[], object]) -> object:
        if self.meter is None:
            self.meter = Meter(None, self.tables_dir)
        started = time.perf_counter()
        with step(f"bench: {name}"), self.meter.stage(name):
            result = work()
        if isinstance(result, RunContext):
            self.meter.spark = result.spark  # count jobs from the session the stage started
        self.stages[name] = round(time.perf_counter() - started, 1)
        return result

    def total(self, names: tuple[tuple[str, object], ...] | list[str]) -> float:
        keys = [n if isinstance(n, str) else n[0] for n in names]
        return round(sum(self.stages[k] for k in keys), 1)

    def work(self) -> dict[str, dict[str, float]]:
        return self.meter.as_dict() if self.meter else {}


def prepare_root(root: Path) -> None:
    """A fresh lakehouse: a folder this command made before is emptied, any other non-empty one refused."""
    if root.exists() and any(root.iterdir()):
        if not (root / MARKER).exists():
            raise BenchError(f"{root} holds files the benchmark did not write; give another --root")
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
    (root / MARKER).write_text("written by lakehouse bench; emptied by its next run\n")


def peak_rss_mb(ctx: RunContext) -> float:
    """Peak resident memory of this Python process plus the Spark JVM's (local mode: the whole run)."""
    python_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    jvm_kb = 0
    jvm = ctx.spark.sparkContext._jvm  # type: ignore[attr-defined]
    if jvm is not None:
        status = Path(f"/proc/{jvm.ProcessHandle.current().pid()}/status")
        if status.exists():
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    jvm_kb = int(line.split()[1])
    return round((python_kb + jvm_kb) / 1024, 0)


def check_equal(ctx: RunContext) -> float:
    """DuckDB's features from the landing files against the pipeline's, as of the run date; seconds."""
    oracle = duckdb_features.compute(ctx.config.landing_dir, ctx.config, ctx.as_of)
    actual = runner.read_partition(ctx, customer_features.TABLE, ctx.as_of)
    if oracle.columns != actual.columns:
        raise BenchError(
            f"gold.customer_features columns {actual.columns} differ from DuckDB's {oracle.columns}"
        )
    difference = duckdb_features.first_difference(oracle.columns, oracle.rows, actual.collect())
    if difference:
        raise BenchError(f"gold.customer_features as of {ctx.as_of} differs from DuckDB's: {difference}")
    get_logger().info("  %d customers, every column equal to DuckDB's", len(oracle.rows))
    return round(oracle.seconds, 2)


def _recorded(timings: Timings, stages: dict[str, Work]) -> float:
    """The floor's stages added to ``timings``; their seconds."""
    assert timings.meter is not None
    for name, work in stages.items():
        timings.stages[name] = work.seconds
        timings.meter.add(name, work)
    return round(sum(w.seconds for w in stages.values()), 1)


def floor_run(timings: Timings, config: Config, files: dict[str, list[str]], mode: str) -> float:
    """Spark's floor on ``files`` in a new process (a JVM as cold as the first run's), stage by stage; its
    seconds."""
    listed = config.root / f"floor-{mode}.json"
    listed.write_text(json.dumps(files))
    command = [
        sys.executable,
        "-m",
        "commands.floor",
        str(config.root),
        str(config.root / spark_floor.FOLDER),
        str(listed),
        mode,
    ]
    last = ""
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as child:
        assert child.stdout is not None
        for line in child.stdout:  # its progress as it comes; its figures are the last line
            last = line
            if not line.startswith("{"):
                print(line, end="", flush=True)
    if child.returncode != 0:
        raise BenchError(
            f"Spark's floor ({mode} run) failed with exit status {child.returncode}; see its log above"
        )
    return _recorded(timings, {name: Work(**w) for name, w in json.loads(last).items()})


def run(config: Config, customers: int, days_new: int, seed: int, floor: bool = False) -> dict[str, object]:
    """The benchmark; returns (and prints last) the JSON figures."""
    try:
        import duckdb  # noqa: F401
    except ImportError as exc:
        raise BenchError("lakehouse bench needs DuckDB: pip install -e '.[dev]' (or make install)") from exc
    prepare_root(config.root)
    started = time.perf_counter()
    first, daily = Timings(config.tables_dir), Timings(config.tables_dir)
    as_of = config.sample.end_date
    first.timed("generate", lambda: sample.write(config, customers, seed))
    ctx: RunContext = first.timed("spark start", lambda: start_run(config, "lakehouse-bench", as_of))  # type: ignore[assignment]
    for name, stage in (*TO_FEATURES, *AFTER_FEATURES):
        first.timed(name, lambda s=stage: s(ctx))  # type: ignore[misc]
    end_to_end = round(time.perf_counter() - started, 1)
    duckdb_s = check_equal(ctx)
    curve = first.timed("learning curve", lambda: learning_curve.run(ctx))
    orders = runner.read(ctx, silver_orders.TABLE).count()
    files = spark_floor.landed(config.landing_dir)
    floors = {"first": floor_run(first, config, files, "first")} if floor else {}
    cats, chans = config.vocabulary.categories, config.vocabulary.channels
    new = daily.timed(
        f"land {days_new} more day(s)",
        lambda: write_days(config.landing_dir, customers, seed, as_of, days_new, cats, chans),
    )
    next_day = as_of + timedelta(days=days_new)
    later = RunContext(ctx.spark, config, next_day, default_run_id(next_day))
    daily.meter = Meter(ctx.spark, config.tables_dir)
    for name, stage in (*TO_FEATURES, *AFTER_FEATURES):
        daily.timed(name, lambda s=stage: s(later))  # type: ignore[misc]
    duckdb_full_s = check_equal(later)
    if floor:
        added = spark_floor.new_files(files, spark_floor.landed(config.landing_dir))
        # in this process: as warm as the daily run
        lowest = spark_floor.Floor(ctx.spark, config.root / spark_floor.FOLDER)
        floors["daily"] = _recorded(daily, spark_floor.measured(lowest, spark_floor.daily_run(lowest, added)))
    figures = _figures(customers, orders, end_to_end, first, daily, duckdb_s, duckdb_full_s, peak_rss_mb(ctx))
    figures["learning_curve"] = curve
    if floors:
        figures |= {
            "floor_s": floors["first"],
            "floor_ratio": round(floors["first"] / max(duckdb_s, 1e-3), 1),
            "floor_daily_s": floors["daily"],
            "floor_daily_ratio": round(floors["daily"] / max(duckdb_full_s, 1e-3), 1),
        }
    _print(figures, first, daily, new)
    return figures


def _figures(
    customers: int,
    orders: int,
    end_to_end: float,
    first: Timings,
    daily: Timings,
    duckdb_s: float,
    duckdb_full_s: float,
    peak: float,
) -> dict[str, object]:
    features_s, incremental_s = first.total(TO_FEATURES), daily.total(TO_FEATURES)
    return {
        "customers": customers,
        "orders": orders,
        "end_to_end_s": end_to_end,
        "stages": first.stages,
        "features_s": features_s,
        "duckdb_features_s": duckdb_s,
        "features_ratio": round(features_s / max(duckdb_s, 1e-3), 1),
        "features_equal": True,
        "incremental_s": incremental_s,
        "incremental_stages": daily.stages,
        "duckdb_full_s": duckdb_full_s,
        "incremental_ratio": round(incremental_s / max(duckdb_full_s, 1e-3), 1),
        "peak_rss_mb": peak,
        "work": first.work(),
        "incremental_work": daily.work(),
    }


def _print(figures: dict[str, object], first: Timings, daily: Timings, new: object) -> None:
    names = list(dict.fromkeys([*first.stages, *daily.stages]))
    work = {"first": first.work(), "daily": daily.work()}
    print(
        f"\n{'stage':<24}{'first run s':>12}{'jobs':>7}{'commits':>8}{'daily run s':>12}{'jobs':>7}{'commits':>8}"
    )
    for name in names:
        cells = []
        for label, t in (("first", first), ("daily", daily)):
            done = work[label].get(name)
            if name in t.stages and done:
                cells.append(f"{t.stages[name]:>12.1f}{done['jobs']:>7}{done['commits']:>8}")
            else:
                cells.append(f"{'':>27}")
        print(f"{name:<24}{''.join(cells)}")
    print(
        f"{'raw -> features':<24}{figures['features_s']:>12.1f}{'':>15}{figures['incremental_s']:>12.1f}"
        f"\nDuckDB {figures['duckdb_features_s']:.2f} s / {figures['duckdb_full_s']:.2f} s "
        f"(ratio {figures['features_ratio']}x / {figures['incremental_ratio']}x), every value equal"
    )
    curve = figures["learning_curve"]
    assert isinstance(curve, dict)
    print(
        f"acceptance: the champion's holdout ROC AUC {curve['champion_roc_auc']:.4f}, the fit on every training row "
        f"{curve['every_row_roc_auc']:.4f} ({curve['training_rows']:,} rows; selection saw {curve['selection_rows']:,})"
    )
    if "floor_s" in figures:
        print(
            f"{'floor -> features':<24}{figures['floor_s']:>12.1f}{'':>15}{figures['floor_daily_s']:>12.1f}"
            f"\nSpark's floor against DuckDB: {figures['floor_ratio']}x / {figures['floor_daily_ratio']}x"
        )
    print(f"new rows landed: {new}; peak memory (driver + JVM): {figures['peak_rss_mb']:.0f} MB")
    print(json.dumps(figures))
