"""Run ids name files and rows: only safe characters pass, and values reach SQL predicates as literals."""

import pytest

from commands import cli
from pipelines.runtime import check_run_id
from pipelines.tables import sql_literal


@pytest.mark.parametrize("run_id", ["run-20260630", "backfill_2026.06.30", "A"])
def test_safe_run_ids_pass(run_id):
    assert check_run_id(run_id) == run_id


@pytest.mark.parametrize("run_id", ["../../escaped", "x\\' OR 1=1 --", "a b", "", "..", "r" * 101, "é"])
def test_other_run_ids_are_refused_naming_the_id(run_id):
    with pytest.raises(ValueError, match="must be 1-100 letters, digits"):
        check_run_id(run_id)


def test_a_bad_run_id_is_one_line_before_any_spark_starts(capsys, tmp_path):
    assert cli.main(["silver", "--run-id", "../../escaped", "--root", str(tmp_path / "lakehouse")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: run id '../../escaped' must be") and err.count("\n") == 1
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("value", ["x\\' OR 1=1 --", "it's", "back\\slash", "\\", "'; DROP TABLE t; --"])
def test_a_string_literal_reads_back_as_the_same_string(spark, value):
    assert spark.sql(f"SELECT {sql_literal(value)} AS v").collect()[0]["v"] == value


def test_only_strings_dates_and_numbers_become_literals():
    assert sql_literal(3) == "3"
    with pytest.raises(TypeError):
        sql_literal(["a"])
