"""Every stage on a small generated lakehouse, then the same day again."""

from __future__ import annotations

import json

import pytest
from pyspark.sql import functions as F

from commands import cli
from jobs import run_all, score
from jobs.report import print_summary
from ops import dq_results
from pipelines import runner
from pipelines.runtime import RunContext
from pipelines.tables import Lakehouse
from tests.conftest import GENERATED_CUSTOMERS

pytestmark = pytest.mark.e2e
CUSTOMERS = GENERATED_CUSTOMERS
RERUN_JOBS = 40  # Spark jobs a rerun of a day already done may start: reading what decides
# The work a first run of the generated lakehouse may do per stage: (Spark jobs, Delta commits), set a
# little above what it does (ingest 17 jobs and 12 commits, silver 60 and 22, features 34 and 6, train 153
# and 6, score 41 and 11: scoring uses the models training just fitted, no load). The counts do not move
# with the machine's load: a change that adds work to a stage fails here, naming it.
CEILINGS = {
    "ingest": (25, 14), "silver": (75, 24), "features": (45, 7), "train": (180, 8), "score": (55, 12),
    "publish": (5, 0), "summary": (15, 0),
}  # fmt: skip


@pytest.fixture
def lakehouse(generated):  # type: ignore[no-untyped-def]
    return generated


@pytest.fixture
def writable(generated_copy):  # type: ignore[no-untyped-def]
    return generated_copy


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


def test_each_stage_of_a_first_run_stays_under_its_ceiling_of_spark_jobs_and_commits(lakehouse):
    done = lakehouse.work.as_dict()
    assert list(done) == list(CEILINGS)
    over = [
        f"{stage}: {done[stage][what]} {what} (ceiling {ceiling})"
        for stage, ceilings in CEILINGS.items()
        for what, ceiling in zip(("jobs", "commits"), ceilings, strict=True)
        if done[stage][what] > ceiling
    ]
    assert not over, "more work than the ceiling: " + "; ".join(over)
    assert sum(w["jvm_starts"] for w in done.values()) == 0  # the stages share the run's one session


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


def test_running_the_same_day_again_changes_no_table_and_starts_few_jobs(writable):
    """Training dates, both models' reuse and the scores of a day already done are decided from the tables'
    commits and the models' fingerprints: nothing is written again, and the few jobs left are reads."""
    # a Delta table at the version it had holds the rows it had: no table of the lakehouse moves
    before = {name: writable.lakehouse.version(name) for name in writable.lakehouse.tables()}
    models_before = {k: v["version"] for k, v in writable.report["models"].items()}
    again = RunContext(writable.spark, writable.config, writable.as_of, writable.run_id)
    run_all.run(again)
    done = again.work.as_dict()
    decided = {stage: done[stage] for stage in ("features", "train", "score")}
    assert all((w["commits"], w["files"]) == (0, 0) for w in decided.values()), decided
    jobs = sum(w["jobs"] for w in decided.values())
    assert jobs <= RERUN_JOBS, (
        f"a rerun of a day already done started {jobs} Spark jobs (ceiling {RERUN_JOBS})"
    )
    after = {name: again.lakehouse.version(name) for name in again.lakehouse.tables()}
    assert after == before, {
        name: (before.get(name), v) for name, v in after.items() if before.get(name) != v
    }
    assert {k: v["version"] for k, v in again.report["models"].items()} == models_before
    assert all(v["reused"] for v in again.report["models"].values())
    assert all(r["files"] == 0 for r in again.report["ingest"].values())


def _unrecorded_write(ctx: RunContext, table) -> None:  # type: ignore[no-untyped-def]
    """What a run cut off before a part's commit leaves, seen from the table: its commit for the date is not
    the part's record (here: the same rows written again without one)."""
    rows = ctx.lakehouse.read(table.name).where(F.col("as_of_date") == F.lit(ctx.as_of)).localCheckpoint()
    runner.write(ctx, table, rows, dq_results.TABLE)


def test_a_score_cut_off_resumes_at_the_part_it_did_not_finish(writable):
    """A part is done when its table's commit for the date records the same champions, code and input
    versions. Parts 3 and 4 not recorded: the next run keeps the first two and does the rest; the first
    part not recorded: it and every part that reads what it wrote are done again."""
    names = [t.name for t in score.OUTPUTS]
    contents = {name: writable.lakehouse.content_hash(name) for name in names}

    def resumed(cut: tuple[int, ...]) -> list[str]:
        for part in cut:
            _unrecorded_write(writable, score.OUTPUTS[part])
        before = {name: writable.lakehouse.version(name) for name in names}
        again = RunContext(writable.spark, writable.config, writable.as_of, writable.run_id)
        score.run(again)
        assert {name: again.lakehouse.content_hash(name) for name in names} == contents  # no row doubled
        return [name for name in names if again.lakehouse.version(name) != before[name]]

    assert resumed((2, 3)) == ["gold.segment_profiles", "ops.feature_drift"]
    # segments written again: the parts that read them (acceptance, then profiles) are done again; drift
    # reads only the features and the champions, and is kept
    assert resumed((0,)) == names[:3]


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
