"""ops.ingest_log: one row per landed file, ingested or rejected."""

from __future__ import annotations

from pipelines.contract import Contract
from pipelines.declare import Table

CONTRACT = Contract(
    name="ops.ingest_log",
    ddl=(
        "source STRING NOT NULL, file STRING NOT NULL, size_bytes BIGINT, rows BIGINT, malformed_rows BIGINT, "
        "status STRING NOT NULL, error STRING, run_id STRING NOT NULL, ingested_at TIMESTAMP NOT NULL"
    ),
    grain="one row per landed file",
    primary_key=("source", "file"),
    comments={
        "status": "ingested | rejected",
        "malformed_rows": "records kept in bronze with their raw text in _corrupt_record",
    },
)

TABLE = Table(CONTRACT, stage="ingest", write="append", description="written by the ingest runner")
