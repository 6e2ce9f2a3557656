"""Runs declared gold and ops tables: read the inputs, call the pure transform, check, write, record.

``refresh`` computes a table from its declared inputs and transform; ``write`` takes a frame that a model
stage computed (segments, scores, drivers, drift) through the same checks and write mode. Either way the
table's rule outcomes land in ops.dq_results, and a ``fail`` rule stops the run naming table and rule.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json
from collections.abc import Mapping, Sequence
from datetime import date
from types import ModuleType
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from pipelines import quality
from pipelines.declare import Table, View
from pipelines.refine import record_results
from pipelines.runtime import RunContext
from pipelines.tables import TableError, WriteResult


def read(ctx: RunContext, table: Table) -> DataFrame:
    return ctx.lakehouse.read(table.name)


def refresh(
    ctx: RunContext,
    table: Table,
    dq_results: Table,
    as_of: date | None = None,
    dates: Sequence[date] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> WriteResult:
    """Compute ``table`` from its inputs and write it: as of ``as_of`` (default: the run date), or, for a
    transform that takes ``dates``, as of every one of ``dates`` in one computation and one commit. The
    commit records what the rows were computed from (``metadata``, default ``inputs_key``)."""
    if table.transform is None:
        raise ValueError(f"{table.name} declares no transform: a model stage writes it")
    as_of = as_of or ctx.as_of
    dates = sorted(set(dates or [as_of]))
    key = metadata or inputs_key(ctx, table, dates)  # what this computation reads, taken before it reads
    run_values: dict[str, Any] = {"as_of": as_of, "dates": dates, "run_id": ctx.run_id}
    accepted = inspect.signature(table.transform).parameters
    if "dates" not in accepted and len(dates) > 1:
        raise ValueError(f"{table.name} is computed for one date at a time, not {len(dates)}")
    kwargs = {k: v for k, v in run_values.items() if k in accepted} | dict(table.params(ctx.config))
    inputs = [read(ctx, t) for t in table.inputs]
    frame = table.transform(*inputs, **kwargs)
    if table.explain_empty is not None:
        frame = frame.persist()
        present = {r[0] for r in frame.select("as_of_date").distinct().collect()}
        for day in dates:
            if day not in present and any(not i.isEmpty() for i in inputs):
                frame.unpersist()
                cause = table.explain_empty(inputs, day, ctx.config).collect()[0]["cause"]
                raise TableError(f"{table.name} as of {day}: no row from non-empty inputs. {cause}")
    return write(
        ctx, table, frame, dq_results, as_of=dates[0] if len(dates) == 1 else as_of, dates=dates, metadata=key
    )


def inputs_key(ctx: RunContext, table: Table, dates: Sequence[date]) -> dict[str, Any]:
    """What decides a computed table's rows: the dates, its inputs' versions, its code and parameters."""
    return {
        "as_of_dates": [str(d) for d in sorted(dates)],
        "inputs": {t.name: ctx.lakehouse.version(t.name) for t in table.inputs},
        "fingerprint": table.fingerprint(ctx.config),
    }


def code_key(ctx: RunContext, *modules: ModuleType) -> str:
    """A hash of ``modules``' source and of the config (its root aside): what decides a model stage's
    output besides its inputs and models."""
    settings = {k: v for k, v in dataclasses.asdict(ctx.config).items() if k != "root"}
    parts = [json.dumps(settings, default=str, sort_keys=True), *(inspect.getsource(m) for m in modules)]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def _as_json(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str, sort_keys=True))


def last_record(ctx: RunContext, table: Table, day: str) -> dict[str, Any] | None:
    """What the table's newest commit that wrote ``day`` recorded; None when none did, or when a commit
    without a record (another writer's) came after it: the rows may no longer be what it recorded."""
    for _, metadata in ctx.lakehouse.commits(table.name):
        if not metadata:
            return None
        if day in metadata.get("as_of_dates", []):
            return metadata
    return None


def written_from(ctx: RunContext, table: Table, key: Mapping[str, Any]) -> bool:
    """Whether the table's newest commit for ``key``'s date recorded exactly ``key`` (a step's inputs'
    versions, models and code): writing it again would write what it holds. The table's own commit
    metadata is the record; a step cut off before its commit is done again. A table that is not
    partitioned by date (a MERGE's) is judged by its newest commit alone: a later day's may have changed
    the rows an earlier one wrote."""
    if not ctx.lakehouse.exists(table.name):
        return False
    wanted = _as_json(key)
    if table.write in ("merge", "overwrite"):
        commits = ctx.lakehouse.commits(table.name)
        return bool(commits) and commits[0][1] == wanted
    return last_record(ctx, table, wanted["as_of_dates"][0]) == wanted


def outdated(ctx: RunContext, table: Table, dates: Sequence[date]) -> dict[date, str]:
    """Each of ``dates`` whose partition of ``table`` must be computed again, with why: not computed yet,
    computed by other code or parameters, or an input changed a row dated on or before that day since it
    was computed (read from the inputs' change feeds by their ``event_time``, once per input and version
    range): a later day's rows never change an earlier date."""
    lakehouse = ctx.lakehouse
    if ctx.full_refresh:
        return {d: "--full-refresh" for d in dates}
    if not lakehouse.exists(table.name):
        return {d: "first computation" for d in dates}
    fingerprint = table.fingerprint(ctx.config)
    earliest: dict[tuple[str, int, int], Any] = {}  # (input, from, to) -> its earliest changed event time
    why = {}
    for day in dates:
        written = last_record(ctx, table, str(day))
        if written is None:
            why[day] = "no commit records its computation"
        elif written.get("fingerprint") != fingerprint:
            why[day] = "its code or parameters changed"
        elif reason := _changed_before(ctx, table, written.get("inputs", {}), day, earliest):
            why[day] = reason
    return why


def _changed_before(
    ctx: RunContext,
    table: Table,
    recorded: Mapping[str, int],
    day: date,
    earliest: dict[tuple[str, int, int], Any],
) -> str | None:
    lakehouse = ctx.lakehouse
    for source in table.inputs:
        then, now = recorded.get(source.name), lakehouse.version(source.name)
        if then == now:
            continue
        if then is None or source.event_time is None or not lakehouse.records_changes(source.name):
            return f"{source.name} changed and cannot say when its rows are"
        span = (source.name, then, now)
        if span not in earliest:
            try:
                changed = lakehouse.changes(source.name, then, now, kinds=None)
                earliest[span] = changed.agg(F.min(source.event_time)).collect()[0][0]
            except Exception as error:  # the feed may not reach back that far (vacuumed, disabled)
                return f"{source.name}'s change feed since version {then} cannot be read ({type(error).__name__})"
        first = earliest[span]
        if first is not None and first.date() <= day:
            return f"{source.name} changed rows on or before {day} (since version {then})"
    return None


def check(ctx: RunContext, table: Table, frame: DataFrame, dq_results: Table) -> list[quality.RuleResult]:
    """Evaluate the table's checks on ``frame`` in one pass; record them; raise on a failed rule."""
    checks = list(table.checks(ctx.config.vocabulary))
    if not checks:
        return []
    quarantining = [c.name for c in checks if c.action == "quarantine"]
    if quarantining:
        raise ValueError(
            f"{table.name}: only silver tables quarantine; rules {quarantining} must warn or fail"
        )
    results, _ = quality.evaluate(table.name, quality.flag(frame, checks), checks)
    record_results(ctx, dq_results, results)
    quality.raise_on_failure(results, checks)
    return results


def write(
    ctx: RunContext,
    table: Table,
    frame: DataFrame,
    dq_results: Table,
    *,
    as_of: date | None = None,
    dates: Sequence[date] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> WriteResult:
    """Check ``frame`` and write it by the table's declared mode: append, MERGE on the key, overwrite,
    overwrite the partitions of ``dates`` (default: the ``as_of`` one), or replace the rows of this run.
    ``metadata``, in the commit, says what the rows were computed from."""
    as_of = as_of or ctx.as_of
    contract = table.contract_for(ctx.config.vocabulary)
    lakehouse = ctx.lakehouse
    frame = frame.persist()
    try:
        results = check(ctx.on(as_of), table, frame, dq_results)
        if table.write == "append":
            written = lakehouse.append(contract, frame)
        elif table.write == "merge":
            written = lakehouse.merge(contract, frame, metadata=metadata)
        elif table.write == "overwrite":
            written = lakehouse.overwrite(contract, frame, metadata=metadata)
        elif table.write == "partition":
            match: dict[str, Any] = {"as_of_date": list(dates or [as_of])}
            written = lakehouse.replace_where(contract, frame, match, metadata)
        else:
            run_values: dict[str, Any] = {"run_id": ctx.run_id, "as_of_date": as_of}
            match = {c: run_values[c] for c in table.replace_on}
            written = lakehouse.replace_where(contract, frame, match, metadata)
    finally:
        frame.unpersist()
    _report(ctx, table, written, as_of, results, dates)
    return written


def _report(
    ctx: RunContext,
    table: Table,
    written: WriteResult,
    as_of: date,
    results: list[quality.RuleResult],
    dates: Sequence[date] | None = None,
) -> None:
    figures = {"version": written.version, **written.metrics}
    key = table.name if as_of == ctx.as_of else f"{table.name}@{as_of}"
    ctx.record(table.stage, key, {"rows": written.metric("numOutputRows"), **figures})
    if table.write == "merge":
        counts = f"{written.metric('numTargetRowsInserted')} inserted, {written.metric('numTargetRowsUpdated')} updated"
    else:
        counts = f"{written.metric('numOutputRows')} rows"
    when = f" as of {', '.join(str(d) for d in dates or [as_of])}" if table.write == "partition" else ""
    ctx.log.info("  %s%s: %s (version %d)", table.name, when, counts, written.version)
    for line in quality.results_line(results).splitlines():
        ctx.log.info("      %s", line)


def publish(ctx: RunContext, views: Sequence[View]) -> list[str]:
    """Register every table on disk in the catalog and create the views whose tables all exist."""
    lakehouse = ctx.lakehouse
    tables = lakehouse.register_catalog()
    created = []
    for view in views:
        if all(t.name in tables for t in view.inputs):
            lakehouse.create_view(view.name, view.query, view.description)
            created.append(view.name)
    ctx.log.info("  %d tables, %d views: %s", len(tables), len(created), ", ".join(created) or "none yet")
    return tables + created


def read_partition(ctx: RunContext, table: Table, as_of: date) -> DataFrame:
    """The table's rows as of ``as_of``; an error naming the stage that writes them when there are none."""
    rows = read(ctx, table).where(F.col("as_of_date") == F.lit(as_of))
    if not rows.take(1):
        raise TableError(
            f"{table.name} has no rows as of {as_of}: run the {table.stage} stage for that date first"
        )
    return rows


def read_dates(ctx: RunContext, table: Table, dates: Sequence[date]) -> DataFrame:
    """The table's rows as of each of ``dates``; an error naming the missing dates and the stage that
    writes them."""
    rows = read(ctx, table).where(F.col("as_of_date").isin(*dates))
    present = {r[0] for r in rows.select("as_of_date").distinct().collect()}
    missing = sorted(set(dates) - present)
    if missing:
        listed = ", ".join(str(d) for d in missing)
        raise TableError(
            f"{table.name} has no rows as of {listed}: run the {table.stage} stage for the run date first"
        )
    return rows


def write_rows(
    ctx: RunContext,
    table: Table,
    rows: Sequence[tuple[Any, ...]],
    dq_results: Table,
    metadata: Mapping[str, Any] | None = None,
) -> WriteResult:
    """``write`` for rows a stage computed in Python (decisions, drift figures), in contract order."""
    schema = table.contract_for(ctx.config.vocabulary).schema
    frame = ctx.spark.createDataFrame(list(rows), schema)
    return write(ctx, table, frame, dq_results, metadata=metadata)
