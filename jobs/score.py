"""Score every current customer with the champion models and write the gold marketing tables."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from pyspark.sql import DataFrame

from gold import acceptance_training as at
from gold import customer_features, customer_marketing, customer_segments, segment_profiles
from gold import segmentation as seg
from jobs.common import job_main
from ops import dq_results, feature_drift
from pipelines import runner, tracking
from pipelines.declare import Table
from pipelines.log import step
from pipelines.runtime import RunContext

DQ = dq_results.TABLE
OUTPUTS = (customer_segments.TABLE, customer_marketing.TABLE, segment_profiles.TABLE, feature_drift.TABLE)


def check_drift(
    ctx: RunContext, scorer: tracking.RegisteredModel, features: DataFrame, key: Mapping[str, Any]
) -> None:
    """Compare today's customers with every customer as of the champion's training date (time-driven
    inputs left out or compared as rates); write ops.feature_drift."""
    reference_as_of = date.fromisoformat(scorer.tags["as_of"])
    trained_on = runner.read_partition(ctx, customer_features.TABLE, reference_as_of)
    populations = at.drift(
        tracking.load_model(at.MODEL_NAME, version=scorer.version), trained_on, features, ctx.config
    )
    before, now = (p.toPandas().to_dict("list") for p in populations)
    keys = {"run_id": ctx.run_id, "as_of_date": ctx.as_of, "model_version": scorer.version}
    settings = ctx.config.model
    thresholds = (settings.drift_psi_threshold, settings.drift_ks_threshold)
    rows = feature_drift.compare(before, now, {**keys, "reference_as_of": reference_as_of}, *thresholds)
    runner.write_rows(ctx, feature_drift.TABLE, rows, DQ, metadata=key)
    flagged = feature_drift.flagged(rows)
    ctx.record("drift", "flagged", flagged)
    ctx.log.info("  drift since the customers of %s: %s", reference_as_of, ", ".join(flagged) or "none")


def run(ctx: RunContext) -> None:
    """Assign segments and acceptance probabilities as of the run date with the champion models.

    Each of its four parts writes one table and records in that commit what it was computed from (the
    date, the champions, the code, the versions of the tables it read); a part whose table's commit for
    the date recorded the same is kept, so a rerun and a run cut off midway do only what is missing."""
    client = tracking.configure(ctx.config)
    run_values = {"as_of": ctx.as_of, "run_id": ctx.run_id}
    segmenter = tracking.get_alias(client, seg.MODEL_NAME)
    scorer = tracking.get_alias(client, at.MODEL_NAME)
    versions = {"segments": segmenter.version, "acceptance": scorer.version}
    ctx.record("score", "model_versions", versions)
    code = runner.code_key(ctx, seg, at, sys.modules[__name__])

    @functools.cache
    def features() -> DataFrame:
        """The run date's features (read once, when a part first needs them)."""
        return runner.read_partition(ctx, customer_features.TABLE, ctx.as_of)

    def segments(key: Mapping[str, Any]) -> None:
        model = tracking.load_model(seg.MODEL_NAME, version=segmenter.version)
        rows = seg.score(
            model, segmenter.tags, segmenter.version, features(), ctx.config.categories, **run_values
        )
        runner.write(ctx, customer_segments.TABLE, rows, DQ, metadata=key)

    def acceptance(key: Mapping[str, Any]) -> None:
        model = tracking.load_model(at.MODEL_NAME, version=scorer.version)
        rows = at.marketing(
            model, scorer.tags, scorer.version, features(), runner.read(ctx, customer_segments.TABLE), ctx.config,
            **run_values,
        )  # fmt: skip
        runner.write(ctx, customer_marketing.TABLE, rows, DQ, metadata=key)

    parts: tuple[tuple[str, Table, tuple[Table, ...], Callable[[Mapping[str, Any]], None]], ...] = (
        (f"score: segments as of {ctx.as_of}", customer_segments.TABLE, (customer_features.TABLE,), segments),
        (f"score: campaign acceptance as of {ctx.as_of}", customer_marketing.TABLE,
         (customer_features.TABLE, customer_segments.TABLE), acceptance),
        ("score: segment profiles", segment_profiles.TABLE, segment_profiles.TABLE.inputs,
         lambda key: runner.refresh(ctx, segment_profiles.TABLE, DQ, metadata=key)),
        ("score: drift of features and score since the champion's training", feature_drift.TABLE,
         (customer_features.TABLE,), lambda key: check_drift(ctx, scorer, features(), key)),
    )  # fmt: skip
    kept = []
    for title, table, reads, work in parts:
        key = {
            "as_of_dates": [str(ctx.as_of)],
            "models": versions,
            "code": code,
            "inputs": {t.name: ctx.lakehouse.version(t.name) for t in reads},
        }
        if runner.written_from(ctx, table, key):
            kept.append(table.name)
            continue
        with step(title):
            work(key)
    if kept:
        ctx.log.info(
            "  kept %s: written as of %s by the same champions (segments v%s, acceptance v%s) from the same "
            "tables", ", ".join(kept), ctx.as_of, segmenter.version, scorer.version,
        )  # fmt: skip


if __name__ == "__main__":
    sys.exit(job_main("score", run))
