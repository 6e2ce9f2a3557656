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
from collections.abc import Callable, Mapping, Sequence
from datetime import date, timedelta
from types import ModuleType
from typing import Any, TypeVar, cast

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from pipelines import quality
from pipelines.declare import Table, View
from pipelines.refine import record_results
from pipelines.runtime import RunContext, write_json
from pipelines.tables import TableError, WriteResult

T = TypeVar("T")


def read(ctx: RunContext, table: Table) -> DataFrame:
    return ctx.lakehouse.read(table.name)


def refresh(
    ctx: RunContext,
    table: Table,
    dq_results: Table,
    as_of: date | None = None,
    key: Mapping[str, Any] | None = None,
) -> WriteResult:
    """Compute ``table`` from its inputs as of ``as_of`` (default: the run date) and write it; ``key``:
    its ``inputs_key`` when the caller already took it."""
    if table.transform is None:
        raise ValueError(f"{table.name} declares no transform: a model stage writes it")
    as_of = as_of or ctx.as_of
    key = key or inputs_key(ctx, table, as_of)  # what this computation reads, taken before it reads
    run_values: dict[str, Any] = {"as_of": as_of, "run_id": ctx.run_id}
    accepted = inspect.signature(table.transform).parameters
    kwargs = {k: v for k, v in run_values.items() if k in accepted} | dict(table.params(ctx.config))
    inputs = [read(ctx, t) for t in table.inputs]
    frame = table.transform(*inputs, **kwargs)
    if table.explain_empty is not None:
        frame = frame.persist()
        if frame.isEmpty() and any(not i.isEmpty() for i in inputs):
            frame.unpersist()
            cause = table.explain_empty(inputs, as_of, ctx.config).collect()[0]["cause"]
            raise TableError(f"{table.name} as of {as_of}: no row from non-empty inputs. {cause}")
    metadata = None
    if table.write == "partition":
        metadata = {"as_of_date": key["as_of"], "inputs": key["inputs"], "fingerprint": key["fingerprint"]}
    return write(ctx, table, frame, dq_results, as_of=as_of, metadata=metadata)


def inputs_key(ctx: RunContext, table: Table, as_of: date | None = None) -> dict[str, Any]:
    """What decides a computed table's rows: the date, its inputs' versions, its code and parameters."""
    versions = {t.name: ctx.lakehouse.version(t.name) for t in table.inputs}
    return {
        "as_of": str(as_of or ctx.as_of),
        "inputs": versions,
        "fingerprint": table.fingerprint(ctx.config),
    }


def code_key(ctx: RunContext, *modules: ModuleType) -> str:
    """A hash of ``modules``' source and of the config (its root aside): what decides a model stage's
    output besides its inputs and models."""
    settings = {k: v for k, v in dataclasses.asdict(ctx.config).items() if k != "root"}
    parts = [json.dumps(settings, default=str, sort_keys=True), *(inspect.getsource(m) for m in modules)]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def done_before(ctx: RunContext, step: str, key: Mapping[str, Any], outputs: Sequence[Table]) -> bool:
    """Whether ``step`` last finished from the same ``key`` (date, input versions, models, code) and none
    of its ``outputs`` was written since: doing it again would write what they already hold. A step cut
    off before ``mark_done`` is done again."""
    try:
        state = json.loads(ctx.config.state_path(step).read_text())
    except (OSError, ValueError):
        return False
    if state.get("key") != json.loads(json.dumps(key, default=str, sort_keys=True)):
        return False
    lakehouse = ctx.lakehouse
    recorded = state.get("outputs", {})
    return all(
        lakehouse.exists(t.name) and lakehouse.version(t.name) == recorded.get(t.name) for t in outputs
    )


def mark_done(ctx: RunContext, step: str, key: Mapping[str, Any], outputs: Sequence[Table]) -> None:
    """Record that ``step`` finished from ``key``, leaving its ``outputs`` at their current versions."""
    state = {
        "key": json.loads(json.dumps(key, default=str, sort_keys=True)),
        "outputs": {t.name: ctx.lakehouse.version(t.name) for t in outputs},
    }
    write_json(ctx.config.state_path(step), state)


def remembered(ctx: RunContext, name: str, key: Mapping[str, Any], compute: Callable[[], T]) -> T:
    """``compute()``, or what it returned when last called under ``name`` with the same ``key``: for a
    value a stage derives with Spark from tables whose ``Lakehouse.stamp`` is in ``key`` (a training set's
    fingerprint, a few dates), so that a run with nothing new decides what to do without a Spark job.
    The value must survive JSON unchanged."""
    path = ctx.config.state_path(f"remembered/{name}")
    wanted = json.loads(json.dumps(key, default=str, sort_keys=True))
    try:
        state = json.loads(path.read_text())
        if state["key"] == wanted:
            return cast(T, state["value"])
    except (OSError, ValueError, KeyError, TypeError):
        pass  # never computed, or cut off while written: compute it
    value = compute()
    write_json(path, {"key": wanted, "value": value})
    return value


def stamps(ctx: RunContext, *tables: Table) -> dict[str, str]:
    """Each table's ``Lakehouse.stamp``: what names its current content."""
    return {t.name: ctx.lakehouse.stamp(t.name) for t in tables}


def refresh_unless_done(ctx: RunContext, table: Table, dq_results: Table) -> bool:
    """``refresh`` the table as of the run date unless it was last computed from the same inputs, code
    and date and not written since; returns whether it computed."""
    key = inputs_key(ctx, table)
    if done_before(ctx, table.name, key, [table]):
        ctx.log.info("  %s: kept (computed from the same inputs for %s)", table.name, ctx.as_of)
        return False
    refresh(ctx, table, dq_results, key=key)
    mark_done(ctx, table.name, key, [table])
    return True


def outdated(ctx: RunContext, table: Table, as_of: date) -> str | None:
    """Why the ``as_of`` partition of ``table`` must be computed again; None when it was computed by the
    same code and parameters from inputs that have changed since only at or after the day ``as_of`` (read
    from their change feeds, by their ``event_time``): a later day's rows never change an earlier date."""
    lakehouse = ctx.lakehouse
    if ctx.full_refresh:
        return "--full-refresh"
    if not lakehouse.exists(table.name):
        return "first computation"
    written = next((m for _, m in lakehouse.commits(table.name) if m.get("as_of_date") == str(as_of)), None)
    if written is None:
        return "not computed yet"
    if written.get("fingerprint") != table.fingerprint(ctx.config):
        return "its code or parameters changed"
    day_after = F.lit(as_of + timedelta(days=1)).cast("timestamp")
    for source in table.inputs:
        then, now = written.get("inputs", {}).get(source.name), lakehouse.version(source.name)
        if then == now:
            continue
        if then is None or source.event_time is None or not lakehouse.records_changes(source.name):
            return f"{source.name} changed and cannot say when its rows are"
        try:
            changed = lakehouse.changes(source.name, then, now, kinds=None)
            early = changed.where(F.col(source.event_time) < day_after).limit(1).count()
        except Exception as error:  # the feed may not reach back that far (vacuumed, disabled)
            return f"{source.name}'s change feed since version {then} cannot be read ({type(error).__name__})"
        if early:
            return f"{source.name} changed rows on or before {as_of} (since version {then})"
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
    results = quality.evaluate(table.name, quality.flag(frame, checks), checks)
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
    metadata: dict[str, Any] | None = None,
) -> WriteResult:
    """Check ``frame`` and write it by the table's declared mode: append, MERGE on the key, overwrite,
    overwrite the ``as_of`` partition, or replace the rows of this run."""
    as_of = as_of or ctx.as_of
    contract = table.contract_for(ctx.config.vocabulary)
    lakehouse = ctx.lakehouse
    frame = frame.persist()
    try:
        results = check(ctx.on(as_of), table, frame, dq_results)
        if table.write == "append":
            written = lakehouse.append(contract, frame)
        elif table.write == "merge":
            written = lakehouse.merge(contract, frame)
        elif table.write == "overwrite":
            written = lakehouse.overwrite(contract, frame)
        elif table.write == "partition":
            written = lakehouse.overwrite(contract, frame, partition={"as_of_date": as_of}, metadata=metadata)
        else:
            run_values = {"run_id": ctx.run_id, "as_of_date": as_of}
            written = lakehouse.replace_where(contract, frame, {c: run_values[c] for c in table.replace_on})
    finally:
        frame.unpersist()
    _report(ctx, table, written, as_of, results)
    return written


def _report(
    ctx: RunContext, table: Table, written: WriteResult, as_of: date, results: list[quality.RuleResult]
) -> None:
    figures = {"version": written.version, **written.metrics}
    key = table.name if as_of == ctx.as_of else f"{table.name}@{as_of}"
    ctx.record(table.stage, key, {"rows": written.metric("numOutputRows"), **figures})
    if table.write == "merge":
        counts = f"{written.metric('numTargetRowsInserted')} inserted, {written.metric('numTargetRowsUpdated')} updated"
    else:
        counts = f"{written.metric('numOutputRows')} rows"
    when = f" as of {as_of}" if table.write == "partition" else ""
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
    ctx: RunContext, table: Table, rows: Sequence[tuple[Any, ...]], dq_results: Table
) -> WriteResult:
    """``write`` for rows a stage computed in Python (decisions, drift figures), in contract order."""
    schema = table.contract_for(ctx.config.vocabulary).schema
    return write(ctx, table, ctx.spark.createDataFrame(list(rows), schema), dq_results)
