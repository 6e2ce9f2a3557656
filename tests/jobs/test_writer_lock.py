"""One writer per lakehouse, and readers that never make a writer fail: real processes, as they run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from commands import cli
from pipelines import lock
from pipelines.config import load_config
from pipelines.contract import Contract
from pipelines.tables import Lakehouse

pytestmark = pytest.mark.e2e
ENV = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1"}
LAKEHOUSE = [sys.executable, "-m", "commands.cli"]
PEOPLE = Contract(name="silver.people", ddl="id BIGINT NOT NULL, name STRING", grain="one row per id")


def _until(process: subprocess.Popen, text: str, seconds: float = 300) -> str:  # type: ignore[type-arg]
    """Read the process's output until a line holds ``text``."""
    assert process.stdout is not None
    deadline, seen = time.monotonic() + seconds, []
    for line in process.stdout:
        seen.append(line)
        if text in line or time.monotonic() > deadline:
            break
    return "".join(seen)


def test_a_second_writer_gets_one_line_naming_the_holder_and_a_killed_holder_leaves_no_lock(tmp_path, capsys):
    root = tmp_path / "lakehouse"
    script = (
        "import time; from pipelines import lock; from pipelines.config import load_config; "
        f"lock.hold(load_config(overrides={{'root': {str(root)!r}}}, environ={{}}), 'lakehouse-ingest'); "
        "print('held', flush=True); time.sleep(600)"
    )
    holder = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=ENV)
    try:
        assert "held" in _until(holder, "held", 60)
        assert cli.main(["ingest", "--root", str(root)]) == 1
        err = capsys.readouterr().err
        assert err.startswith(
            f"error: LockError: the lakehouse {root} is being written by pid {holder.pid} on "
        )
        assert "(lakehouse-ingest, since " in err and err.count("\n") == 1
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    lock.hold(load_config(overrides={"root": root}, environ={}), "lakehouse-ingest")  # free again


def test_a_job_runs_while_a_sql_shell_is_open(spark, tmp_path):
    config = load_config(overrides={"root": tmp_path / "lakehouse"}, environ={})
    Lakehouse(spark, config).append(PEOPLE, spark.createDataFrame([(1, "ann"), (2, "bo")], PEOPLE.schema))
    root = str(config.root)
    shell = subprocess.Popen(
        [*LAKEHOUSE, "sql", "--root", root, "--master", "local[1]"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
    )  # fmt: skip
    try:
        assert "Statements end with ';'" in _until(shell, "Statements end with ';'")  # open, waiting
        job = subprocess.run(
            [*LAKEHOUSE, "publish", "--root", root, "--master", "local[1]"],
            capture_output=True, text=True, timeout=300, env=ENV,
        )  # fmt: skip
        assert job.returncode == 0, job.stderr[-2000:]
        out, err = shell.communicate("SELECT count(*) AS people FROM silver.people;\n", timeout=120)
    finally:
        shell.kill()
    assert shell.returncode == 0, err[-2000:]
    assert "people" in out and "|2" in out.replace(" ", "")
