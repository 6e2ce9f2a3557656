"""One writer per lakehouse: real processes, as they run (a reader beside a writer: tests/notebooks)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from commands import cli
from pipelines import lock
from pipelines.config import load_config
from tests.conftest import read_until

pytestmark = pytest.mark.e2e
ENV = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1"}
LAKEHOUSE = [sys.executable, "-m", "commands.cli"]


def test_a_second_writer_gets_one_line_naming_the_holder_and_a_killed_holder_leaves_no_lock(tmp_path, capsys):
    root = tmp_path / "lakehouse"
    script = (
        "import time; from pipelines import lock; from pipelines.config import load_config; "
        f"lock.hold(load_config(overrides={{'root': {str(root)!r}}}, environ={{}}), 'lakehouse-ingest'); "
        "print('held', flush=True); time.sleep(600)"
    )
    holder = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=ENV)
    try:
        assert "held" in read_until(holder, "held", 60)
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
