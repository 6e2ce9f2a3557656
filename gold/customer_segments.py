"""gold.customer_segments: one row per (customer_id, as_of_date): the customer's segment in two views.

Two KMeans views, as in the public two-stage segmentation case:
- value: standardized recency, frequency and monetary features (log spend, log orders, recency, deal share,
  web visits); named by value tier and recency, e.g. ``High value / Recent``;
- taste: each customer's share of spend per category; named by the categories the segment buys more of
  than everyone does, e.g. ``Meat & Wines``.
The combined label reads ``High value / Recent : Meat & Wines``. Ids do not depend on KMeans' arbitrary
cluster numbering: at first training they rank segments (value by spend, taste by size), and a retrain keeps
each segment's id by matching its centroid to the previous model's. Names always come from centroid
statistics.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
from pyspark.ml import Pipeline
from pyspark.ml.clustering import KMeans
from pyspark.ml.feature import StandardScaler, VectorAssembler
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from scipy.optimize import linear_sum_assignment

from gold import customer_features
from pipelines.config import Vocabulary
from pipelines.contract import Contract
from pipelines.declare import Table
from pipelines.quality import Check, unique

CONTRACT = Contract(
    name="gold.customer_segments",
    ddl=(
        "customer_id BIGINT NOT NULL, as_of_date DATE NOT NULL, segment_id INT NOT NULL, "
        "segment_name STRING NOT NULL, value_segment_id INT NOT NULL, value_segment STRING NOT NULL, "
        "taste_segment_id INT NOT NULL, taste_segment STRING NOT NULL, model_version STRING NOT NULL, "
        "run_id STRING NOT NULL"
    ),
    grain="one row per customer_id and as_of_date",
    primary_key=("customer_id", "as_of_date"),
    partition_by=("as_of_date",),
    comments={
        "segment_id": "value_segment_id x 10 + taste_segment_id: one id per combined segment",
        "segment_name": "the combined label: value segment : taste segment",
        "value_segment_id": "value segment; ranked by mean spend at first training (0 = highest), kept across retrains",
        "value_segment": "value tier / recency, from the value segment's centroid statistics",
        "taste_segment_id": "taste segment; ranked by size at first training, kept across retrains",
        "taste_segment": "the categories whose share of spend most exceeds everyone's",
        "model_version": "registered version of the segmentation model",
    },
)

FEATURES = ("log_spend_total", "log_orders_total", "recency_days", "deal_share", "web_visits_30d")
VIEWS = ("value", "taste")
CLUSTER = "cluster"  # the value view's cluster column
TASTE_CLUSTER = "taste_cluster"


def taste_columns(categories: Sequence[str]) -> list[str]:
    return [f"taste_{c}" for c in categories]


def segment_input(features: DataFrame, categories: Sequence[str] = ()) -> DataFrame:
    """The clustering inputs: log-scaled spend and orders (both are heavily skewed), deal share, and each
    category's share of the customer's spend (zero for a customer without spend)."""
    has_spend = F.col("spend_total") > 0
    return features.select(
        "*",
        F.log1p("spend_total").alias("log_spend_total"),
        F.log1p("orders_total").alias("log_orders_total"),
        # at most 1: a source may count deal purchases apart from the channels (the CRM case does)
        F.when(F.col("orders_total") > 0, F.least(F.col("deal_orders") / F.col("orders_total"), F.lit(1.0)))
        .when(F.col("orders_total") == 0, F.lit(0.0))
        .alias("deal_share"),
        *[
            F.when(has_spend, F.col(f"spend_{c}") / F.col("spend_total"))
            .when(~has_spend, F.lit(0.0))
            .alias(t)
            for c, t in zip(categories, taste_columns(categories), strict=True)
        ],
    )


def scaled_column(view: str) -> str:
    """The vector KMeans clusters (and the silhouette is measured on) for a view."""
    return "segment_scaled" if view == "value" else "taste_raw"


def build_pipeline(
    k: int, seed: int, max_iter: int = 30, view: str = "value", categories: Sequence[str] = ()
) -> Pipeline:
    """Value view: standardized FEATURES; taste view: the spend shares as they are (comparable units)."""
    if view == "value":
        return Pipeline(
            stages=[
                VectorAssembler(inputCols=list(FEATURES), outputCol="segment_raw"),
                StandardScaler(
                    inputCol="segment_raw", outputCol="segment_scaled", withMean=True, withStd=True
                ),
                KMeans(featuresCol="segment_scaled", predictionCol=CLUSTER, k=k, seed=seed, maxIter=max_iter),
            ]
        )
    if view == "taste":
        return Pipeline(
            stages=[
                VectorAssembler(inputCols=taste_columns(categories), outputCol="taste_raw"),
                KMeans(
                    featuresCol="taste_raw", predictionCol=TASTE_CLUSTER, k=k, seed=seed, maxIter=max_iter
                ),
            ]
        )
    raise ValueError(f"view must be one of {VIEWS}, not {view!r}")


def profile_columns(categories: Sequence[str]) -> list:  # type: ignore[type-arg]
    """Aggregates per cluster that name it: size, mean spend, recency, orders and category spend."""
    return [
        F.count(F.lit(1)).alias("size"),
        F.avg("spend_total").alias("mean_spend"),
        F.avg("recency_days").alias("mean_recency"),
        F.avg("orders_total").alias("mean_orders"),
        *[F.sum(f"spend_{c}").alias(f"spend_{c}") for c in categories],
    ]


@dataclass(frozen=True)
class ClusterProfile:
    cluster: int
    size: int
    mean_spend: float
    mean_recency: float
    mean_orders: float
    category_spend: Mapping[str, float]


@dataclass(frozen=True)
class Segment:
    segment_id: int
    name: str
    size: int


def _value_tiers(k: int) -> list[str]:
    if k == 1:
        return ["All customers"]
    if k == 2:
        return ["High value", "Low value"]
    middle = ["Mid value"] if k == 3 else ["Upper-mid value", *["Mid value"] * (k - 4), "Lower-mid value"]
    return ["High value", *middle, "Low value"]


def mean_recency(profiles: Sequence[ClusterProfile]) -> float:
    """The population's mean recency, from the clusters' sizes and means (no second pass over the data)."""
    customers = sum(p.size for p in profiles)
    return sum(p.mean_recency * p.size for p in profiles) / customers if customers else 0.0


def centroid(profile: ClusterProfile) -> list[float]:
    """What a segment is, in the units of the data: mean spend, recency, orders and category shares."""
    total = sum(profile.category_spend.values()) or 1.0
    shares = [profile.category_spend[c] / total for c in sorted(profile.category_spend)]
    return [profile.mean_spend, profile.mean_recency, profile.mean_orders, *shares]


def match_previous(
    profiles: Sequence[ClusterProfile], previous: Mapping[int, Sequence[float]]
) -> dict[int, int]:
    """New cluster -> the previous model's segment id with the nearest centroid (one-to-one, minimal total
    distance, each dimension scaled by its spread). Clusters left over when k grew get no entry."""
    matched = _match([centroid(p) for p in profiles], previous)
    return {profiles[i].cluster: segment_id for i, segment_id in matched.items()}


def _match(centroids: Sequence[Sequence[float]], previous: Mapping[int, Sequence[float]]) -> dict[int, int]:
    """Index of each new centroid -> the id of the previous centroid it is paired with (Hungarian method on
    distances scaled by each dimension's spread); unpaired new centroids are left out."""
    if not previous or not centroids:
        return {}
    new = np.array([list(c) for c in centroids], dtype=float)
    old_ids = sorted(previous)
    old = np.array([list(previous[i]) for i in old_ids], dtype=float)
    if old.shape[1] != new.shape[1]:
        return {}  # the categories changed: nothing comparable
    spread = np.vstack([new, old]).std(axis=0)
    spread[spread == 0] = 1.0
    cost = np.linalg.norm((new[:, None, :] - old[None, :, :]) / spread, axis=2)
    rows, cols = linear_sum_assignment(cost)
    return {int(r): old_ids[c] for r, c in zip(rows, cols, strict=True)}


def name_segments(
    profiles: Sequence[ClusterProfile],
    overall_recency: float,
    previous: Mapping[int, Sequence[float]] | None = None,
) -> dict[int, Segment]:
    """Map KMeans cluster numbers to stable ids and readable names.

    Ids: with a previous model, each cluster keeps the id of the previous segment whose centroid it matches
    (new clusters take the next free ids); otherwise ids rank segments by mean spend (0 = highest).

    A name reads ``<value tier> / <Recent|Lapsing> : <Category>-leaning``: the tier from the spend rank,
    recency against the population's mean, and the category whose share of the segment's spend most
    exceeds its share of everyone's spend (every segment buys mostly wine; what sets one apart is the lift).
    """
    ranked = sorted(profiles, key=lambda p: (-p.mean_spend, p.cluster))
    tiers = _value_tiers(len(ranked))
    overall: dict[str, float] = {}
    for profile in profiles:
        for category, amount in profile.category_spend.items():
            overall[category] = overall.get(category, 0.0) + amount
    overall_total = sum(overall.values())
    matched = match_previous(ranked, previous or {})
    free = iter(i for i in range(len(ranked) + len(previous or {})) if i not in matched.values())
    ids = {p.cluster: matched[p.cluster] if p.cluster in matched else next(free) for p in ranked}
    segments: dict[int, Segment] = {}
    used: dict[str, int] = {}
    for profile, tier in zip(ranked, tiers, strict=True):
        segment_id = ids[profile.cluster]
        recency = "Recent" if profile.mean_recency <= overall_recency else "Lapsing"
        name = f"{tier} / {recency}"
        total = sum(profile.category_spend.values())
        if total > 0 and overall_total > 0:
            lift = {
                c: (a / total) / (overall[c] / overall_total)
                for c, a in profile.category_spend.items()
                if overall[c] > 0
            }
            leaning = max(sorted(lift), key=lambda c: lift[c])
            name += f" : {leaning.capitalize()}-leaning"
        used[name] = used.get(name, 0) + 1
        if used[name] > 1:
            name = f"{name} ({used[name]})"
        segments[profile.cluster] = Segment(segment_id, name, profile.size)
    return segments


@dataclass(frozen=True)
class TasteProfile:
    cluster: int
    size: int
    shares: Mapping[str, float]  # mean share of spend per category


def name_tastes(
    profiles: Sequence[TasteProfile], previous: Mapping[int, Sequence[float]] | None = None
) -> dict[int, Segment]:
    """Name taste clusters by the categories whose mean share most exceeds the population's (one, or two
    when the second also stands out by 10%), e.g. ``Meat & Wines``; ids as in ``name_segments``."""
    customers = sum(p.size for p in profiles) or 1
    categories = sorted({c for p in profiles for c in p.shares})
    overall = {c: sum(p.shares.get(c, 0.0) * p.size for p in profiles) / customers for c in categories}
    ranked = sorted(profiles, key=lambda p: (-p.size, p.cluster))
    old = dict(previous or {})
    matched = _match([[p.shares.get(c, 0.0) for c in categories] for p in ranked], old)
    matched = {ranked[i].cluster: v for i, v in matched.items()}
    free = iter(i for i in range(len(ranked) + len(old)) if i not in matched.values())
    segments: dict[int, Segment] = {}
    used: dict[str, int] = {}
    for profile in ranked:
        lift = {c: profile.shares.get(c, 0.0) / overall[c] for c in categories if overall[c] > 0}
        top = sorted(lift, key=lambda c: (-lift[c], c))[:2]
        chosen = top[:1] + [c for c in top[1:] if lift[c] >= 1.1]
        name = " & ".join(c.capitalize() for c in chosen) or "Mixed"
        used[name] = used.get(name, 0) + 1
        if used[name] > 1:
            name = f"{name} ({used[name]})"
        segment_id = matched[profile.cluster] if profile.cluster in matched else next(free)
        segments[profile.cluster] = Segment(segment_id, name, profile.size)
    return segments


def taste_centroid(profile: TasteProfile) -> list[float]:
    return [profile.shares[c] for c in sorted(profile.shares)]


def lookup(mapping: Mapping[int, int | str], key: Column) -> Column:
    """``mapping[key]`` as a column; null for a key it does not hold."""
    if not mapping:
        return F.lit(None)
    pairs = [F.lit(v) for item in mapping.items() for v in item]
    return F.try_element_at(F.create_map(*pairs), key)


def assign(
    clustered: DataFrame,
    values: Mapping[int, Segment],
    tastes: Mapping[int, Segment],
    *,
    as_of: date,
    model_version: str,
    run_id: str,
) -> DataFrame:
    """Attach both views' ids and names and the combined segment to clustered customers."""
    # a customer whose cluster the model does not name gets nulls: the `segmented` rule fails instead of
    # the customer silently leaving the table
    value, taste = F.col(CLUSTER), F.col(TASTE_CLUSTER)
    return (
        clustered.withColumn("value_segment_id", lookup({c: s.segment_id for c, s in values.items()}, value))
        .withColumn("value_segment", lookup({c: s.name for c, s in values.items()}, value))
        .withColumn("taste_segment_id", lookup({c: s.segment_id for c, s in tastes.items()}, taste))
        .withColumn("taste_segment", lookup({c: s.name for c, s in tastes.items()}, taste))
        .withColumn("segment_id", F.col("value_segment_id") * 10 + F.col("taste_segment_id"))
        .withColumn("segment_name", F.concat_ws(" : ", "value_segment", "taste_segment"))
        .withColumn("as_of_date", F.lit(as_of))
        .withColumn("model_version", F.lit(model_version))
        .withColumn("run_id", F.lit(run_id))
        .select(*CONTRACT.select())
    )


def checks(vocabulary: Vocabulary) -> list[Check]:
    return [
        unique("customer_id", "as_of_date"),
        Check(
            "segmented",
            lambda: F.col("value_segment_id").isNotNull() & F.col("taste_segment_id").isNotNull(),
            "fail",
            description="every customer with features is in a named segment of both views",
        ),
    ]


TABLE = Table(
    CONTRACT,
    stage="score",
    write="partition",
    inputs=(customer_features.TABLE,),
    checks=checks,
    description="the champion segmentation model applied to the run date's features (assign)",
)
