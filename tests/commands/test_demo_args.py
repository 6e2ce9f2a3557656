"""`lakehouse demo`'s sample size, from the command line as a user types it."""

import pytest

from commands import cli
from pipelines.cli import build_parser, config_from_args


@pytest.mark.parametrize(
    ("argv", "customers"),
    [
        (["demo", "--config", "lakehouse.grocery.toml"], 2500),  # make demo-grocery: the profile's size
        (["demo", "--config", "lakehouse.grocery.toml", "--customers", "300"], 300),
        (["demo"], 5000),
    ],
)
def test_the_demo_generates_the_customers_asked_for_or_the_configs(argv, customers, monkeypatch, tmp_path):
    monkeypatch.delenv("LAKEHOUSE_CONFIG", raising=False)
    monkeypatch.delenv("LAKEHOUSE_SAMPLE_CUSTOMERS", raising=False)
    args = build_parser("lakehouse", "", cli.COMMANDS).parse_args([*argv, "--root", str(tmp_path)])
    assert cli.sample_size(args, config_from_args(args)) == customers
