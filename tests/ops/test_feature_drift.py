import numpy as np
import pytest

from ops.feature_drift import ks as ks_statistic
from ops.feature_drift import psi, rows


def test_the_same_distribution_is_stable_and_a_shift_is_flagged():
    rng = np.random.default_rng(1)
    reference = rng.normal(50, 10, 5000)
    same = rng.normal(50, 10, 5000)
    shifted = rng.normal(60, 10, 5000)
    assert psi(reference, same) < 0.02 and ks_statistic(reference, same) < 0.05
    assert psi(reference, shifted) > 0.25 and ks_statistic(reference, shifted) > 0.3
    drift = {
        r["feature"]: r for r in rows({"x": reference, "y": reference}, {"x": same, "y": shifted}, 0.2, 0.1)
    }
    assert not drift["x"]["flagged"] and drift["y"]["flagged"]
    assert drift["y"]["current_mean"] == pytest.approx(60, abs=1)


def test_ks_is_the_largest_gap_between_cumulative_distributions():
    assert ks_statistic([1, 2, 3, 4], [3, 4, 5, 6]) == pytest.approx(0.5)
    assert ks_statistic([1, 2], [1, 2]) == 0.0


def test_nulls_are_left_out_and_empty_sides_give_none():
    assert psi([1.0, float("nan"), 2.0] * 100, [1.0, 2.0] * 100) < 0.01
    assert psi([], [1.0]) is None and ks_statistic([float("nan")], [1.0]) is None


def test_a_category_that_empties_does_not_give_an_infinite_index():
    value = psi([0.0] * 50 + [1.0] * 50, [1.0] * 100)
    assert np.isfinite(value) and value > 1.0
