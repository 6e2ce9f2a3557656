"""One Spark session for the whole test run; each test gets its own lakehouse directory."""

from __future__ import annotations

import dataclasses
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")

from pipelines.config import Config, load_config
from pipelines.runtime import RunContext
from pipelines.session import build_session

AS_OF = date(2026, 6, 30)


@pytest.fixture(scope="session")
def spark(tmp_path_factory):  # type: ignore[no-untyped-def]
    # a persistent catalog as in production; each test's tables re-register under their names
    session = build_session(
        "lakehouse-tests",
        master="local[2]",
        shuffle_partitions=2,
        compiled=False,  # small data: interpreted expressions (see pipelines/session.py)
        catalog_dir=tmp_path_factory.mktemp("catalog"),
        extra_conf={"spark.ui.enabled": "false"},
    )
    yield session
    session.stop()


GENERATED_CUSTOMERS = 400
# Training for the end-to-end lakehouses: one candidate, two folds, no tree baseline. The grid search and
# the tree baseline have tests of their own (tests/gold/test_model_selection.py, the CRM case's import);
# these lakehouses test what the stages write, and a full grid would triple their cost.
SMALL_TRAINING = {
    "segment_k_max": 4, "cv_folds": 2, "reg_params": [0.01], "positive_weights": [3.0], "tree_baseline": False,
}  # fmt: skip


@pytest.fixture(scope="session")
def generated(spark, tmp_path_factory) -> RunContext:  # type: ignore[no-untyped-def]
    """A lakehouse built by every stage from generated sample data, shared by the end-to-end tests."""
    from jobs import run_all
    from pipelines.runtime import default_run_id
    from sample import generate

    root = tmp_path_factory.mktemp("e2e") / "lakehouse"
    config = load_config(overrides={"root": root, "model": SMALL_TRAINING}, environ={})
    generate(config.landing_dir, GENERATED_CUSTOMERS, seed=3, end_date=config.sample.end_date)
    ctx = RunContext(spark, config, config.sample.end_date, default_run_id(config.sample.end_date))
    run_all.run(ctx)
    return ctx


DEFECTIVE_CUSTOMERS, DEFECTIVE_SEED = 300, 11


@pytest.fixture(scope="session")
def defective(spark, tmp_path_factory):  # type: ignore[no-untyped-def]
    """Generated data with defects injected on purpose, ingested and refined once: (the run, the ids hit
    per defect). Read only; the incremental tests start from a copy of it."""
    from jobs import ingest, refine
    from sample import generate, inject_defects

    config = load_config(overrides={"root": tmp_path_factory.mktemp("dq") / "lakehouse"}, environ={})
    generate(config.landing_dir, DEFECTIVE_CUSTOMERS, seed=DEFECTIVE_SEED, end_date=config.sample.end_date)
    hit = inject_defects(config.landing_dir, rate=0.08, seed=DEFECTIVE_SEED)
    ctx = RunContext(spark, config, config.sample.end_date, "run-dq")
    ingest.run(ctx)
    refine.run(ctx)
    return ctx, hit


def copy_root(base: Path, root: Path) -> Path:
    """A copy of the lakehouse at ``base`` at ``root`` (without its writer lock). Delta tables hold relative
    paths and copy as they are; the MLflow store names its artifacts by absolute path, so they are pointed
    at the copy's."""
    shutil.copytree(base, root, symlinks=True, ignore=shutil.ignore_patterns(".writer.lock"))
    store = root / "mlflow" / "mlflow.db"
    if store.exists():  # a lakehouse that never trained has none
        _replace_in_store(store, str(base.resolve()), str(root.resolve()))
    return root


def copy_lakehouse(ctx: RunContext, root: Path) -> RunContext:
    """A copy of ``ctx``'s lakehouse at ``root`` with a context on it, as of the same day and run."""
    config = dataclasses.replace(ctx.config, root=copy_root(ctx.config.root, root))
    return RunContext(ctx.spark, config, ctx.as_of, ctx.run_id, report=dict(ctx.report))


def _replace_in_store(store: Path, old: str, new: str) -> None:
    """Replace ``old`` by ``new`` in every text column of the MLflow store."""
    with sqlite3.connect(store) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            for column in db.execute(f"PRAGMA table_info('{table}')").fetchall():
                if "CHAR" in column[2].upper() or "TEXT" in column[2].upper():
                    db.execute(
                        f'UPDATE "{table}" SET "{column[1]}" = replace("{column[1]}", ?, ?)', (old, new)
                    )


@pytest.fixture
def generated_copy(generated, tmp_path) -> Iterator[RunContext]:  # type: ignore[no-untyped-def]
    """A test's own copy of the generated lakehouse, for a test that writes: the shared one is only read,
    so no result depends on the order tests run in."""
    from mlflow.tracking._tracking_service import utils

    # MLflow keeps each run's artifact store by run id for the process: the copy's runs have the
    # original's ids, so a write to the copy would land in the original's artifacts
    utils._artifact_repos_cache.clear()
    yield copy_lakehouse(generated, tmp_path / "lakehouse")
    utils._artifact_repos_cache.clear()


# The reference lakehouse of the suites that run `lakehouse` in processes of their own (the fault suite,
# the cluster test, the SQL endpoint's tests): generated data, training kept small (one candidate, two
# folds, no tree baseline; these suites are about what a run writes, not about model selection).
REFERENCE_CUSTOMERS, REFERENCE_SEED, REFERENCE_AS_OF = 150, 4, date(2026, 6, 30)
RUN_ENV = {
    **os.environ, "SPARK_LOCAL_IP": "127.0.0.1",
    "LAKEHOUSE_MODEL_SEGMENT_K_MAX": "3",
    "LAKEHOUSE_MODEL_CV_FOLDS": "2", "LAKEHOUSE_MODEL_REG_PARAMS": "0.01",
    "LAKEHOUSE_MODEL_POSITIVE_WEIGHTS": "3.0", "LAKEHOUSE_MODEL_TREE_BASELINE": "false",
}  # fmt: skip


def lakehouse_run(root: Path, *extra: str, as_of: date = REFERENCE_AS_OF) -> list[str]:
    """The command line of `lakehouse run` on ``root`` as of ``as_of`` (local mode unless ``extra`` says
    ``--master``)."""
    master = [] if "--master" in extra else ["--master", "local[2]"]
    run = [sys.executable, "-m", "commands.cli", "run", "--root", str(root), "--as-of", as_of.isoformat()]
    return [*run, *master, *extra]


def reference_landed(root: Path) -> Path:
    """``root`` with the reference's generated files in its landing zone."""
    from sample import generate

    generate(root / "landing", REFERENCE_CUSTOMERS, seed=REFERENCE_SEED)
    return root


@pytest.fixture(scope="session")
def reference(tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    """A lakehouse built by one uninterrupted `lakehouse run` in local mode, in a process of its own: the
    fault suite's killed lakehouse must end equal to it, a cluster's run must write the same tables, the
    SQL endpoint serves a copy of it. Read only: a test that writes works on a copy (``copy_root``). One
    pytest session running those suites together (`make test-slow`) builds it once."""
    root = reference_landed(tmp_path_factory.mktemp("reference") / "lakehouse")
    done = subprocess.run(lakehouse_run(root), env=RUN_ENV, capture_output=True, text=True)
    assert done.returncode == 0, f"the reference run failed:\n{done.stderr[-3000:]}"
    return root


@pytest.fixture
def config(tmp_path) -> Config:  # type: ignore[no-untyped-def]
    return load_config(overrides={"root": tmp_path / "lakehouse"}, environ={})


@pytest.fixture
def ctx(spark, config) -> RunContext:  # type: ignore[no-untyped-def]
    return RunContext(spark, config, AS_OF, "run-test")


def deliver(path: Path, text: str) -> Path:
    """Land a file as a finished delivery: written, and modified an hour ago (ingestion leaves files
    modified within ``ingest.settle_seconds`` for the next run)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    settled = time.time() - 3600
    os.utime(path, (settled, settled))
    return path


def read_until(process, text: str, seconds: float = 300) -> str:  # type: ignore[no-untyped-def]
    """Read a process's output until a line holds ``text`` (or ``seconds`` pass, or the output ends)."""
    assert process.stdout is not None
    deadline, seen = time.monotonic() + seconds, []
    for line in process.stdout:
        seen.append(line)
        if text in line or time.monotonic() > deadline:
            break
    return "".join(seen)


@pytest.fixture(autouse=True)
def _writer_locks_given_back():  # type: ignore[no-untyped-def]
    """A command run in this process holds its lakehouse's writer lock until the process ends: give it
    back after each test, as separate processes would."""
    yield
    from pipelines import lock

    lock.release_all()
