import pytest

from commands import bench


def test_a_fresh_root_gets_the_marker(tmp_path):
    bench.prepare_root(tmp_path / "new")
    assert [p.name for p in (tmp_path / "new").iterdir()] == [bench.MARKER]


def test_a_root_the_benchmark_wrote_is_emptied(tmp_path):
    bench.prepare_root(tmp_path)
    (tmp_path / "tables").mkdir()
    (tmp_path / "tables" / "old.parquet").write_text("x")
    bench.prepare_root(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == [bench.MARKER]


def test_someone_elses_folder_is_refused_and_kept(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(bench.BenchError, match="did not write; give another --root"):
        bench.prepare_root(tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_timings_total_the_named_stages(tmp_path):
    timings = bench.Timings(tmp_path, {"ingest": 1.25, "silver": 2.5, "train": 9.0})
    assert timings.total(bench.TO_FEATURES[:2]) == 3.8
