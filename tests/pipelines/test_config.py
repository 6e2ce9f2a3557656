from datetime import date
from pathlib import Path

import pytest

from pipelines.config import ConfigError, load_config


def test_defaults_put_everything_under_a_lakehouse_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = load_config(environ={})
    assert config.root == tmp_path / "lakehouse"
    assert config.landing("orders") == tmp_path / "lakehouse" / "landing" / "orders"
    assert (
        config.table_path("gold.customer_marketing")
        == tmp_path / "lakehouse" / "tables" / "gold" / "customer_marketing"
    )
    assert config.mlflow_tracking_uri == f"sqlite:///{tmp_path / 'lakehouse' / 'mlflow' / 'mlflow.db'}"
    assert config.categories == ("wines", "fruits", "meat", "fish", "sweets", "gold")


def test_file_then_environment_then_overrides(tmp_path):
    file = tmp_path / "conf" / "lakehouse.toml"
    file.parent.mkdir()
    file.write_text(
        'root = "data"\ncategories = ["pizza", "sushi"]\n[spark]\nmaster = "local[1]"\nshuffle_partitions = 3\n'
        "[sample]\nend_date = 2025-01-31\n"
    )
    environ = {"LAKEHOUSE_SPARK_SHUFFLE_PARTITIONS": "5", "LAKEHOUSE_CHANNELS": "app, phone"}
    config = load_config(file, overrides={"spark": {"master": "local[2]"}}, environ=environ)
    assert config.root == file.parent / "data"  # relative to the config file
    assert config.categories == ("pizza", "sushi")
    assert config.channels == ("app", "phone")
    assert config.spark.shuffle_partitions == 5
    assert config.spark.master == "local[2]"
    assert config.sample.end_date == date(2025, 1, 31)


def test_config_file_from_environment_variable(tmp_path):
    file = tmp_path / "x.toml"
    file.write_text("[model]\nseed = 11\n")
    assert load_config(environ={"LAKEHOUSE_CONFIG": str(file)}).model.seed == 11


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[spark]\nmastr = 'x'\n", "unknown config key 'spark.mastr'"),
        ("[spark]\nshuffle_partitions = 'many'\n", "spark.shuffle_partitions"),
        ("root = \n", "not valid TOML"),
        ("spark = 3\n", "must be a table"),
        ("[ingest]\non_changed = 'overwrite'\n", r"ingest.on_changed must be one of \('refuse', 'ingest'\)"),
        ("[ingest]\nsettle_seconds = -5\n", "ingest.settle_seconds must be 0 or more"),
        ("[ingest]\nmax_line_bytes = 10\n", "ingest.max_line_bytes must be 1024 or more"),
        ("[model]\ntree_baseline = 'maybe'\n", "model.tree_baseline.*not true or false"),
        ("[model]\ntree_baseline = 1\n", "model.tree_baseline.*not true or false"),
    ],
)
def test_bad_config_names_the_key(tmp_path, text, message):
    file = tmp_path / "bad.toml"
    file.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(file, environ={})


def test_missing_config_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml", environ={})


def test_table_names_must_have_a_layer():
    config = load_config(overrides={"root": Path("/tmp/x")}, environ={})
    with pytest.raises(ConfigError, match=r"<layer>\.<table>"):
        config.table_path("customer_marketing")


@pytest.mark.parametrize(("text", "expected"), [("no", False), ("Off", False), ("true", True), ("1", True)])
def test_a_flag_from_the_environment_reads_the_usual_words(text, expected):
    assert load_config(environ={"LAKEHOUSE_MODEL_TREE_BASELINE": text}).model.tree_baseline is expected
