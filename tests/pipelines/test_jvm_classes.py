"""The driver JVM's class-data sharing archive: recorded once, named only when written whole, mapped by every
session that starts a JVM."""

from __future__ import annotations

import os
import subprocess
import sys

from pipelines import jvm_classes
from pipelines.session import delta_packages


def test_an_archive_is_named_only_when_the_jvm_wrote_it_whole(tmp_path):  # type: ignore[no-untyped-def]
    """The JVM writes an archive's header last: a file without it (a JVM killed while writing) is removed,
    and no session is given it."""
    archive, partial = tmp_path / "classes.jsa", tmp_path / "classes.jsa.partial"
    partial.write_bytes(bytes(4096))
    assert not jvm_classes.complete(partial, archive)
    assert not archive.exists() and not partial.exists()
    partial.write_bytes(jvm_classes.DYNAMIC_ARCHIVE_MAGIC + bytes(4092))
    assert jvm_classes.complete(partial, archive)
    assert archive.read_bytes()[:4] == jvm_classes.DYNAMIC_ARCHIVE_MAGIC and not partial.exists()


def test_the_archive_is_kept_apart_per_java_spark_and_delta(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    """A JVM maps an archive only with the classpath it was written with: another Spark installation, the same
    one reinstalled, or other Delta packages get an archive of their own, and no option names one that was
    never recorded."""
    monkeypatch.setattr(jvm_classes, "CACHE_DIR", tmp_path)
    packages = delta_packages()
    here = jvm_classes.archive_path(packages)
    assert jvm_classes.driver_options(packages) == ""
    assert jvm_classes.archive_path("io.delta:delta-spark_4.1_2.13:0.0.1") != here
    another = tmp_path / "another-spark"
    monkeypatch.setenv("SPARK_HOME", str(another))
    assert jvm_classes.archive_path(packages) != here
    # the same installation with a jar written again (a reinstall: same version and folder, new files)
    (another / "jars").mkdir(parents=True)
    (another / "jars" / "spark-core.jar").write_bytes(b"jar")
    before = jvm_classes.archive_path(packages)
    os.utime(another / "jars" / "spark-core.jar", ns=(0, 10**18))
    assert jvm_classes.archive_path(packages) != before
    monkeypatch.delenv("SPARK_HOME")
    here.write_bytes(jvm_classes.DYNAMIC_ARCHIVE_MAGIC)
    assert jvm_classes.driver_options(packages) == f"-XX:SharedArchiveFile={here} {jvm_classes.QUIET}"


def test_a_session_loads_spark_and_delta_classes_from_the_recorded_archive(tmp_path):  # type: ignore[no-untyped-def]
    """Recorded if missing (`make test` records it before the tests): a new session's JVM then reads
    Spark's, Delta's and the catalog's classes from it rather than from their jars."""
    assert jvm_classes.record() is not None
    loaded = tmp_path / "classes.log"
    script = (
        "from pipelines.session import build_session; from pipelines.config import JIT_OPTIONS; "
        f"s = build_session('check', master='local[1]', java_options=JIT_OPTIONS + ' -Xlog:class+load=info:file={loaded}'); "
        "s.range(3).write.format('delta').save(" + repr(str(tmp_path / "t")) + ")"
    )  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True,
        env={**os.environ, "SPARK_LOCAL_IP": "127.0.0.1"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    lines = loaded.read_text().splitlines()
    archived = [line for line in lines if "source: shared objects file (top)" in line]
    for name in ("org.apache.spark.SparkContext ", "org.apache.spark.sql.delta.DeltaLog ", "io.delta.sql."):
        assert any(name in line for line in archived), name
    assert len(archived) > 0.6 * len(lines), (len(archived), len(lines))
