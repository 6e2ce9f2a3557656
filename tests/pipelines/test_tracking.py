"""The registry: a model or alias that does not exist is "no champion"; a registry that fails to answer
stops the run with one line (it must never read as "no champion" and promote a candidate unguarded)."""

import sqlite3

import pytest

from pipelines import tracking


def test_a_missing_model_or_alias_is_no_champion(config):
    client = tracking.configure(config)
    assert tracking.champion(client, "never_trained") is None
    assert tracking.find_trained(client, "never_trained", "abc") is None
    client.create_registered_model("trained_once")
    assert tracking.champion(client, "trained_once") is None
    with pytest.raises(tracking.ModelNotFoundError, match="run `lakehouse train` first"):
        tracking.get_alias(client, "trained_once")


def test_a_locked_registry_stops_the_run_instead_of_reading_as_no_champion(config, monkeypatch):
    from mlflow.store.db import utils

    # the store waits 20 s for a lock before it gives up; here half a second, the behaviour is the same
    text = utils.sql.text
    monkeypatch.setattr(
        utils.sql, "text", lambda q: text(q.replace("busy_timeout = 20000", "busy_timeout = 500"))
    )
    client = tracking.configure(config)
    client.create_registered_model("locked")
    holder = sqlite3.connect(config.mlflow_dir / "mlflow.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process writing to the store
    try:
        with pytest.raises(tracking.RegistryError) as failure:
            tracking.champion(client, "locked")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    message = str(failure.value)
    assert message.startswith("model registry: reading the alias 'champion' of 'locked' failed:")
    assert "database is locked" in message and "\n" not in message
