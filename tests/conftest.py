"""One Spark session for the whole test run; each test gets its own lakehouse directory."""

from __future__ import annotations

import os
from datetime import date

import pytest

os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")

from pipelines.config import Config, load_config
from pipelines.runtime import RunContext
from pipelines.session import build_session

AS_OF = date(2026, 6, 30)


@pytest.fixture(scope="session")
def spark(tmp_path_factory):  # type: ignore[no-untyped-def]
    warehouse = tmp_path_factory.mktemp("warehouse")
    session = build_session(
        "lakehouse-tests",
        master="local[2]",
        shuffle_partitions=2,
        extra_conf={"spark.ui.enabled": "false", "spark.sql.warehouse.dir": str(warehouse)},
    )
    yield session
    session.stop()


@pytest.fixture
def config(tmp_path) -> Config:  # type: ignore[no-untyped-def]
    return load_config(overrides={"root": tmp_path / "lakehouse"}, environ={})


@pytest.fixture
def ctx(spark, config) -> RunContext:  # type: ignore[no-untyped-def]
    return RunContext(spark, config, AS_OF, "run-test")
