"""gold.customer_marketing: one row per (customer_id, as_of_date): segment, acceptance score and the decision
to contact under each business objective; what marketing targets from."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from gold import customer_features, customer_segments
from gold.objectives import OBJECTIVES, Economics, contact_column, expected_profit
from pipelines.config import Vocabulary
from pipelines.contract import Contract
from pipelines.declare import Table
from pipelines.quality import Check, unique

GRAIN = "one row per customer_id and as_of_date"

CONTRACT = Contract(
    name="gold.customer_marketing",
    ddl=(
        "customer_id BIGINT NOT NULL, as_of_date DATE NOT NULL, segment_id INT NOT NULL, "
        "segment_name STRING NOT NULL, acceptance_probability DOUBLE NOT NULL, expected_profit DOUBLE NOT NULL, "
        "decile INT NOT NULL, "
        + ", ".join(f"{contact_column(o)} BOOLEAN NOT NULL" for o in OBJECTIVES)
        + ", segment_model_version STRING NOT NULL, acceptance_model_version STRING NOT NULL, "
        "run_id STRING NOT NULL"
    ),
    grain=GRAIN,
    primary_key=("customer_id", "as_of_date"),
    partition_by=("as_of_date",),
    comments={
        "segment_id": "segment id: ranked by mean spend at first training (0 = highest), kept across retrains",
        "segment_name": "value tier / recency : category leaning, from the segment's centroid statistics",
        "acceptance_probability": "probability that the customer accepts the next campaign (0..1)",
        "expected_profit": "acceptance_probability x revenue per acceptance - contact cost",
        "decile": "1 = the tenth of customers most likely to accept on this date, 10 = the least likely",
        **{
            contact_column(o): f"contact under the {o.replace('_', ' ')} objective (threshold chosen on "
            "labelled scores the model did not train on)"
            for o in OBJECTIVES
        },
        "segment_model_version": "registered version of the segmentation model that assigned the segment",
        "acceptance_model_version": "registered version of the acceptance model (the champion) that scored",
    },
)


def transform(
    segments: DataFrame,
    scores: DataFrame,
    *,
    as_of: date,
    thresholds: Mapping[str, float],
    economics: Economics,
    acceptance_model_version: str,
    run_id: str,
) -> DataFrame:
    """Join each customer's segment with their score; add expected profit, decile and contact flags."""
    missing = [o for o in OBJECTIVES if o not in thresholds]
    if missing:
        raise ValueError(f"the acceptance model carries no threshold for objective(s) {missing}")
    most_likely_first = Window.orderBy(F.col("acceptance_probability").desc(), F.col("customer_id"))
    probability = F.col("acceptance_probability")
    return (
        segments.where(F.col("as_of_date") == F.lit(as_of))
        .join(scores, "customer_id", how="inner")
        .withColumn("expected_profit", expected_profit(probability, economics))
        .withColumn("decile", F.ntile(10).over(most_likely_first))
        .withColumns({contact_column(o): probability >= F.lit(thresholds[o]) for o in OBJECTIVES})
        .withColumn("segment_model_version", F.col("model_version"))
        .withColumn("acceptance_model_version", F.lit(acceptance_model_version))
        .withColumn("run_id", F.lit(run_id))
        .select(*CONTRACT.select())
    )


def checks(vocabulary: Vocabulary) -> list[Check]:
    return [
        unique("customer_id", "as_of_date"),
        Check(
            "probability_in_0_1",
            lambda: F.col("acceptance_probability").between(0.0, 1.0),
            "fail",
            description="acceptance probabilities are probabilities",
        ),
        Check("decile_in_1_10", lambda: F.col("decile").between(1, 10), "fail"),
    ]


TABLE = Table(
    CONTRACT,
    stage="score",
    write="partition",
    inputs=(customer_segments.TABLE, customer_features.TABLE),
    checks=checks,
    description="the champion acceptance model's scores of the run date's features, joined to the segments",
)


def targets(marketing: DataFrame, *, as_of: date, objective: str | None, budget: int | None) -> DataFrame:
    """The customers to contact on ``as_of``: those an objective flags, or the ``budget`` most likely to
    accept (both: the most likely ``budget`` among the objective's); best first."""
    chosen = marketing.where(F.col("as_of_date") == F.lit(as_of))
    if objective:
        chosen = chosen.where(F.col(contact_column(objective)))
    ranked = chosen.orderBy(F.col("acceptance_probability").desc(), F.col("customer_id"))
    return ranked.limit(budget) if budget else ranked


def totals(targets: DataFrame) -> DataFrame:
    """One row: contacts, expected acceptances and expected profit of a target list."""
    return targets.agg(
        F.count(F.lit(1)).alias("contacts"),
        F.coalesce(F.sum("acceptance_probability"), F.lit(0.0)).alias("acceptances"),
        F.coalesce(F.sum("expected_profit"), F.lit(0.0)).alias("profit"),
    )
