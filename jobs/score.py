"""Score every current customer with the champion models and write the gold marketing tables."""

from __future__ import annotations

import json
import sys

from pyspark.sql import functions as F

from gold import acceptance, customer_features, customer_marketing, customer_segments
from gold.objectives import Economics
from jobs.common import job_main
from jobs.train import ACCEPTANCE_MODEL, SEGMENT_MODEL, THRESHOLDS_TAG
from pipelines import tracking
from pipelines.log import step
from pipelines.runtime import RunContext


def run(ctx: RunContext) -> None:
    """Assign segments and acceptance probabilities as of the run date with the champion models."""
    client = tracking.configure(ctx.config)
    lakehouse, vocabulary = ctx.lakehouse, ctx.config.vocabulary
    features = lakehouse.read(customer_features.contract(vocabulary).name).where(
        F.col("as_of_date") == F.lit(ctx.as_of)
    )
    with step(f"score: segments as of {ctx.as_of}"):
        champion = tracking.get_alias(client, SEGMENT_MODEL)
        mapping = json.loads(champion.tags["segments"])
        names = {int(c): customer_segments.Segment(int(v[0]), str(v[1]), 0) for c, v in mapping.items()}
        clustered = tracking.load_model(SEGMENT_MODEL).transform(customer_segments.segment_input(features))
        segments = customer_segments.assign(
            clustered, names, as_of=ctx.as_of, model_version=champion.version, run_id=ctx.run_id
        )
        written = lakehouse.overwrite(
            customer_segments.CONTRACT, segments, partition={"as_of_date": ctx.as_of}
        )
        ctx.log.info(
            "  %s: %d customers (model version %s)",
            customer_segments.CONTRACT.name,
            written.metric("numOutputRows"),
            champion.version,
        )
    with step(f"score: campaign acceptance as of {ctx.as_of}"):
        scorer = tracking.get_alias(client, ACCEPTANCE_MODEL)
        scores = acceptance.score(
            tracking.load_model(ACCEPTANCE_MODEL), features, customer_features.numeric_columns(vocabulary)
        )
        settings = ctx.config.model
        marketing = customer_marketing.transform(
            lakehouse.read(customer_segments.CONTRACT.name),
            scores,
            as_of=ctx.as_of,
            thresholds=json.loads(scorer.tags.get(THRESHOLDS_TAG, "{}")),
            economics=Economics(settings.contact_cost, settings.revenue_per_acceptance),
            acceptance_model_version=scorer.version,
            run_id=ctx.run_id,
        )
        written = lakehouse.overwrite(
            customer_marketing.CONTRACT, marketing, partition={"as_of_date": ctx.as_of}
        )
        rows = written.metric("numOutputRows")
        ctx.record(
            "score",
            customer_marketing.CONTRACT.name,
            {
                "rows": rows,
                "segment_model_version": champion.version,
                "acceptance_model_version": scorer.version,
                "version": written.version,
            },
        )
        ctx.log.info(
            "  %s: %d customers (acceptance model version %s)",
            customer_marketing.CONTRACT.name,
            rows,
            scorer.version,
        )


if __name__ == "__main__":
    sys.exit(job_main("score", run))
