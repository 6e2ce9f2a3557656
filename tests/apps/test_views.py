"""The app's tables from pandas against the same answers from Spark (`lakehouse targets`' functions)."""

from __future__ import annotations

import pytest
from pyspark.sql import functions as F

from apps import views
from gold import customer_marketing
from gold.objectives import OBJECTIVES
from pipelines import pandas_io, runner

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(
    ("objective", "budget"), [*[(o, None) for o in OBJECTIVES], (None, 25), ("balanced", 10)]
)
def test_target_lists_and_totals_equal_sparks(generated, objective, budget):  # type: ignore[no-untyped-def]
    name = customer_marketing.TABLE.name
    as_of = pandas_io.latest_as_of(name, generated.config)
    marketing = pandas_io.read_table(name, generated.config, filters=[("as_of_date", "=", as_of)])
    ours = views.targets(marketing.set_index("customer_id", drop=False), objective, budget)
    spark = customer_marketing.targets(
        runner.read(generated, customer_marketing.TABLE), as_of=marketing["as_of_date"].iloc[0],
        objective=objective, budget=budget,
    )  # fmt: skip
    assert list(ours["customer_id"]) == [r[0] for r in spark.select("customer_id").collect()]
    total = customer_marketing.totals(spark).collect()[0]
    got = views.totals(ours)
    assert got["contacts"] == total["contacts"]
    assert got["acceptances"] == pytest.approx(total["acceptances"], abs=1e-9)
    assert got["profit"] == pytest.approx(total["profit"], abs=1e-9)


@pytest.mark.parametrize(
    ("spend", "recency", "orders", "rule"),
    [(1.5, 1.5, 0.5, 0), (1.5, 0.8, 2.0, 1), (0.6, 0.9, 1.3, 2), (0.5, 1.6, 0.4, 3), (0.9, 1.0, 0.7, 4)],
)
def test_each_profile_gets_its_rules_action(spend, recency, orders, rule):  # type: ignore[no-untyped-def]
    assert views.suggested_action(spend, recency, orders) == views.ACTIONS[rule][1]


def test_segments_view_sums_to_every_customer(generated):  # type: ignore[no-untyped-def]
    name = "gold.segment_profiles"
    as_of = pandas_io.latest_as_of(name, generated.config)
    profiles = pandas_io.read_table(name, generated.config, filters=[("as_of_date", "=", as_of)])
    view = views.segments(profiles)
    customers = runner.read(generated, customer_marketing.TABLE).where(F.col("as_of_date") == as_of).count()
    assert view["customers"].sum() == customers and view["share"].sum() == pytest.approx(1.0)
    assert list(view["revenue share"]) == sorted(view["revenue share"], reverse=True)
