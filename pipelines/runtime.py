"""The run context handed to every stage: session, config, logical run date and run id."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession

from pipelines.config import Config
from pipelines.log import get_logger
from pipelines.tables import Lakehouse
from pipelines.work import Meter

RUN_ID = re.compile(r"[A-Za-z0-9._-]{1,100}")


def check_run_id(run_id: str) -> str:
    """A run id names files and rows: letters, digits, '.', '_' or '-', at most 100; else a ValueError."""
    if not RUN_ID.fullmatch(run_id) or set(run_id) == {"."}:
        raise ValueError(
            f"run id {run_id!r} must be 1-100 letters, digits, '.', '_' or '-' (it names files and rows)"
        )
    return run_id


def write_json(path: Path, value: Any) -> None:
    """Write ``value`` as JSON to ``path`` whole or not at all (a partial file of this process's own,
    then renamed), so a reader never sees half a file and two processes never mix theirs."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    partial.write_text(json.dumps(value, indent=1, sort_keys=True))
    os.replace(partial, path)


def default_run_id(as_of: date) -> str:
    """One logical run per run date: re-running a date is the same run, and replaces what it wrote."""
    return f"run-{as_of:%Y%m%d}"


@dataclass(frozen=True)
class RunContext:
    """Immutable: a stage that works on another date (a campaign's contact date, the CRM case's snapshot)
    derives a context with ``on(date)``; both share the run's report."""

    spark: SparkSession
    config: Config
    as_of: date
    run_id: str
    report: dict[str, Any] = field(default_factory=dict, compare=False)
    full_refresh: bool = False  # rebuild silver from all of bronze and recompute every feature date
    meter: Meter | None = field(default=None, compare=False)  # the work per stage; shared by ``on``

    def __post_init__(self) -> None:
        check_run_id(self.run_id)
        if self.meter is None:
            object.__setattr__(self, "meter", Meter(self.spark, self.config.tables_dir))

    @property
    def work(self) -> Meter:
        assert self.meter is not None
        return self.meter

    def on(self, as_of: date) -> RunContext:
        """The same run on another logical date."""
        return dataclasses.replace(self, as_of=as_of)

    @property
    def lakehouse(self) -> Lakehouse:
        return Lakehouse(self.spark, self.config)

    @property
    def log(self) -> logging.Logger:
        return get_logger()

    def record(self, section: str, key: str, value: Any) -> None:
        """Add a figure to this run's report (written to ``<root>/runs/<run_id>.json``)."""
        self.report.setdefault(section, {})[key] = value

    def write_report(self) -> str:
        self.config.runs_dir.mkdir(parents=True, exist_ok=True)
        path = self.config.runs_dir / f"{self.run_id}.json"
        body = {
            "run_id": self.run_id,
            "as_of": self.as_of.isoformat(),
            "written_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            **self.report,
            "work": self.work.as_dict(),
        }
        path.write_text(json.dumps(body, indent=2, default=str) + "\n")
        return str(path)
