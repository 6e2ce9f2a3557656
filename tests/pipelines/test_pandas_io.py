"""Reading tables into pandas without Spark (``pipelines.pandas_io``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
from deltalake import write_deltalake

from pipelines.config import load_config

READ = """
import sys
from pipelines import pandas_io
from pipelines.config import load_config
frame = pandas_io.read_table("ops.ingest_log", load_config(overrides={"root": sys.argv[1]}, environ={}))
print(len(frame))
"""


def test_a_process_that_read_a_table_exits_cleanly(tmp_path: Path) -> None:
    """Arrow's scanner and pre-buffering threads outliving a read used to abort the process at exit now and
    then (exit 134, "terminate called without an active exception"; about 3 in 100 with pre-buffering alone):
    every one of several reading processes exits 0."""
    config = load_config(overrides={"root": tmp_path}, environ={})
    path = config.table_path("ops.ingest_log")
    for part in range(4):  # several files, as a log appended by several runs has
        rows = pd.DataFrame({"source": [f"bronze.s{part}"] * 50, "rows": list(range(50))})
        write_deltalake(str(path), rows, mode="append")
    root = Path(__file__).resolve().parents[2]
    outcomes = [
        subprocess.run([sys.executable, "-c", READ, str(tmp_path)], cwd=root, capture_output=True, text=True)
        for _ in range(12)
    ]
    assert [(o.returncode, o.stdout.strip(), o.stderr.strip()[-200:]) for o in outcomes] == [
        (0, "200", "")
    ] * 12
