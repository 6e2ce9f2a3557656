"""The registry guarding production, on the generated lakehouse: promotions recorded, rollback, drift."""

from __future__ import annotations

import mlflow
import pytest
from pyspark.sql import functions as F

from commands import cli
from gold.acceptance_training import MODEL_NAME as ACCEPTANCE_MODEL
from gold.segmentation import MODEL_NAME as SEGMENTS_MODEL
from jobs import models, train
from jobs.common import record_decision
from ops.model_promotions import CHALLENGER, RollbackError
from pipelines import tracking
from pipelines.tables import Lakehouse
from tests.conftest import GENERATED_CUSTOMERS

pytestmark = pytest.mark.e2e


@pytest.fixture
def writable(generated_copy):  # type: ignore[no-untyped-def]
    return generated_copy


def test_training_records_its_promotion_with_both_models_metrics(generated):
    promotions = Lakehouse(generated.spark, generated.config).read("ops.model_promotions")
    first = promotions.where(F.col("model_name") == ACCEPTANCE_MODEL).orderBy("decided_at").first()
    assert first["decision"] == "promoted" and first["champion_version"] is None
    assert first["reason"] == "no champion to compare with" and 0 < first["candidate_pr_auc"] <= 1
    client = tracking.configure(generated.config)
    assert tracking.get_alias(client, ACCEPTANCE_MODEL).version == first["candidate_version"]


def test_rollback_restores_the_previous_champion_and_records_it(writable, capsys):
    client = tracking.configure(writable.config)
    original = tracking.get_alias(client, ACCEPTANCE_MODEL)
    with mlflow.start_run(run_name="a newer champion"):
        newer = tracking.log_model(
            client, tracking.load_model(ACCEPTANCE_MODEL), ACCEPTANCE_MODEL, original.tags
        )
    tracking.set_alias(client, ACCEPTANCE_MODEL, newer.version)
    record_decision(
        writable,
        {
            "model_name": ACCEPTANCE_MODEL,
            "decision": "promoted",
            "candidate_version": newer.version,
            "champion_version": original.version,
            "reason": "test promotion",
        },
    )
    assert cli.main(["models", "rollback", "--root", str(writable.config.root)]) == 0
    assert tracking.get_alias(client, ACCEPTANCE_MODEL).version == original.version
    assert tracking.get_alias(client, ACCEPTANCE_MODEL, CHALLENGER).version == newer.version
    last = (
        Lakehouse(writable.spark, writable.config)
        .read("ops.model_promotions")
        .orderBy(F.col("decided_at").desc())
        .first()
    )
    assert (last["decision"], last["candidate_version"], last["champion_version"]) == (
        "rollback",
        original.version,
        newer.version,
    )
    assert cli.main(["models", "rollback", "--root", str(writable.config.root)]) == 1
    assert "has no earlier champion to restore" in capsys.readouterr().err


def _copy_of_champion(generated, client, tags=None):
    """A new registered version of the acceptance champion (the same fitted pipeline)."""
    champion = tracking.get_alias(client, ACCEPTANCE_MODEL)
    with mlflow.start_run(run_name="a copy"):
        return tracking.log_model(
            client, tracking.load_model(ACCEPTANCE_MODEL), ACCEPTANCE_MODEL, tags or champion.tags
        )


def _promote(generated, client, version, *, move_alias=True):
    champion = tracking.get_alias(client, ACCEPTANCE_MODEL).version
    decision = {"model_name": ACCEPTANCE_MODEL, "decision": "promoted", "candidate_version": version}
    decision |= {"champion_version": champion, "reason": "test promotion"}
    if move_alias:
        models.decide(generated, client, decision)
    else:
        record_decision(generated, decision)  # a run cut off before it moved the alias


def _last_decision(generated):
    promotions = Lakehouse(generated.spark, generated.config).read("ops.model_promotions")
    return (
        promotions.where(F.col("model_name") == ACCEPTANCE_MODEL).orderBy(F.col("decided_at").desc()).first()
    )


def test_a_second_rollback_restores_the_champion_before_not_the_version_rolled_back(writable):
    client = tracking.configure(writable.config)
    original = tracking.get_alias(client, ACCEPTANCE_MODEL).version
    rolled_back = _copy_of_champion(writable, client).version
    _promote(writable, client, rolled_back)
    assert models.rollback(writable, ACCEPTANCE_MODEL) == original
    newest = _copy_of_champion(writable, client).version
    _promote(writable, client, newest)
    assert tracking.get_alias(client, ACCEPTANCE_MODEL).version == newest
    assert models.rollback(writable, ACCEPTANCE_MODEL) == original != rolled_back
    last = _last_decision(writable)
    assert (last["decision"], last["candidate_version"], last["champion_version"]) == (
        "rollback",
        original,
        newest,
    )


def test_a_decision_recorded_before_the_alias_moved_is_finished_by_the_next_command(writable):
    client = tracking.configure(writable.config)
    original = tracking.get_alias(client, ACCEPTANCE_MODEL).version
    pending = _copy_of_champion(writable, client).version
    _promote(writable, client, pending, move_alias=False)
    assert tracking.get_alias(client, ACCEPTANCE_MODEL).version == original
    assert models.rollback(writable, ACCEPTANCE_MODEL) == pending  # finishes the decision, goes no further
    assert _last_decision(writable)["candidate_version"] == pending
    assert models.rollback(writable, ACCEPTANCE_MODEL) == original


def test_a_version_registered_without_a_decision_is_gated_when_training_runs_again(writable):
    client = tracking.configure(writable.config)
    original = tracking.get_alias(client, ACCEPTANCE_MODEL)
    # a run cut off after registering its version and before the gate: same data, same fingerprint
    orphan = _copy_of_champion(writable, client, original.tags).version
    assert train.train_acceptance(writable, client).version == orphan
    last = _last_decision(writable)
    assert (last["decision"], last["candidate_version"], last["champion_version"]) == (
        "promoted",
        orphan,
        original.version,
    )
    # the same fitted pipeline on the same holdout: the gate saw equal metrics
    assert (
        last["candidate_pr_auc"] == last["champion_pr_auc"]
        and last["candidate_profit"] == last["champion_profit"]
    )
    assert tracking.get_alias(client, ACCEPTANCE_MODEL).version == orphan
    # its drivers, which the cut-off run never wrote, are the same pipeline's: the original's
    drivers = writable.lakehouse.read("gold.acceptance_drivers")

    def of(version):  # type: ignore[no-untyped-def]
        rows = drivers.where(F.col("model_version") == version).select("feature", "coefficient").collect()
        return sorted(tuple(r) for r in rows)

    assert of(orphan) == of(original.version) and len(of(orphan)) > 10
    # decided now: the next run reuses it without another decision
    assert train.train_acceptance(writable, client).version == orphan
    assert _last_decision(writable)["decided_at"] == last["decided_at"]
    assert models.rollback(writable, ACCEPTANCE_MODEL) == original.version


def test_segmentation_decisions_are_recorded_and_it_rolls_back_too(writable):
    client = tracking.configure(writable.config)
    promotions = Lakehouse(writable.spark, writable.config).read("ops.model_promotions")
    first = promotions.where(F.col("model_name") == SEGMENTS_MODEL).orderBy("decided_at").first()
    assert (first["decision"], first["reason"], first["holdout_rows"]) == (
        "promoted",
        "no champion to compare with",
        None,
    )
    assert tracking.get_alias(client, SEGMENTS_MODEL).version == first["candidate_version"]
    with pytest.raises(RollbackError, match="has no earlier champion to restore"):
        models.rollback(writable, SEGMENTS_MODEL)


def test_scoring_writes_drift_per_feature_and_for_the_score(generated):
    drift = (
        Lakehouse(generated.spark, generated.config)
        .read("ops.feature_drift")
        .where(F.col("run_id") == generated.run_id)
    )
    rows = {r["feature"]: r for r in drift.collect()}
    assert "acceptance_probability" in rows and "spend_total" in rows and "income" in rows
    assert all(r["psi"] is None or r["psi"] >= 0 for r in rows.values())
    assert all(r["ks"] is None or 0 <= r["ks"] <= 1 for r in rows.values())
    assert {r["model_version"] for r in rows.values()} == {
        tracking.get_alias(tracking.configure(generated.config), ACCEPTANCE_MODEL).version
    }
    # the reference is the whole customer base on the champion's training date (here: the run date),
    # and inputs that grow with time are left out or compared as rates
    assert {(r["reference_as_of"], r["reference_rows"]) for r in rows.values()} == {
        (generated.as_of, GENERATED_CUSTOMERS)
    }
    assert (
        "tenure_days" not in rows and "campaigns_contacted" not in rows and "campaign_acceptance_rate" in rows
    )
    assert not any(r["flagged"] for r in rows.values()) and generated.report["drift"]["flagged"] == []


def test_drift_leaves_out_time_driven_inputs_and_compares_acceptance_as_a_rate(spark):
    from gold import acceptance
    from gold.customer_features import numeric_columns
    from pipelines.config import Vocabulary

    numeric = numeric_columns(Vocabulary())
    features = spark.createDataFrame(
        [(1, 4.0, 1.0)], "customer_id BIGINT, campaigns_contacted DOUBLE, campaigns_accepted DOUBLE"
    )
    features = features.select("*", *[F.lit(1.0).alias(c) for c in numeric if c not in features.columns])
    scores = spark.createDataFrame([(1, 0.3)], "customer_id BIGINT, acceptance_probability DOUBLE")
    row = acceptance.population(features, scores, numeric).collect()[0].asDict()
    assert not set(acceptance.DRIFT_LEFT_OUT) & set(row)
    assert row["campaign_acceptance_rate"] == 0.25 and row["acceptance_probability"] == 0.3
