import json
import math
import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

from sample import files, generator


def test_in_chunks_in_processes_gives_the_results_in_task_order():
    tasks = [5, 3, 7, 1]
    assert list(files.in_chunks(math.factorial, tasks)) == [120, 6, 5040, 1]


CHUNKS_OF_A_MINUTE = """
import time

from sample.files import in_chunks

if __name__ == "__main__":
    print("chunks", flush=True)
    list(in_chunks(time.sleep, [60.0, 60.0]))
"""


def _workers_of(pid: int) -> list[int]:
    """The live worker processes ``pid`` spawned."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            command = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue  # ended meanwhile
        if int(fields[1]) == pid and fields[0] != "Z" and b"spawn_main" in command:
            found.append(int(stat.parent.name))
    return found


def test_a_terminated_generation_stops_its_worker_processes(tmp_path):
    """SIGTERM to a process drawing chunks in workers (`lakehouse generate`, the bench) ends the workers
    too: they ran on to the end of their chunk, a minute here."""
    script = tmp_path / "chunks.py"
    script.write_text(CHUNKS_OF_A_MINUTE)
    root = str(Path(__file__).resolve().parents[2])
    process = subprocess.Popen([sys.executable, str(script)], env={**os.environ, "PYTHONPATH": root})
    deadline, workers = time.monotonic() + 60, []
    while len(workers) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
        workers = _workers_of(process.pid)
    assert len(workers) == 2, "the two workers did not start"
    time.sleep(1.0)  # inside their chunk
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == -signal.SIGTERM
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(w) for w in workers):
        time.sleep(0.2)
    assert [w for w in workers if _alive(w)] == []


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_timestamps_are_utc_iso_strings_days_before_the_end():
    stamps = files.timestamps(date(2026, 6, 30), np.array([1, 31]), np.array([0, 3661]))
    assert stamps.tolist() == ["2026-06-29T00:00:00Z", "2026-05-30T01:01:01Z"]


def test_json_record_follows_the_raw_contract_and_parses():
    template = files.json_record(("visit_id", "customer_id", "visited_at"))
    line = template.format('"V1"', 42, '"2026-06-29T00:00:00Z"')
    assert json.loads(line) == {"visit_id": "V1", "customer_id": 42, "visited_at": "2026-06-29T00:00:00Z"}


def test_by_month_groups_lines_keeping_their_order():
    months = np.array(["2026-05", "2026-06", "2026-05"])
    assert files.by_month(months, ["a", "b", "c"]) == {"2026-05": "a\nc\n", "2026-06": "b\n"}


def test_many_chunks_write_the_same_bytes_for_a_seed_and_every_order(tmp_path, monkeypatch):
    monkeypatch.setattr(generator, "CHUNK", 100)  # 300 customers: three chunks, in worker processes
    first = generator.generate(tmp_path / "a", customers=300, seed=4)
    generator.generate(tmp_path / "b", customers=300, seed=4)
    written = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert all((tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in written)
    lines = [line for p in (tmp_path / "a" / "orders").glob("*.jsonl") for line in p.read_text().splitlines()]
    ids = [json.loads(line)["order_id"] for line in lines]
    assert len(ids) == len(set(ids)) == first.rows["orders"]
