"""Bad inputs a user can hand the lakehouse, each on a copy of a built lakehouse: the command ends with one
line naming what is at fault, and no bronze, silver or gold table (nor a model decision) lost or doubled a
row (`make test-faults`)."""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from commands import cli
from pipelines.config import load_config
from pipelines.ingest import REFUSED_EXIT
from pipelines.log import LOGGER_NAME
from pipelines.tables import Lakehouse
from tests.conftest import REFERENCE_AS_OF, copy_root, deliver

pytestmark = pytest.mark.faults
CUSTOMERS_HEADER = (
    "customer_id,birth_year,education,marital_status,income,kids_at_home,teens_at_home,signup_date,updated_at"
)
ORDER = '{"order_id": "%s", "customer_id": "1", "order_ts": "2026-06-01T12:00:00Z", "channel": "app"}\n'


@dataclass(frozen=True)
class Case:
    argv: list[str]  # after the command name: --root is added
    code: int  # the exit code
    says: str  # in the one line that names the fault
    prepare: Callable[[Path], None] = lambda root: None
    env: dict[str, str] = field(default_factory=dict)
    grows: dict[str, int] = field(default_factory=dict)  # tables that gain exactly these rows
    holds: dict[str, str] = field(default_factory=dict)  # the values of the row a grown table gained
    again: bool = False  # a second run, with nothing else new, still names the refused file and its status


def _customer(text: str, name: str, encoding: str = "utf-8") -> Callable[[Path], None]:
    return _bytes("customers", name, text.encode(encoding))


def _bytes(folder: str, name: str, data: bytes) -> Callable[[Path], None]:
    def land(root: Path) -> None:
        path = root / "landing" / folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        settled = time.time() - 3600  # a finished delivery (see ingest.settle_seconds)
        os.utime(path, (settled, settled))

    return land


def _symlink(root: Path) -> None:
    target = next((root / "landing" / "orders").iterdir())
    (root / "landing" / "orders" / "linked.jsonl").symlink_to(target)


def _redelivered(root: Path) -> None:
    path = sorted((root / "landing" / "orders").iterdir())[0]
    deliver(path, path.read_text() + ORDER % "late-1")


def _delta_log_deleted(root: Path) -> None:
    shutil.rmtree(root / "tables" / "silver" / "orders" / "_delta_log")


def _model_damaged(root: Path) -> None:
    db = sqlite3.connect(root / "mlflow" / "mlflow.db")
    (source,) = db.execute(
        "SELECT source FROM model_versions WHERE name = 'customer_segments' ORDER BY version DESC"
    ).fetchone()
    db.close()
    metadata = Path(source.removeprefix("file://")) / "sparkml" / "metadata"
    for part in metadata.glob("part-*"):
        part.write_text('{"class": "org.apache.spark.ml.PipelineModel", "paramMap": ')


def _table_copied(root: Path) -> None:
    gold = root / "tables" / "gold"
    shutil.copytree(gold / "customer_marketing", gold / "customer_marketing.bak")


BOM_ROW = "9001,1981,PhD,Single,61000,0,1,2025-01-01,2025-01-01T00:00:00Z\n"
LATIN1_ROW = "9002,1975,Graduation,Séparé,42000,1,0,2025-02-01,2025-02-01T00:00:00Z\n"
CASES = {
    "run id with SQL": Case(["silver", "--run-id", "x' OR 1=1 --"], 2, "run id"),
    "run id with a path": Case(["silver", "--run-id", "../../escaped"], 2, "run id"),
    "config: a number that is not": Case(
        ["ingest"], 2, "model.cv_folds", env={"LAKEHOUSE_MODEL_CV_FOLDS": "many"}
    ),
    "config: a flag that is not": Case(
        ["ingest"], 2, "model.tree_baseline", env={"LAKEHOUSE_MODEL_TREE_BASELINE": "maybe"}
    ),
    "config: an unknown policy": Case(
        ["ingest"], 2, "ingest.on_changed", env={"LAKEHOUSE_INGEST_ON_CHANGED": "overwrite"}
    ),
    "a date in another form": Case(["score", "--as-of", "30/06/2026"], 2, "YYYY-MM-DD"),
    "a CSV with a byte-order mark": Case(
        ["ingest"],
        0,
        "bronze.customers",
        _customer(f"\ufeff{CUSTOMERS_HEADER}\n{BOM_ROW}", "bom.csv"),
        grows={"bronze.customers": 1},
        holds={"customer_id": "9001", "education": "PhD"},
    ),
    "a Latin-1 CSV": Case(
        ["ingest"],
        0,
        "bronze.customers",
        _customer(f"{CUSTOMERS_HEADER}\n{LATIN1_ROW}", "latin1.csv", "latin-1"),
        grows={"bronze.customers": 1},
        holds={"customer_id": "9002", "marital_status": "Séparé"},
    ),
    "a CSV naming a column twice": Case(
        ["ingest"],
        REFUSED_EXIT,
        "more than once",
        _customer(f"{CUSTOMERS_HEADER},income\n{BOM_ROW[:-1]},1\n", "twice.csv"),
    ),
    "a binary file": Case(
        ["ingest"], REFUSED_EXIT, "not a text file", _bytes("orders", "dump.jsonl", b"\x00\x01\x02" * 500)
    ),
    "a huge single-line file": Case(
        ["ingest"],
        REFUSED_EXIT,
        "holds a line of more than",
        _bytes("orders", "one_line.jsonl", b"[" + b'{"order_id": "o"},' * 500_000),
    ),
    "JSON that is not UTF-8": Case(
        ["ingest"],
        REFUSED_EXIT,
        "is not UTF-8",
        _bytes("orders", "latin1.jsonl", (ORDER % "Séparé").encode("latin-1")),
    ),
    "a symbolic link": Case(["ingest"], REFUSED_EXIT, "is a symbolic link", _symlink),
    "a landed name with other content": Case(
        ["ingest"], REFUSED_EXIT, "was ingested before with other content", _redelivered, again=True
    ),
    "a deleted _delta_log": Case(["silver"], 1, "silver.orders", _delta_log_deleted),
    "a damaged model artifact": Case(
        ["score", "--as-of", REFERENCE_AS_OF.isoformat()], 1, "cannot be loaded", _model_damaged
    ),
    "scoring a day without features": Case(["score", "--as-of", "2027-01-01"], 1, "2027-01-01"),
    "SQL that divides by zero": Case(["sql", "SELECT 1/0"], 1, "DIVIDE_BY_ZERO"),
    "SQL on a table that does not exist": Case(
        ["sql", "SELECT * FROM gold.nope"], 1, "TABLE_OR_VIEW_NOT_FOUND"
    ),
    "a copied table folder": Case(["publish"], 0, "is not a table name", _table_copied),
}


def _versions(root: Path) -> dict[str, int]:
    """Each table's latest commit, read from its Delta log on disk."""
    found = {}
    for log in sorted((root / "tables").glob("*/*/_delta_log")):
        commits = [int(p.stem) for p in log.glob("*.json") if p.stem.isdigit()]
        found[f"{log.parent.parent.name}.{log.parent.name}"] = max(commits, default=-1)
    return found


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []
        self.errors: list[str] = []  # what the console handlers send to stderr

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())
        if record.levelno >= logging.ERROR:
            self.errors.append(record.getMessage())


@pytest.fixture
def log_lines():  # type: ignore[no-untyped-def]
    # the project logger's console handler, made on first use, would hold the stream captured for one test;
    # here it gets none: the lines are collected, at INFO and above
    handler, project = _Lines(), logging.getLogger(LOGGER_NAME)
    loggers = [project, logging.getLogger("pipelines.tables")]
    level = project.level
    project.setLevel(logging.INFO)
    for logger in loggers:
        logger.addHandler(handler)
    yield handler
    for logger in loggers:
        logger.removeHandler(handler)
    project.setLevel(level)


@pytest.mark.parametrize("name", list(CASES))
def test_a_bad_input_ends_in_one_line_and_no_row_is_lost_or_doubled(
    name, kill_sequence, spark, reference, tmp_path, monkeypatch, capsys, log_lines
):
    case = CASES[name]  # kill_sequence: the kill suite's attempts run meanwhile, in processes of their own
    root = copy_root(reference, tmp_path / "lakehouse")
    case.prepare(root)
    for key, value in case.env.items():
        monkeypatch.setenv(key, value)
    before = _versions(root)
    argv = [case.argv[0], "--root", str(root), *case.argv[1:]]
    try:
        code = cli.main(argv)
    except SystemExit as exited:  # argparse: a malformed argument
        code = int(exited.code or 0)
    err = capsys.readouterr().err
    said = [line for line in [*err.splitlines(), *log_lines.lines] if case.says in line]
    assert code == case.code, (code, err[-2000:])
    assert said, (case.says, err[-2000:], log_lines.lines[-10:])
    if code == REFUSED_EXIT:  # the run went on; the refusal is on stderr, and last
        assert any(case.says in line for line in log_lines.errors), log_lines.errors
        assert log_lines.lines[-1].endswith(
            f"exits with status {REFUSED_EXIT} until they are dealt with (see docs/data-quality.md)"
        )
        if case.again:
            log_lines.lines.clear()
            log_lines.errors.clear()
            assert cli.main(argv) == REFUSED_EXIT
            assert any("refused before" in line and "still landed" in line for line in log_lines.errors)
    elif code:  # "error: ..." (argparse: "lakehouse score: error: ...")
        errors = [line for line in err.splitlines() if "error:" in line]
        assert len(errors) == 1 and case.says in errors[0], err[-2000:]
        assert "Traceback" not in err
    assert not (tmp_path / "escaped.json").exists()

    after = _versions(root)
    checked = [
        t for t in before if t.split(".")[0] in ("bronze", "silver", "gold") or t == "ops.model_promotions"
    ]
    changed = [t for t in checked if after.get(t) != before[t] and t in before]
    if not changed:
        assert all(t in after for t in checked)
        return
    base = Lakehouse(spark, load_config(overrides={"root": reference}, environ={}))
    copy = Lakehouse(spark, load_config(overrides={"root": root}, environ={}))
    for table in changed:
        grown = case.grows.get(table, 0)
        rows, _ = copy.content_hash(table)
        if grown:
            assert rows == base.content_hash(table)[0] + grown, table
            new = copy.read(table).join(base.read(table), list(case.holds), "left_anti")
            assert [{k: r[k] for k in case.holds} for r in new.collect()] == [case.holds], table
        else:
            assert copy.content_hash(table) == base.content_hash(table), table
