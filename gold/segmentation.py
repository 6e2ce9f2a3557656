"""Training the segmentation model that writes gold.customer_segments: k by silhouette per view, cluster
profiles, stable ids and names, and the tags that carry them with the registered model.

Pure functions of DataFrames and settings: they fit Spark ML models and collect small per-cluster
aggregates, but never read or write a table; the train job logs what they return to MLflow.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from pyspark.ml import PipelineModel
from pyspark.ml.evaluation import ClusteringEvaluator
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from gold import customer_segments as cs
from pipelines.config import ModelSettings
from pipelines.errors import PipelineError

MODEL_NAME = "customer_segments"
TAG_VIEWS = {"value": "segments", "taste": "tastes"}  # view -> the model-version tag naming its segments


class SegmentationError(PipelineError):
    """The features cannot be segmented (too few customers)."""


@dataclass(frozen=True)
class KFit:
    k: int
    silhouette: float
    inertia: float
    smallest_share: float


@dataclass(frozen=True)
class ViewFit:
    view: str
    fits: Mapping[int, KFit]
    k: int
    model: PipelineModel  # the view's Spark ML pipeline, fitted at the chosen k on every customer

    @property
    def best(self) -> KFit:
        return self.fits[self.k]

    def metrics(self) -> dict[int, dict[str, float]]:
        return {
            k: {"silhouette": f.silhouette, "inertia": f.inertia, "smallest_share": f.smallest_share}
            for k, f in self.fits.items()
        }


SILHOUETTE_SAMPLE = 10_000  # customers the silhouette of each k is measured on (all of them below)


def view_matrix(customers: pd.DataFrame, view: str, categories: Sequence[str]) -> np.ndarray:
    """What a view clusters, in memory: the value features standardized as the Spark pipeline does
    (mean 0, sample deviation 1), the taste shares as they are."""
    if view == "taste":
        return customers[cs.taste_columns(categories)].to_numpy(float)
    raw = customers[list(cs.FEATURES)].to_numpy(float)
    deviation = raw.std(axis=0, ddof=1)
    return np.where(deviation > 0, (raw - raw.mean(axis=0)) / np.where(deviation > 0, deviation, 1.0), 0.0)


def search_k(matrix: np.ndarray, k_values: Sequence[int], seed: int, max_iter: int) -> dict[int, KFit]:
    """KMeans for every k in memory (scikit-learn): silhouette (squared Euclidean, as Spark measures it;
    on a sample of ``SILHOUETTE_SAMPLE`` customers beyond that), inertia and the smallest segment's share."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    fits = {}
    sample = min(len(matrix), SILHOUETTE_SAMPLE)
    for k in k_values:
        fitted = KMeans(n_clusters=k, random_state=seed, max_iter=max_iter, n_init=3).fit(matrix)
        sizes = np.bincount(fitted.labels_, minlength=k)
        silhouette = silhouette_score(
            matrix, fitted.labels_, metric="sqeuclidean", sample_size=sample, random_state=seed
        )
        fits[k] = KFit(k, float(silhouette), float(fitted.inertia_), float(sizes.min() / max(sizes.sum(), 1)))
    return fits


def fit_view(
    data: DataFrame,
    customers: pd.DataFrame,
    view: str,
    k_values: Sequence[int],
    settings: ModelSettings,
    categories: Sequence[str],
) -> ViewFit:
    """Choose k by silhouette in memory among the k whose smallest segment holds at least
    ``segment_min_share`` of the customers (a segment of a handful of outliers is no persona); then fit
    the view's Spark ML pipeline at that k on every customer."""
    matrix = view_matrix(customers, view, categories)
    fits = search_k(matrix, k_values, settings.seed, settings.segment_max_iter)
    usable = [k for k in fits if fits[k].smallest_share >= settings.segment_min_share] or list(fits)
    k = max(usable, key=lambda k: (fits[k].silhouette, -k))
    model = cs.build_pipeline(k, settings.seed, settings.segment_max_iter, view, categories).fit(data)
    return ViewFit(view, fits, k, model)


def value_profiles(clustered: DataFrame) -> list[cs.ClusterProfile]:
    rows = clustered.groupBy(cs.CLUSTER).agg(*cs.profile_columns(())).collect()
    return [
        cs.ClusterProfile(
            cluster=int(r[cs.CLUSTER]),
            size=int(r["size"]),
            mean_spend=float(r["mean_spend"]),
            mean_recency=float(r["mean_recency"]),
            mean_orders=float(r["mean_orders"]),
            category_spend={},  # the taste view names what they buy
        )
        for r in rows
    ]


def taste_profiles(clustered: DataFrame, categories: Sequence[str]) -> list[cs.TasteProfile]:
    columns = cs.taste_columns(categories)
    rows = (
        clustered.groupBy(cs.TASTE_CLUSTER)
        .agg(F.count(F.lit(1)).alias("size"), *[F.avg(t).alias(t) for t in columns])
        .collect()
    )
    return [
        cs.TasteProfile(
            cluster=int(r[cs.TASTE_CLUSTER]),
            size=int(r["size"]),
            shares={c: float(r[t]) for c, t in zip(categories, columns, strict=True)},
        )
        for r in rows
    ]


def encode(segments: Mapping[int, cs.Segment], centroids: Mapping[int, list[float]]) -> str:
    """A view's segments as a model-version tag: cluster -> [segment id, name, centroid]."""
    return json.dumps({str(c): [s.segment_id, s.name, centroids[c]] for c, s in segments.items()})


def decode(tags: Mapping[str, str], view: str) -> dict[int, cs.Segment]:
    """The segments a registered model's tag names for a view, by KMeans cluster number."""
    entries = json.loads(tags.get(TAG_VIEWS[view], "{}"))
    return {int(c): cs.Segment(int(v[0]), str(v[1]), 0) for c, v in entries.items()}


def centroids_of(tags: Mapping[str, str]) -> dict[str, dict[int, list[float]]]:
    """Per view, the segment ids and centroids a registered model carries: a retrain keeps the ids."""
    return {
        view: {int(v[0]): list(v[2]) for v in json.loads(tags.get(tag, "{}")).values() if len(v) > 2}
        for view, tag in TAG_VIEWS.items()
    }


@dataclass(frozen=True)
class Segmentation:
    model: PipelineModel
    views: Mapping[str, ViewFit]
    segments: Mapping[str, Mapping[int, cs.Segment]]  # view -> cluster -> segment
    tags: Mapping[str, str]
    rows: int
    sizes: Mapping[str, int] = field(default_factory=dict)  # combined label -> customers

    def logged(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """What the MLflow run records besides the per-k curves (``tracking.log``'s arguments)."""
        value = self.views["value"]
        return {
            "params": {**params, "rows": self.rows},
            "metrics": {"k": value.k, "best_silhouette": value.best.silhouette},
            "dicts": {"segment_sizes.json": self.sizes},
        }

    def lines(self) -> list[str]:
        """One line per k tried and per segment chosen, for the run log."""
        lines = []
        for view, fitted in self.views.items():
            lines += [
                f"{view} view k={k}: silhouette {m['silhouette']:.3f}, smallest segment {m['smallest_share']:.1%}"
                for k, m in fitted.metrics().items()
            ]
            lines += [
                f"  {view} {s.segment_id} {s.name:<28} {s.size:6d} customers"
                for s in self.segments[view].values()
            ]
        return lines


def in_memory(data: DataFrame, categories: Sequence[str], seed: int, max_rows: int) -> pd.DataFrame:
    """The customers the k search sees, in one read: every one, or a sample of about ``max_rows``."""
    columns = [*cs.FEATURES, *cs.taste_columns(categories)]
    share = F.pmod(F.xxhash64("customer_id", F.lit(seed)), F.lit(1_000_000)) / 1_000_000.0
    rows = data.select("customer_id", *columns, share.alias("_share"))
    customers = rows.toPandas()
    if len(customers) > max_rows:
        customers = customers[customers["_share"] < max_rows / len(customers)]
    return customers.drop(columns="_share")


def train(
    data: DataFrame,
    settings: ModelSettings,
    categories: Sequence[str],
    previous: Mapping[str, Mapping[int, Sequence[float]]],
) -> Segmentation:
    """Both views with k by silhouette, one combined model, segments named and matched to ``previous``."""
    customers = in_memory(data, categories, settings.seed, settings.selection_rows)
    n = len(customers)
    k_values = [k for k in range(settings.segment_k_min, settings.segment_k_max + 1) if k < n]
    if not k_values:
        raise SegmentationError(f"{n} customers with features: too few to segment")
    views = {view: fit_view(data, customers, view, k_values, settings, categories) for view in TAG_VIEWS}
    model = PipelineModel(stages=[*views["value"].model.stages, *views["taste"].model.stages])
    clustered = model.transform(data).persist()
    values, tastes = value_profiles(clustered), taste_profiles(clustered, categories)
    segments = {
        "value": cs.name_segments(values, cs.mean_recency(values), previous.get("value")),
        "taste": cs.name_tastes(tastes, previous.get("taste")),
    }
    tags = {
        TAG_VIEWS["value"]: encode(segments["value"], {p.cluster: cs.centroid(p) for p in values}),
        TAG_VIEWS["taste"]: encode(segments["taste"], {p.cluster: cs.taste_centroid(p) for p in tastes}),
    }
    counted = clustered.groupBy(cs.CLUSTER, cs.TASTE_CLUSTER).count().collect()
    clustered.unpersist()
    sizes = {f"{segments['value'][r[0]].name} : {segments['taste'][r[1]].name}": int(r[2]) for r in counted}
    return Segmentation(model, views, segments, tags, n, sizes)


def silhouette(model: PipelineModel, data: DataFrame) -> float:
    """The value view's silhouette of a fitted segmentation on ``data`` (segment input)."""
    evaluator = ClusteringEvaluator(featuresCol=cs.scaled_column("value"), predictionCol=cs.CLUSTER)
    return float(evaluator.evaluate(model.transform(data)))


def compare(
    candidate: PipelineModel,
    candidate_tags: Mapping[str, str],
    champion: PipelineModel | None,
    champion_tags: Mapping[str, str],
    data: DataFrame,
) -> dict[str, float]:
    """What the segmentation gate weighs, on the same customers: the candidate's silhouette, the
    champion's, and the share of customers whose value segment stays the same."""
    found = {"silhouette": silhouette(candidate, data)}
    if champion is None:
        return found | {"customers": float(data.count())}
    found["champion_silhouette"] = silhouette(champion, data)
    segment = {
        side: candidate_or_champion.transform(data).select(
            "customer_id",
            cs.lookup({c: s.segment_id for c, s in decode(tags, "value").items()}, F.col(cs.CLUSTER)).alias(
                side
            ),
        )
        for side, candidate_or_champion, tags in (
            ("new", candidate, candidate_tags),
            ("old", champion, champion_tags),
        )
    }
    row = (
        segment["new"]
        .join(segment["old"], "customer_id", how="inner")
        .agg(
            F.count(F.lit(1)).alias("n"),
            F.avg(F.col("new").eqNullSafe(F.col("old")).cast("double")).alias("kept"),
        )
        .first()
    )
    assert row is not None
    return found | {"customers": float(row["n"]), "kept_share": float(row["kept"] or 0.0)}


def score(
    model: PipelineModel, tags: Mapping[str, str], version: str, features: DataFrame, categories: Sequence[str], *,
    as_of: date, run_id: str,
) -> DataFrame:  # fmt: skip
    """gold.customer_segments rows: the registered model's clusters, named by the segments its tags carry."""
    value, taste = decode(tags, "value"), decode(tags, "taste")
    if not taste:
        raise SegmentationError(
            f"{MODEL_NAME} version {version} predates the taste view: run `lakehouse train`"
        )
    clustered = model.transform(cs.segment_input(features, categories))
    return cs.assign(clustered, value, taste, as_of=as_of, model_version=version, run_id=run_id)
