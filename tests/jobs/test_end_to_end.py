"""Every stage on a small generated lakehouse, then the same day again."""

from __future__ import annotations

import json

import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F

from commands import cli
from jobs import features, run_all, score, train
from jobs.report import print_summary
from pipelines.runtime import RunContext
from pipelines.tables import Lakehouse
from tests.conftest import GENERATED_CUSTOMERS

pytestmark = pytest.mark.e2e
CUSTOMERS = GENERATED_CUSTOMERS


@pytest.fixture
def lakehouse(generated):  # type: ignore[no-untyped-def]
    return generated


def snapshot(ctx: RunContext) -> dict:
    lakehouse = Lakehouse(ctx.spark, ctx.config)
    names = lakehouse.register_catalog()
    frames = {}
    for name in names:
        df = lakehouse.read(name)
        frames[name] = df.drop("evaluated_at").localCheckpoint()  # when the rules last ran, not their content
    return frames


def test_final_table_has_one_scored_segmented_row_per_customer(lakehouse):
    ctx = lakehouse
    marketing = Lakehouse(ctx.spark, ctx.config).read("gold.customer_marketing")
    summary = marketing.agg(
        F.count(F.lit(1)).alias("rows"),
        F.countDistinct("customer_id").alias("customers"),
        F.min("acceptance_probability").alias("lo"),
        F.max("acceptance_probability").alias("hi"),
        F.count_if(F.col("segment_name").isNull()).alias("unsegmented"),
        F.countDistinct("segment_id").alias("segments"),
    ).collect()[0]
    assert summary["rows"] == summary["customers"] == CUSTOMERS
    assert 0.0 <= summary["lo"] < summary["hi"] <= 1.0
    views = (
        Lakehouse(ctx.spark, ctx.config)
        .read("gold.customer_segments")
        .agg(F.countDistinct("value_segment_id"), F.countDistinct("taste_segment_id"))
        .first()
    )
    assert summary["unsegmented"] == 0 and 3 <= views[0] <= 4 and 3 <= views[1] <= 4  # k range 3..4
    assert summary["segments"] <= views[0] * views[1]


def test_summary_shows_tables_rows_segments_metrics_and_how_to_look_inside(lakehouse, capsys):
    print_summary(lakehouse)
    out = capsys.readouterr().out
    names = [
        r["segment_name"]
        for r in Lakehouse(lakehouse.spark, lakehouse.config)
        .read("gold.customer_segments")
        .select("segment_name")
        .distinct()
        .collect()
    ]
    assert str(lakehouse.config.tables_dir) in out and "gold.customer_marketing" in out
    assert all(name in out for name in names)
    assert "ROC AUC" in out and "PR AUC" in out and "silhouette" in out
    assert "lakehouse sql" in out and "mlflow ui" in out


def test_customers_with_past_acceptances_score_higher(lakehouse):
    lakehouse_io = Lakehouse(lakehouse.spark, lakehouse.config)
    features = lakehouse_io.read("gold.customer_features").where(
        F.col("as_of_date") == F.lit(lakehouse.as_of)
    )
    scored = lakehouse_io.read("gold.customer_marketing").join(
        features, ["customer_id", "as_of_date"], how="inner"
    )
    means = {
        r["accepted_before"]: r["mean"]
        for r in scored.groupBy((F.col("campaigns_accepted") > 0).alias("accepted_before"))
        .agg(F.avg("acceptance_probability").alias("mean"))
        .collect()
    }
    assert means[True] > means[False] + 0.1


def test_models_are_registered_and_the_rows_name_their_versions(lakehouse):
    report = lakehouse.report
    versions = {name: info["version"] for name, info in report["models"].items()}
    marketing = Lakehouse(lakehouse.spark, lakehouse.config).read("gold.customer_marketing")
    used = marketing.select("segment_model_version", "acceptance_model_version").distinct().collect()
    assert [tuple(r) for r in used] == [(versions["customer_segments"], versions["campaign_acceptance"])]
    metrics = report["models"]["campaign_acceptance"]["metrics"]
    assert 0.5 < metrics["roc_auc"] <= 1.0 and 0.0 < metrics["pr_auc"] <= 1.0
    assert {table["mode"] for table in report["silver"].values()} == {"full"}  # a first run refines all


def test_running_the_same_day_again_changes_no_table(lakehouse):
    before = snapshot(lakehouse)
    models_before = {k: v["version"] for k, v in lakehouse.report["models"].items()}
    kept = ["gold.campaign_responses", *(t.name for t in score.OUTPUTS)]  # computed from the same inputs
    versions = {name: lakehouse.lakehouse.version(name) for name in kept}
    again = RunContext(lakehouse.spark, lakehouse.config, lakehouse.as_of, lakehouse.run_id)
    run_all.run(again)
    after = snapshot(again)
    assert {name: again.lakehouse.version(name) for name in kept} == versions  # not even a commit
    assert sorted(after) == sorted(before)
    for name, frame in before.items():
        assert_df_equality(
            after[name], frame, ignore_row_order=True, ignore_nullable=True, ignore_metadata=True
        )
    assert {k: v["version"] for k, v in again.report["models"].items()} == models_before
    assert all(v["reused"] for v in again.report["models"].values())
    assert all(r["files"] == 0 for r in again.report["ingest"].values())


def test_a_day_already_done_is_decided_without_a_spark_job(lakehouse):
    """The training dates, both models' reuse and the scores of a day already done are decided from the
    tables' logs and what each step recorded, never by a Spark job (a new process pays ~15 s for its first:
    every attempt resuming a cut-off run used to, before reaching the step it resumes)."""
    again = RunContext(lakehouse.spark, lakehouse.config, lakehouse.as_of, lakehouse.run_id)
    context, group = lakehouse.spark.sparkContext, "a-day-already-done"
    context.setJobGroup(group, "jobs a rerun of a day already done starts")
    try:
        features.training_dates(again)
        train.run(again)
        score.run(again)
        assert context.statusTracker().getJobIdsForGroup(group) == []
        again.lakehouse.read("gold.customer_features").count()  # a Spark job is seen in that group
        assert context.statusTracker().getJobIdsForGroup(group) != []
    finally:
        context.setLocalProperty("spark.jobGroup.id", None)  # type: ignore[arg-type]
    assert all(v["reused"] for v in again.report["models"].values())


def test_a_score_cut_off_resumes_at_the_part_it_did_not_finish(lakehouse):
    """What a run killed during the segment profiles leaves: the first two parts recorded as done, not the
    last two nor the stage. The next run keeps the first two and does the rest; with the first part's
    record gone too, every part is done again (the later ones read what it wrote)."""
    names = [t.name for t in score.OUTPUTS]
    contents = {name: lakehouse.lakehouse.content_hash(name) for name in names}

    def resumed(cut: tuple[str, ...]) -> list[str]:
        for step in cut:
            lakehouse.config.state_path(step).unlink()
        before = {name: lakehouse.lakehouse.version(name) for name in names}
        again = RunContext(lakehouse.spark, lakehouse.config, lakehouse.as_of, lakehouse.run_id)
        score.run(again)
        assert lakehouse.config.state_path("score").is_file()
        assert {name: again.lakehouse.content_hash(name) for name in names} == contents  # no row doubled
        return [name for name in names if again.lakehouse.version(name) != before[name]]

    assert resumed(("score", "score.3", "score.4")) == ["gold.segment_profiles", "ops.feature_drift"]
    assert resumed(("score", "score.1")) == names


def test_sql_command_queries_tables_by_name(lakehouse, capsys):
    root = str(lakehouse.config.root)
    capsys.readouterr()
    code = cli.main(
        [
            "sql",
            "--root",
            root,
            "SELECT count(DISTINCT customer_id) AS customers FROM gold.customer_marketing",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out.replace(" ", "")
    assert "|customers|\n+" in printed and f"|{CUSTOMERS}|" in printed


def test_run_report_is_written(lakehouse):
    path = lakehouse.write_report()
    report = json.loads(open(path).read())
    assert report["run_id"] == lakehouse.run_id and report["as_of"] == str(lakehouse.as_of)
    assert report["score"]["gold.customer_marketing"]["rows"] == CUSTOMERS
