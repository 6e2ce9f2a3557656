"""What the training and scoring jobs share: the registered models' names and tags, and reading features."""

from __future__ import annotations

from datetime import date

import mlflow
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from gold import customer_features
from pipelines import tracking
from pipelines.runtime import RunContext

THRESHOLDS_TAG = "objective_thresholds"
SEGMENT_MODEL = "customer_segments"
ACCEPTANCE_MODEL = "campaign_acceptance"


class TrainingError(RuntimeError):
    """The data cannot train a model (no completed campaign, a single class, too few customers)."""


def reuse(
    ctx: RunContext, client: mlflow.MlflowClient, name: str, fingerprint: str
) -> tracking.RegisteredModel | None:
    """The version already trained on identical data and parameters, made champion again; else None."""
    existing = tracking.find_trained(client, name, fingerprint)
    if existing:
        ctx.log.info("  %s: same data and parameters as version %s, reusing it", name, existing.version)
        tracking.set_alias(client, name, existing.version)
    return existing


def read_features(ctx: RunContext, as_of: date) -> DataFrame:
    """The gold.customer_features partition as of ``as_of``; an error naming the stage when it is missing."""
    name = customer_features.contract(ctx.config.vocabulary).name
    features = ctx.lakehouse.read(name).where(F.col("as_of_date") == F.lit(as_of))
    if not features.take(1):
        raise TrainingError(f"{name} has no rows as of {as_of}: run the features stage for that date first")
    return features
