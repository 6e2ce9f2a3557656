"""Table declarations: what a table is, what it reads, how it is written and checked, in one value.

Every table module (bronze, silver, gold, ops) ends with ``TABLE = Table(...)``. The runners
(``pipelines.ingest``, ``pipelines.refine``, ``pipelines.runner``) execute a stage's tables from these
declarations, and ``lakehouse tables`` prints the graph they form, so the documentation cannot rot.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from pyspark.sql import Column, DataFrame

from pipelines.config import Config, Vocabulary
from pipelines.contract import Contract
from pipelines.quality import Check

WriteMode = Literal["append", "merge", "overwrite", "partition", "replace"]
WRITE_MODES: dict[str, str] = {
    "append": "append",
    "merge": "MERGE on the key",
    "overwrite": "overwrite the table",
    "partition": "overwrite the run date's partition",
    "replace": "replace this run's rows",
}
STAGES = ("ingest", "silver", "features", "train", "score", "any")  # any: every stage that runs checks


def no_checks(vocabulary: Vocabulary) -> Sequence[Check]:
    return ()


def no_params(config: Config) -> Mapping[str, Any]:
    return {}


@dataclass(frozen=True)
class RawSource:
    """A raw source as delivered: its landing folder, file format and raw columns (strings)."""

    folder: str
    format: Literal["csv", "json"]
    raw_ddl: str
    required: tuple[str, ...]
    description: str = ""
    delimiter: str | None = ","  # None: detected per file from its header line

    @property
    def raw_columns(self) -> tuple[str, ...]:
        """The raw column names in contract order (read from the DDL without a Spark session, so the
        sample generator and other plain-Python writers can use them)."""
        names, depth, start = [], 0, 0
        for i, char in enumerate(self.raw_ddl + ","):
            depth += {"<": 1, ">": -1}.get(char, 0)
            if char == "," and depth == 0:
                field = self.raw_ddl[start:i].strip()
                quoted = field.startswith("`")
                names.append(field[1 : field.index("`", 1)] if quoted else field.split()[0])
                start = i + 1
        return tuple(names)


@dataclass(frozen=True)
class Table:
    """One table: its contract, the stage that writes it, its inputs (declarations, not names), its write
    mode, its checks and its pure transform.

    - bronze: ``source`` says where the raw files land; the ingest runner appends them.
    - silver: ``parse`` types the bronze strings, ``checks`` run in one pass (quarantine, warn, fail),
      ``transform`` keeps one row per key; a silver input is the customers table ``customer_known`` reads.
      ``newest_first`` (columns silver keeps) orders a key's rows, the first wins: with it, a run refines
      only the bronze rows appended since the last run and the winner between them and silver's row is
      chosen the same way; without it, every run refines the whole bronze table.
    - gold and ops: ``transform(*inputs, as_of=..., run_id=..., **params(config))``, or a frame a model
      stage computes; either way the runner checks it (warn or fail) and writes it by ``write``.
    """

    contract: Contract | Callable[[Vocabulary], Contract]
    stage: str
    write: WriteMode
    inputs: tuple[Table, ...] = ()
    checks: Callable[[Vocabulary], Sequence[Check]] = no_checks
    transform: Callable[..., DataFrame] | None = None
    params: Callable[[Config], Mapping[str, Any]] = no_params
    parse: Callable[[DataFrame], DataFrame] | None = None
    newest_first: Callable[[], Sequence[Column]] | None = None
    # silver: the column placing a row in time; what is computed as of a date reads only rows before it
    event_time: str | None = None
    source: RawSource | None = None
    replace_on: tuple[str, ...] = ("run_id",)  # "replace": the columns naming the rows a run replaces
    # when set, writing no row from non-empty inputs fails the run with the one-row ``cause`` it computes
    explain_empty: Callable[[Sequence[DataFrame], date, Config], DataFrame] | None = None
    description: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if self.stage not in STAGES:
            raise ValueError(f"{self.name}: stage must be one of {STAGES}, not {self.stage!r}")
        if self.write not in WRITE_MODES:
            raise ValueError(f"{self.name}: write must be one of {sorted(WRITE_MODES)}, not {self.write!r}")

    def fingerprint(self, config: Config, *extra: str) -> str:
        """A hash of what decides the table's rows besides its inputs: the modules declaring its parse and
        transform, its parameters, and ``extra`` (e.g. its rules): a change means recomputing it."""
        parts = [self.name, json.dumps(self.params(config), default=str, sort_keys=True), *extra]
        for fn in (self.parse, self.transform):
            if fn is not None:
                module = inspect.getmodule(fn)
                parts.append(inspect.getsource(module) if module else repr(fn))
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]

    def contract_for(self, vocabulary: Vocabulary) -> Contract:
        return self.contract(vocabulary) if callable(self.contract) else self.contract

    @property
    def name(self) -> str:
        return self.contract_for(Vocabulary()).name

    @property
    def layer(self) -> str:
        return self.name.split(".", 1)[0]

    def customers(self) -> Table | None:
        """For a silver table: the silver table whose customer ids its ``customer_known`` rule checks."""
        return next((t for t in self.inputs if t.layer == "silver"), None)

    def bronze(self) -> Table:
        """For a silver table: the bronze table it refines."""
        found = [t for t in self.inputs if t.layer == "bronze"]
        if len(found) != 1:
            raise ValueError(f"{self.name} must read exactly one bronze table, not {len(found)}")
        return found[0]


@dataclass(frozen=True)
class View:
    """A SQL view over declared tables, created in the catalog once they all exist."""

    name: str
    description: str
    query: str
    inputs: tuple[Table, ...]
