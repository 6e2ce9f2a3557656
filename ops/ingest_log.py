"""ops.ingest_log: one row per landed file and content: ingested, rejected, empty or changed."""

from __future__ import annotations

from pipelines.contract import Contract
from pipelines.declare import Table

CONTRACT = Contract(
    name="ops.ingest_log",
    ddl=(
        "source STRING NOT NULL, file STRING NOT NULL, size_bytes BIGINT, rows BIGINT, malformed_rows BIGINT, "
        "status STRING NOT NULL, error STRING, run_id STRING NOT NULL, ingested_at TIMESTAMP NOT NULL, "
        "content_sha256 STRING, modified_at TIMESTAMP, bronze_version BIGINT"
    ),
    grain="one row per landed file and content (a file delivered again with other content gets another row)",
    primary_key=("source", "file", "content_sha256"),
    comments={
        "file": "the file's name in its landing folder, as on disk",
        "status": "ingested | rejected (a required column missing) | empty (looked at again on the next run) "
        "| changed (a landed name delivered again with other content, refused by ingest.on_changed)",
        "malformed_rows": "records kept in bronze with their raw text in _corrupt_record",
        "content_sha256": "SHA-256 of the file's bytes: with the name, what identifies a delivery",
        "modified_at": "the file's modification time when it was read",
        "bronze_version": "the bronze table's version once this run's append (if any) committed: a bronze "
        "version above every logged one means a run stopped between its two commits",
    },
)

TABLE = Table(CONTRACT, stage="ingest", write="append", description="written by the ingest runner")
