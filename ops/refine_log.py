"""ops.refine_log: one row per silver table and run: which bronze versions it refined, and its accounting."""

from __future__ import annotations

from pipelines.contract import Contract
from pipelines.declare import Table

CONTRACT = Contract(
    name="ops.refine_log",
    ddl=(
        "run_id STRING NOT NULL, as_of_date DATE NOT NULL, table_name STRING NOT NULL, mode STRING NOT NULL, "
        "reason STRING NOT NULL, bronze_version_from BIGINT, bronze_version_to BIGINT NOT NULL, "
        "rules_fingerprint STRING NOT NULL, rows_new BIGINT NOT NULL, rows_rechecked BIGINT NOT NULL, "
        "rows_read BIGINT NOT NULL, rows_kept BIGINT NOT NULL, rows_superseded BIGINT NOT NULL, "
        "rows_quarantined BIGINT NOT NULL, inserted BIGINT NOT NULL, updated BIGINT NOT NULL, "
        "deleted BIGINT NOT NULL, silver_version BIGINT NOT NULL, refined_at TIMESTAMP NOT NULL"
    ),
    grain="one row per silver table and successful refine",
    primary_key=("run_id", "table_name", "refined_at"),
    comments={
        "mode": "incremental (the bronze rows appended since the last refine, and the quarantined rows "
        "re-checked) | full (every bronze row)",
        "reason": "why this mode: incremental, or what made a full refresh necessary",
        "bronze_version_from": "first bronze version read through the change data feed; null when full",
        "bronze_version_to": "the bronze version refined up to: the next incremental run starts after it",
        "rules_fingerprint": "hash of the table's rules, parse and transform code, vocabulary and parameters: "
        "a change makes the next run a full refresh",
        "rows_read": "rows_new + rows_rechecked; equals rows_kept + rows_superseded + rows_quarantined",
        "rows_kept": "this run's winners found in silver after the write, read back from the table",
        "rows_quarantined": "rows in the quarantine table after the write, read back from the table",
        "silver_version": "the silver table's version after this refine; another writer makes it differ",
    },
)

TABLE = Table(CONTRACT, stage="silver", write="append", description="written by the silver runner")
