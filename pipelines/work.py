"""The work a stage does, counted in what does not move with the machine's load: Spark jobs, Delta commits,
data files written and JVM starts.

On small data a run costs per job, per commit and per JVM rather than per row, so these counts say what a
change adds or saves where timings only say how busy the machine was. Each run records them per stage in
its report (``runs/<run_id>.json``, section ``work``) and prints them; ``lakehouse bench`` prints them
beside the times, and a test holds the demo's counts under ceilings.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from pyspark import SparkContext
from pyspark.sql import SparkSession

from pipelines.pandas_io import COMMIT_FILE

# JVMs this process started (a session it launched; spark-submit's JVM counts once, for the run)
_JVM_STARTS = [0]


def jvm_started() -> None:
    """Called by the session factory when it launches a JVM."""
    _JVM_STARTS[0] += 1


@dataclass(frozen=True)
class Work:
    jobs: int = 0
    commits: int = 0
    files: int = 0  # data files the commits added
    jvm_starts: int = 0
    seconds: float = 0.0

    def __add__(self, other: Work) -> Work:
        return Work(
            jobs=self.jobs + other.jobs,
            commits=self.commits + other.commits,
            files=self.files + other.files,
            jvm_starts=self.jvm_starts + other.jvm_starts,
            seconds=round(self.seconds + other.seconds, 1),
        )


def spark_jobs(spark: SparkSession | None = None) -> int | None:
    """How many Spark jobs this process's Spark context has started so far (None without one, or while
    one is still starting in another thread, as `lakehouse demo`'s does while the sample is written): job
    ids are numbered from 0 in submission order, and the status tracker keeps the newest ones."""
    context = spark.sparkContext if spark is not None else SparkContext._active_spark_context
    if context is None or getattr(context, "_jsc", None) is None:
        return None
    # the newest id, found in the JVM: the tracker keeps up to 1,000 ids, and reading them into Python takes
    # a round trip each (2 s of a 37 s run, counted once per stage)
    tracker, arrays = context._jsc.statusTracker(), context._jvm.java.util.Arrays  # type: ignore[union-attr]
    newest = max(
        arrays.stream(ids).max().orElse(-1)
        for ids in (tracker.getJobIdsForGroup(None), tracker.getActiveJobIds())
    )
    return int(newest) + 1


def table_versions(tables_dir: Path) -> dict[Path, int]:
    """Every Delta table under ``tables_dir`` with its newest commit (directory listings, no Spark)."""
    versions = {}
    for log in tables_dir.glob("*/*/_delta_log"):
        found = [int(m[1]) for p in log.iterdir() if (m := COMMIT_FILE.fullmatch(p.name))]
        if found:
            versions[log.parent] = max(found)
    return versions


def _added_files(table: Path, after: int, until: int) -> int:
    """Data files the commits after version ``after`` up to ``until`` added (their ``add`` actions)."""
    added = 0
    for version in range(after + 1, until + 1):
        try:
            lines = (table / "_delta_log" / f"{version:020d}.json").read_text().splitlines()
        except OSError:
            continue
        added += sum(1 for line in lines if line.startswith('{"add"'))
    return added


@dataclass(frozen=True)
class Mark:
    jobs: int
    versions: Mapping[Path, int]
    jvm_starts: int
    at: float


def mark(spark: SparkSession | None, tables_dir: Path) -> Mark:
    jobs = (spark_jobs(spark) or 0) if spark is not None and SparkContext._active_spark_context else 0
    return Mark(jobs, table_versions(tables_dir), _JVM_STARTS[0], time.perf_counter())


def since(before: Mark, after: Mark) -> Work:
    """The work between two marks."""
    commits = files = 0
    for table, version in after.versions.items():
        previous = before.versions.get(table, -1)
        if version > previous:
            commits += version - previous
            files += _added_files(table, previous, version)
    return Work(
        jobs=after.jobs - before.jobs,
        commits=commits,
        files=files,
        jvm_starts=after.jvm_starts - before.jvm_starts,
        seconds=round(after.at - before.at, 1),
    )


class Meter:
    """Counts the work of named stages of one run (``with meter.stage("silver"): ...``)."""

    def __init__(self, spark: SparkSession | None, tables_dir: Path) -> None:
        self.spark = spark
        self.tables_dir = tables_dir
        self.stages: dict[str, Work] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        before = mark(self.spark, self.tables_dir)
        try:
            yield
        finally:
            done = since(before, mark(self.spark, self.tables_dir))
            self.stages[name] = self.stages.get(name, Work()) + done

    def add(self, name: str, work: Work) -> None:
        self.stages[name] = self.stages.get(name, Work()) + work

    @property
    def total(self) -> Work:
        return sum(self.stages.values(), Work())

    def as_dict(self) -> dict[str, dict[str, float]]:
        return {name: asdict(w) for name, w in self.stages.items()}

    def table(self) -> str:
        """The stages' work as a small table, one line per stage and a total."""
        lines = [f"{'stage':<12}{'Spark jobs':>11}{'commits':>9}{'files':>7}{'JVMs':>6}{'seconds':>9}"]
        for name, w in [*self.stages.items(), ("total", self.total)]:
            lines.append(
                f"{name:<12}{w.jobs:>11,}{w.commits:>9,}{w.files:>7,}{w.jvm_starts:>6}{w.seconds:>9.1f}"
            )
        return "\n".join(lines)


def from_report(path: Path) -> dict[str, Work]:
    """The per-stage work a run report recorded."""
    recorded = json.loads(path.read_text()).get("work", {})
    return {name: Work(**values) for name, values in recorded.items()}
