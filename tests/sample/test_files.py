import json
import math
from datetime import date

import numpy as np

from sample import files, generator


def test_in_chunks_in_processes_gives_the_results_in_task_order():
    tasks = [5, 3, 7, 1]
    assert list(files.in_chunks(math.factorial, tasks)) == [120, 6, 5040, 1]


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
