"""Score every current customer with the champion models and write the gold marketing tables."""

from __future__ import annotations

import functools
import sys
from datetime import date

from pyspark.sql import DataFrame

from gold import acceptance_training as at
from gold import (
    customer_features,
    customer_marketing,
    customer_segments,
    segment_profiles,
)
from gold import segmentation as seg
from jobs.common import job_main
from ops import dq_results, feature_drift
from pipelines import runner, tracking
from pipelines.log import step
from pipelines.runtime import RunContext

DQ = dq_results.TABLE


def check_drift(ctx: RunContext, scorer: tracking.RegisteredModel, features: DataFrame) -> None:
    """Compare today's customers with every customer as of the champion's training date (time-driven
    inputs left out or compared as rates); write ops.feature_drift."""
    reference_as_of = date.fromisoformat(scorer.tags["as_of"])
    trained_on = runner.read_partition(ctx, customer_features.TABLE, reference_as_of)
    populations = at.drift(tracking.load_model(at.MODEL_NAME), trained_on, features, ctx.config)
    before, now = (p.toPandas().to_dict("list") for p in populations)
    keys = {"run_id": ctx.run_id, "as_of_date": ctx.as_of, "model_version": scorer.version}
    settings = ctx.config.model
    thresholds = (settings.drift_psi_threshold, settings.drift_ks_threshold)
    rows = feature_drift.compare(before, now, {**keys, "reference_as_of": reference_as_of}, *thresholds)
    runner.write_rows(ctx, feature_drift.TABLE, rows, DQ)
    flagged = feature_drift.flagged(rows)
    ctx.record("drift", "flagged", flagged)
    ctx.log.info("  drift since the customers of %s: %s", reference_as_of, ", ".join(flagged) or "none")


OUTPUTS = (customer_segments.TABLE, customer_marketing.TABLE, segment_profiles.TABLE, feature_drift.TABLE)


def run(ctx: RunContext) -> None:
    """Assign segments and acceptance probabilities as of the run date with the champion models.

    Kept when the same champions already scored the same features with the same code; each of its four
    parts is kept on its own too, so a run cut off in one part resumes there."""
    client = tracking.configure(ctx.config)
    run_values = {"as_of": ctx.as_of, "run_id": ctx.run_id}
    segmenter = tracking.get_alias(client, seg.MODEL_NAME)
    scorer = tracking.get_alias(client, at.MODEL_NAME)
    versions = {"segments": segmenter.version, "acceptance": scorer.version}
    ctx.record("score", "model_versions", versions)
    key = {
        "as_of": str(ctx.as_of),
        "features": ctx.lakehouse.version(customer_features.TABLE.name),
        "models": versions,
        "code": runner.code_key(ctx, seg, at, sys.modules[__name__]),
    }
    if runner.done_before(ctx, "score", key, OUTPUTS):
        ctx.log.info(
            "  scores as of %s kept: the same champions (segments v%s, acceptance v%s) scored the same "
            "features", ctx.as_of, segmenter.version, scorer.version,
        )  # fmt: skip
        return

    @functools.cache
    def features() -> DataFrame:
        """The run date's features (read once, when a part first needs them)."""
        return runner.read_partition(ctx, customer_features.TABLE, ctx.as_of)

    def segments() -> None:
        model = tracking.load_model(seg.MODEL_NAME)
        rows = seg.score(
            model, segmenter.tags, segmenter.version, features(), ctx.config.categories, **run_values
        )
        runner.write(ctx, customer_segments.TABLE, rows, DQ)

    def acceptance() -> None:
        model = tracking.load_model(at.MODEL_NAME)
        rows = at.marketing(
            model, scorer.tags, scorer.version, features(), runner.read(ctx, customer_segments.TABLE), ctx.config,
            **run_values,
        )  # fmt: skip
        runner.write(ctx, customer_marketing.TABLE, rows, DQ)

    parts = (
        (f"score: segments as of {ctx.as_of}", segments),
        (f"score: campaign acceptance as of {ctx.as_of}", acceptance),
        ("score: segment profiles", lambda: runner.refresh(ctx, segment_profiles.TABLE, DQ)),
        ("score: drift of features and score since the champion's training", lambda: check_drift(ctx, scorer, features())),
    )  # fmt: skip
    for n, (title, work) in enumerate(parts):
        # a part is done when it finished from the same key and neither its output nor an earlier part's
        # was written since (an earlier part done again means this one reads new rows)
        name, outputs = f"score.{n + 1}", OUTPUTS[: n + 1]
        if runner.done_before(ctx, name, key, outputs):
            ctx.log.info(
                "  %s: kept (done from the same champions and features before the run was cut off)", title
            )
            continue
        with step(title):
            work()
        runner.mark_done(ctx, name, key, outputs)
    runner.mark_done(ctx, "score", key, OUTPUTS)


if __name__ == "__main__":
    sys.exit(job_main("score", run))
