"""The k search in memory: the silhouette it ranks k by is Spark ML's (squared Euclidean), and the k of
well-separated groups wins."""

from __future__ import annotations

import numpy as np
import pytest
from pyspark.ml.evaluation import ClusteringEvaluator
from pyspark.ml.linalg import Vectors

from gold.segmentation import search_k


def _blobs(sizes: list[int], seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centers = [(0.0, 0.0), (6.0, 0.0), (0.0, 6.0), (6.0, 6.0)]
    return np.vstack([rng.normal(centers[i], 0.6, (n, 2)) for i, n in enumerate(sizes)])


def test_the_k_of_separated_groups_has_the_best_silhouette_and_its_smallest_share():  # type: ignore[no-untyped-def]
    fits = search_k(_blobs([90, 60, 30], seed=1), [2, 3, 4], seed=7, max_iter=30)
    assert max(fits, key=lambda k: fits[k].silhouette) == 3
    assert fits[3].smallest_share == pytest.approx(30 / 180)
    assert fits[2].inertia > fits[3].inertia > fits[4].inertia


def test_its_silhouette_is_spark_ml_s(spark):  # type: ignore[no-untyped-def]
    from sklearn.cluster import KMeans

    matrix = _blobs([40, 40, 40, 40], seed=2)
    labels = KMeans(n_clusters=4, random_state=7, max_iter=30, n_init=3).fit(matrix).labels_
    rows = [(Vectors.dense(x), int(c)) for x, c in zip(matrix, labels, strict=True)]
    spark_silhouette = ClusteringEvaluator(predictionCol="prediction", featuresCol="features").evaluate(
        spark.createDataFrame(rows, ["features", "prediction"])
    )
    assert search_k(matrix, [4], seed=7, max_iter=30)[4].silhouette == pytest.approx(
        spark_silhouette, abs=1e-9
    )
